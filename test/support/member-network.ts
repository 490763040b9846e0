// Members that connect from their own address, on one machine.
//
// etcd checks the address a peer connects from against the SANs of the certificate it presents (etcd v3.2.2 on,
// pkg/transport/listener_tls.go, etcd-io/etcd#7687). On one machine every connection to a loopback address leaves
// from 127.0.0.1, whatever member makes it, so per-member peer certificates would be refused for a reason no real
// cluster has. Here the members share a private network namespace (the machine's own network is never touched) in
// which each member runs as a user of its own, and a routing rule per user (`ip rule … uidrange`, a table whose
// local route has `src` = the member's ip) makes every connection that member opens leave from its own ip, as on
// its own machine. A member's uid also keeps it from reading any other member's key.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { LiveFailure, baseEnv, sleep } from './live-cluster.js';
import { startDaemon, stopDaemon, type Daemon } from './sshd.js';

export interface MemberNetwork {
  /** The namespace's holder (`unshare --net sleep infinity`). */
  holder: Daemon;
  /** Words that run a command inside the namespace, as root: connections leave from 127.0.0.1. */
  enter: string[];
  /** Words that run a command inside the namespace as member `index`'s user: connections leave from its ip. */
  enterAs: (index: number) => string[];
  /** Member `index`'s uid. */
  uid: (index: number) => number;
}

/** The uids the members run as: not in /etc/passwd, so they own nothing on this machine but what the test gives them. */
const FIRST_UID = 64_211;

function ip(network: string[], args: readonly string[]): void {
  const result = spawnSync(network[0] ?? 'nsenter', [...network.slice(1), 'ip', ...args], {
    encoding: 'utf8',
    env: baseEnv({ PATH: `/usr/sbin:/sbin:${process.env['PATH'] ?? '/usr/bin:/bin'}` }),
  });
  if (result.status !== 0) throw new LiveFailure(`\`ip ${args.join(' ')}\` in the members' network namespace exited ${result.status}: ${result.stderr}`);
}

/** A private network namespace in which member i's connections leave from `ips[i]`. */
export async function memberNetwork(ips: readonly string[]): Promise<MemberNetwork> {
  const holder = startDaemon("the members' network namespace", ['unshare', '--net', '--', 'sleep', 'infinity']);
  // unshare execs sleep: the namespace exists once the pid runs sleep.
  for (let i = 0; i < 100 && !readFileSync(`/proc/${holder.pid}/cmdline`, 'utf8').startsWith('sleep'); i++) await sleep(20);
  const enter = ['nsenter', `--net=/proc/${holder.pid}/ns/net`, '--'];
  try {
    ip(enter, ['link', 'set', 'lo', 'up']);
    // The rule that finds local addresses comes first by default (preference 0); it moves behind the members' rules.
    ip(enter, ['rule', 'add', 'pref', '100', 'lookup', 'local']);
    ip(enter, ['rule', 'del', 'pref', '0']);
    ips.forEach((address, index) => {
      const uid = FIRST_UID + index;
      const table = String(1000 + index);
      ip(enter, ['rule', 'add', 'pref', String(10 + index), 'uidrange', `${uid}-${uid}`, 'lookup', table]);
      // A local route's `src` is the source the kernel picks for a connection to a local address.
      ip(enter, ['route', 'add', 'local', '127.0.0.0/8', 'dev', 'lo', 'src', address, 'table', table]);
    });
  } catch (error) {
    await stopDaemon(holder);
    throw error;
  }
  const uid = (index: number) => FIRST_UID + index;
  // --pdeathsig after the uid change: a change of credentials clears it.
  const enterAs = (index: number) => [...enter, 'setpriv', '--reuid', String(uid(index)), '--regid', String(uid(index)), '--clear-groups', '--pdeathsig', 'KILL', '--'];
  return { holder, enter, enterAs, uid };
}

export async function stopMemberNetwork(network: MemberNetwork | undefined): Promise<void> {
  await stopDaemon(network?.holder);
}
