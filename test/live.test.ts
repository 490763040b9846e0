// Live: the generated manifests start a real etcd cluster, and the generated verify.sh checks it.
//
// For clusters of 1, 3 and 5 masters on loopback addresses (127.0.0.x) and one IPv6 member on ::1: cluster.json is
// written, out/ generated, and every member started as the real etcd with exactly the env of its manifest (no flags,
// only ETCD_DATA_DIR changed). Then: the members form one cluster, clients must present a certificate, the client
// port speaks only TLS, kubelet's liveness probe finds etcd, verify.sh passes locally and the tutorial's way
// (vagrant ssh → sudo docker run etcdctl, through stand-ins), and verify.sh names a member that is down.
//
// Ports are cluster-wide in cluster.json, so members sharing this machine need distinct addresses. IPv6 has one
// loopback address, so the IPv6 cluster has one member. The machinery is in support/live-cluster.ts.
import { suite } from 'uvu';
import { existsSync, mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { needing, requireTools } from './support/tools.js';
import {
  allLogs,
  baseEnv,
  check,
  crashed,
  etcdctl,
  explain,
  httpGet,
  indent,
  leader,
  LiveFailure,
  memberLog,
  parseMemberList,
  prepareCluster,
  removeCluster,
  runningCount,
  sleep,
  startMember,
  stopAll,
  stopMember,
  tcpAccepts,
  verify,
  waitHealthy,
  writeStandIns,
  type LiveCluster,
  type MasterSpec,
  type RunResult,
} from './support/live-cluster.js';

const TOOLS = ['etcd', 'etcdctl', 'openssl', 'bash'] as const;

interface State {
  /** Set as soon as it exists, so that `after` stops whatever was started even when starting failed. */
  cluster?: LiveCluster;
  /** Whether every member became healthy. */
  healthy?: boolean;
  /** Why the cluster is not there, for the tests after the first. */
  startFailure?: string;
  /** Members whose unexpected exit has been reported with their output already. */
  reportedCrashes?: Set<string>;
}

function ipv4Masters(count: number): MasterSpec[] {
  // 127.0.0.1 is left alone: it is where a developer's own etcd listens.
  return Array.from({ length: count }, (_, i) => ({ name: `master${i + 1}`, ip: `127.0.0.${i + 2}`, host: `127.0.0.${i + 2}` }));
}

interface SuiteOptions {
  /** A short name for the temporary directory. */
  slug: string;
  /** Stop a member and start it again, checking verify.sh both times. */
  stopAndRestart: boolean;
  /** Turn on the tutorial's plain-HTTP loopback listener (a cluster of one only). */
  localListener?: '127.0.0.1' | '::1';
}

const FIRST_TEST = (n: number) =>
  `the ${n === 1 ? "manifest's env alone starts" : `${n} manifests' env alone start`} etcd, and the members form one cluster, every name started`;

/** The cluster the first test started, or a failure that says why there is none. */
function started(state: State, n: number): LiveCluster {
  if (!state.cluster || !state.healthy) {
    const why = (state.startFailure ?? 'the first test did not run').split('\n')[0];
    throw new LiveFailure(`not checked: the cluster did not start (see "${FIRST_TEST(n)}" above: ${why})`);
  }
  const dead = crashed(state.cluster);
  if (dead.length) {
    const reported = (state.reportedCrashes ??= new Set());
    const fresh = dead.filter((m) => !reported.has(m.name));
    fresh.forEach((m) => reported.add(m.name));
    throw new LiveFailure(
      `${state.cluster.label}: etcd exited unexpectedly on ${dead.map((m) => m.name).join(', ')}` +
        (fresh.length ? `\n${fresh.map((m) => memberLog(m)).join('\n')}` : ' (its output is shown above)'),
    );
  }
  return state.cluster;
}

/** A verify.sh run that should have passed: exit 0, every member listed as started with its peer URL, the OK line. */
function checkVerifyPassed(cluster: LiveCluster, result: RunResult, how: string, extra = ''): void {
  check(result.code === 0, () => `${how} should pass against the running ${cluster.label}, but ${explain(result)}${extra}\n${allLogs(cluster, 15)}`);
  for (const member of cluster.members) {
    const wanted = `, started, ${member.name}, ${member.peerUrl}, `;
    check(
      result.stdout.split('\n').some((line) => line.includes(wanted)),
      () => `${how} should list ${member.name} as "…${wanted}…" on stdout, but does not:\n${indent(result.stdout, 2)}`,
    );
  }
  const ok = `OK: ${cluster.members.length} members`;
  check(result.stdout.includes(ok), () => `${how} should end with "${ok}, …", but its stdout is:\n${indent(result.stdout, 2)}`);
}

function liveSuite(label: string, masters: MasterSpec[], options: SuiteOptions): void {
  const s = needing(suite<State>(label, {}), TOOLS);
  const n = masters.length;
  const tools = () => requireTools(`live: ${label}`, ...TOOLS);

  // uvu runs `after` also when a test failed. A throw here would be lost, so a leftover is shouted instead.
  s.after(async (state) => {
    await stopAll(state.cluster);
    removeCluster(state.cluster);
    if (runningCount() !== 0) console.error(`\n!!!! ${label}: ${runningCount()} etcd process(es) still running after stopping them all !!!!\n`);
  });

  s(FIRST_TEST(n), async (state) => {
    if (!tools()) return;
    try {
      const localListener = options.localListener ? { localListener: options.localListener } : {};
      state.cluster = await prepareCluster({ label, slug: options.slug, masters, ...localListener });
      state.cluster.members.forEach(startMember);
      await waitHealthy(state.cluster, 20_000);
      state.healthy = true;
    } catch (error) {
      state.startFailure = (error as Error).message;
      throw error;
    }
    const cluster = state.cluster;
    const list = await etcdctl(cluster, ['member', 'list']);
    check(list.code === 0, () => `etcdctl member list, asking every member, should succeed, but ${explain(list)}\n${allLogs(cluster)}`);
    const listed = parseMemberList(list.stdout);
    const shown = indent(list.stdout.trimEnd(), 2);
    for (const member of cluster.members) {
      const entry = listed.find((l) => l.name === member.name);
      check(entry, () => `${member.name} should be a member of the one cluster, but etcdctl member list does not show it:\n${shown}\n${memberLog(member)}`);
      check(entry.status === 'started', `${member.name} should have started, but its status is "${entry.status}":\n${shown}`);
      check(entry.peerUrls === member.peerUrl, `${member.name} should advertise the peer URL ${member.peerUrl} (from cluster.json), but advertises ${entry.peerUrls}`);
      check(entry.clientUrls === member.clientUrl, `${member.name} should advertise the client URL ${member.clientUrl} (from cluster.json), but advertises ${entry.clientUrls}`);
    }
    check(listed.length === n, `there should be exactly ${n} member${n === 1 ? '' : 's'} and no other, but etcdctl member list shows ${listed.length}:\n${shown}`);
    // One cluster, not n clusters of one that happen to list the same names: every member reports one cluster ID.
    const status = await etcdctl(cluster, ['endpoint', 'status', '-w', 'fields']);
    check(status.code === 0, () => `etcdctl endpoint status, asking every member, should succeed, but ${explain(status)}`);
    const ids = new Set([...status.stdout.matchAll(/^"ClusterID" : (\d+)$/gm)].map((m) => m[1]));
    check(ids.size === 1, `every member should report the same cluster ID, but they report ${[...ids].join(', ') || 'none'}:\n${indent(status.stdout, 2)}`);
  });

  s('each member refuses a client without a certificate and serves one that presents it', async (state) => {
    if (!tools()) return;
    const cluster = started(state, n);
    await Promise.all(
      cluster.members.map(async (member) => {
        // etcd 3.4 demands a client certificate when either is set.
        const setting = ['ETCD_CLIENT_CERT_AUTH', 'ETCD_TRUSTED_CA_FILE'].map((v) => `${v}=${member.manifestEnv[v] ?? '(unset)'}`).join(', ');
        // The CA is trusted, so the server's certificate is accepted: the only thing missing is the client's. A
        // member that refuses makes etcdctl give up at its command timeout; one that serves answers in milliseconds.
        const bare = await etcdctl(cluster, ['endpoint', 'health'], { endpoints: member.clientUrl, tls: 'ca-only', commandTimeout: '2s' });
        check(bare.code !== 0, () => `${member.name} should refuse etcdctl without a client certificate (its manifest says ${setting}), but served it: ${explain(bare)}`);
        const url = `${member.clientUrl}/health`;
        const https = await httpGet(url, { ca: cluster.certs.ca });
        check(
          https.status === undefined,
          () => `${member.name} should end the TLS handshake of a client without a certificate (its manifest says ${setting}), but GET ${url} got HTTP ${https.status}: ${https.body}`,
        );
        const withCert = await etcdctl(cluster, ['endpoint', 'health'], { endpoints: member.clientUrl });
        check(withCert.code === 0, () => `${member.name} should serve etcdctl presenting the client certificate, but ${explain(withCert)}\n${memberLog(member)}`);
      }),
    );
  });

  s('each client port speaks only TLS: a plain http:// request gets no answer from etcd', async (state) => {
    if (!tools()) return;
    const cluster = started(state, n);
    for (const member of cluster.members) {
      const plainUrl = `${member.clientUrl.replace(/^https:/, 'http:')}/health`;
      const plain = await httpGet(plainUrl);
      check(
        !(plain.status === 200 || /"health"/.test(plain.body ?? '')),
        () =>
          `${member.name} should not answer plain HTTP on its client port, but GET ${plainUrl} got HTTP ${plain.status}: ${plain.body ?? ''} ` +
          `(its manifest says ETCD_LISTEN_CLIENT_URLS=${member.manifestEnv['ETCD_LISTEN_CLIENT_URLS'] ?? '(unset)'})`,
      );
      const tlsUrl = `${member.clientUrl}/health`;
      const secure = await httpGet(tlsUrl, cluster.certs);
      check(
        secure.status === 200 && /"health":\s*"true"/.test(secure.body ?? ''),
        () => `${member.name} should answer GET ${tlsUrl} over TLS with the client certificate, but got ${secure.error ?? `HTTP ${secure.status}: ${secure.body}`}`,
      );
    }
  });

  s("kubelet's liveness probe (each manifest's tcpSocket host and port) finds its member listening", async (state) => {
    if (!tools()) return;
    const cluster = started(state, n);
    for (const member of cluster.members) {
      const { host, port } = member.probe;
      const answer = await tcpAccepts(host, port);
      check(
        answer.ok,
        () =>
          `${member.name}'s manifest probes ${host}:${port}, which refuses (${answer.error}): kubelet would restart a healthy etcd forever ` +
          `(its manifest says ETCD_LISTEN_CLIENT_URLS=${member.manifestEnv['ETCD_LISTEN_CLIENT_URLS'] ?? '(unset)'})`,
      );
    }
  });

  if (options.localListener) {
    s("the tutorial's plain loopback listener answers its `etcdctl member list` without a certificate", async (state) => {
      if (!tools()) return;
      const cluster = started(state, n);
      const list = await etcdctl(cluster, ['member', 'list'], { endpoints: cluster.localUrl ?? '', tls: 'none' });
      check(list.code === 0, () => `the tutorial's check, etcdctl member list --endpoints=${cluster.localUrl}, should succeed without a certificate, but ${explain(list)}`);
      for (const member of cluster.members) {
        check(list.stdout.includes(`, started, ${member.name}, `), () => `the loopback listener's member list should show ${member.name} as started:\n${indent(list.stdout, 2)}`);
      }
    });
  }

  s('verify.sh --local passes and lists every member, with its certificate defaults from cluster.json and with explicit ones', async (state) => {
    if (!tools()) return;
    const cluster = started(state, n);
    checkVerifyPassed(cluster, await verify(cluster, ['--local']), 'out/verify.sh --local');
    const { ca, cert, key } = cluster.certs;
    const explicit = await verify(cluster, ['--local', '--cacert', ca, '--cert', cert, '--key', key, '--etcdctl', 'etcdctl']);
    checkVerifyPassed(cluster, explicit, 'out/verify.sh --local --cacert … --cert … --key … --etcdctl etcdctl');
  });

  s("verify.sh the tutorial's way (vagrant ssh MASTER, sudo docker run … etcdctl) passes and lists every member", async (state) => {
    if (!tools()) return;
    const cluster = started(state, n);
    const standIns = writeStandIns(cluster);
    const result = await verify(cluster, [], standIns.env);
    const calls = readFileSync(standIns.log, 'utf8').trimEnd();
    const how = 'out/verify.sh (no --local; stand-ins for vagrant, sudo and docker on PATH)';
    checkVerifyPassed(cluster, result, how, `\n  the stand-ins were called as:\n${indent(calls, 4)}`);
    const first = cluster.members[0]?.name ?? '';
    check(calls.includes(`vagrant ssh ${first} -- bash -euo pipefail -s`), () => `${how} should reach ${first} with vagrant ssh, but the calls were:\n${indent(calls, 2)}`);
    // The docker stand-in itself refuses a run without --net=host, without -e ETCDCTL_API=3 (the v3.3 image's
    // etcdctl speaks v2 otherwise), with -t (no terminal here) or with a certificate outside every -v mount.
    const image = `${cluster.image} /usr/local/bin/etcdctl `;
    check(
      calls.split('\n').some((line) => line.startsWith('docker run ') && line.includes(image)),
      () => `${how} should run /usr/local/bin/etcdctl in ${cluster.image} with docker run, but the calls were:\n${indent(calls, 2)}`,
    );
    // The tutorial asks the plain loopback listener when there is one; without it, every member over TLS.
    const memberList = calls.split('\n').find((line) => line.startsWith('docker ') && line.includes(' member list '));
    const wanted = `member list --endpoints=${cluster.localUrl ?? cluster.endpoints}`;
    check(memberList?.endsWith(wanted), () => `${how} should run etcdctl ${wanted} on the master, but ran:\n  ${memberList ?? '(no member list)'}`);
  });

  s('verify.sh on a master without docker says "docker not found on MASTER: set verify.via" and exits 2, blaming no member', async (state) => {
    if (!tools()) return;
    const cluster = started(state, n);
    const standIns = writeStandIns(cluster);
    const bin = join(cluster.dir, 'no-docker-bin');
    mkdirSync(bin, { recursive: true });
    for (const tool of ['vagrant', 'sudo']) if (!existsSync(join(bin, tool))) symlinkSync(join(standIns.bin, tool), join(bin, tool));
    // /usr/local/bin is left out: a developer's own docker there is not on the master.
    const result = await verify(cluster, [], baseEnv({ PATH: `${bin}:/usr/bin:/bin` }));
    const first = cluster.members[0]?.name ?? '';
    check(result.code === 2, () => `without docker on the master, out/verify.sh should exit 2, but ${explain(result)}`);
    check(result.stderr.includes(`docker not found on ${first}: set verify.via in cluster.json`), () => `out/verify.sh should say "docker not found on ${first}", but ${explain(result)}`);
    check(!/not answering|is not a member/.test(`${result.stdout}${result.stderr}`), () => `out/verify.sh should blame no member for a missing docker, but ${explain(result)}`);
  });

  if (options.stopAndRestart) {
    s('verify.sh --local fails naming the member that is down, and passes again once it restarts with the same env and data dir', async (state) => {
      if (!tools()) return;
      const cluster = started(state, n);
      // A follower: stopping the leader makes every member unhealthy for the election that follows, and the point
      // here is that verify.sh names the one member that is down.
      const leading = n > 1 ? await leader(cluster) : undefined;
      const victim = cluster.members.find((m) => m !== leading);
      check(victim, `${cluster.label}: no member to stop`);
      const pid = victim.process?.pid;
      await stopMember(victim);

      const down = await verify(cluster, ['--local']);
      const what = `with ${victim.name} stopped (pid ${pid}, SIGTERM), out/verify.sh --local`;
      check(down.code !== 0 && down.code !== null, () => `${what} should fail, but ${explain(down)}`);
      const blamed = down.stderr.split('\n').filter((line) => line.includes('not answering: '));
      check(
        blamed.some((line) => line.includes(`: ${victim.name} (`)),
        () => `${what} should name ${victim.name} as "not answering" on stderr, but ${explain(down)}`,
      );
      for (const other of cluster.members.filter((m) => m !== victim)) {
        check(!down.stderr.includes(`${other.name} (`), () => `${what} should blame only ${victim.name}, but also names ${other.name}: ${explain(down)}`);
      }

      startMember(victim);
      // etcdctl's health check polls cheaply until the member is back; then verify.sh, a few tries at most.
      await waitHealthy(cluster, 20_000);
      let again: RunResult | undefined;
      const deadline = Date.now() + 10_000;
      for (;;) {
        again = await verify(cluster, ['--local']);
        if (again.code === 0 || Date.now() > deadline || victim.exit) break;
        await sleep(500);
      }
      checkVerifyPassed(cluster, again, `after restarting ${victim.name} (now pid ${victim.process?.pid}) with the same env and data dir, out/verify.sh --local`);
    });
  }

  s.run();
}

// Stopping a member is checked where it means something different: the only member of one (no member answers at
// all) and a follower of three (the others still do); five would add seconds and nothing new. A cluster of one can
// also have the tutorial's plain loopback listener, on a port of its own, which verify.sh asks the tutorial's way.
liveSuite("1-member cluster on 127.0.0.2, with the tutorial's plain listener on 127.0.0.1", ipv4Masters(1), {
  slug: '1',
  stopAndRestart: true,
  localListener: '127.0.0.1',
});
liveSuite('3-member cluster on 127.0.0.2-4', ipv4Masters(3), { slug: '3', stopAndRestart: true });
liveSuite('5-member cluster on 127.0.0.2-6', ipv4Masters(5), { slug: '5', stopAndRestart: false });
// IPv6: one member, on ::1 (the only IPv6 loopback address), with the plain listener on [::1] too, on its own port.
liveSuite('1-member IPv6 cluster on ::1, with the plain listener on [::1]', [{ name: 'master1', ip: '::1', host: '::1' }], {
  slug: 'ipv6',
  stopAndRestart: false,
  localListener: '::1',
});
