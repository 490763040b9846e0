// Real OpenSSH servers, one per simulated node: the machinery of test/sshd.test.ts.
//
// The world is a private network namespace (held by `unshare -n sleep infinity`) whose loopback carries one
// address per node: the jump host (bastion) on 127.0.0.10, the masters on 127.0.0.11, 127.0.0.12, … Inside it:
//   - each master runs its own `/usr/sbin/sshd -D` on its address, port 22, in a mount namespace of its own
//     (`unshare -m`) where private directories are bind-mounted over /etc/kubernetes (holding manifests/, as
//     kubelet's would), /etc/etcd and /var/lib/etcd: what distribute.sh installs lands in that node's directories
//     only (all of /etc/kubernetes, because distribute.sh swaps the manifest in through a file beside manifests/);
//   - the bastion runs sshd on 127.0.0.10:2222 and forwards the connections through it (ssh -W);
//   - the etcd members run in their node's namespaces, started from the manifest distribute.sh placed there;
//   - the scripts of out/ run as root, the operator, through `nsenter --net`: ssh, etcdctl and the rest are real.
// With `ownNetworks` (startWorld's option), each master is also a network namespace of its own, as a machine is: its
// own 127.0.0.1 (so each member keeps the tutorial's plain loopback listener on 127.0.0.1:2379) and its address
// 192.0.2.11, 192.0.2.12, … (TEST-NET-1) on a veth pair whose other end is on a bridge in the world's namespace, which
// holds 192.0.2.1 (the bastion's side of that link); nothing routes out. Its masters have a docker stand-in
// (test/support/docker.ts) for verify.via "docker", the tutorial's.
// The login user is a real non-root user with passwordless sudo (made with useradd and a sudoers drop-in when
// missing), authenticated by a key made with ssh-keygen; every host key is made per run. The client trusts them
// only through cluster.json (options UserKnownHostsFile and StrictHostKeyChecking, identityFile), never through
// root's ~/.ssh.
//
// Left on the machine, on purpose: the test user and its sudoers drop-in (another run may be using them), and the
// empty mount points /etc/kubernetes, /etc/etcd, /var/lib/etcd and sshd's /run/sshd, when missing.
// Every process is started here, recorded by pid and stopped by pid (and wrapped in setpriv --pdeathsig KILL, so
// that the kernel ends it should the test process die without a word).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli.js';
import {
  baseEnv,
  check,
  indent,
  keepTrackOf,
  LiveFailure,
  makeCertificates,
  readManifest,
  run,
  stopAll,
  type LiveCluster,
  type LiveMember,
  type RunResult,
} from './live-cluster.js';
import { hasTool } from './tools.js';
import { crictlForNamespaces } from './crictl.js';
import { dockerForNamespaces } from './docker.js';
import { loadClusterFile } from '../../src/load.js';
import { etcdImage } from '../../src/etcd-profile.js';

/** The login user on every node: not root, sudo without a password, a key and nothing else. */
export const TEST_USER = 'etcd-bootstrap-test';
const SUDOERS = `/etc/sudoers.d/${TEST_USER}`;
const SSHD = '/usr/sbin/sshd';
/** The node directories a master's mount namespace replaces: etcd.manifestDir's parent, etcd.certDir, etcd.dataDir. */
export const NODE_DIRS = { kubernetes: '/etc/kubernetes', certs: '/etc/etcd', data: '/var/lib/etcd' } as const;
/** etcd.manifestDir, inside the node's /etc/kubernetes. */
export const MANIFEST_DIR = '/etc/kubernetes/manifests';
export const BASTION = { address: '127.0.0.10', port: 2222 } as const;

// ---------------------------------------------------------------------------------------------------------------
// What the test needs, and the loud skip.

/** What is missing for this test here: root, and the tools. Empty when it can run. */
export function missingPrerequisites(): string[] {
  const missing: string[] = [];
  if (process.getuid?.() !== 0) missing.push('root (it adds a user, mounts directories and starts sshd)');
  if (!existsSync(SSHD)) missing.push(`${SSHD} (apt-get install openssh-server)`);
  for (const tool of ['sudo', 'unshare', 'nsenter', 'setpriv', 'ssh', 'ssh-keygen', 'useradd', 'visudo', 'ss', 'ip', 'etcd', 'etcdctl', 'openssl']) {
    if (!hasTool(tool) && !existsSync(`/usr/sbin/${tool}`)) missing.push(tool);
  }
  return missing;
}

/** True when the test can run here. Missing prerequisites fail it under CI=true, and skip it loudly elsewhere. */
export function prerequisites(test: string): boolean {
  const missing = missingPrerequisites();
  if (missing.length === 0) return true;
  const message = `${test}: needs ${missing.join(', ')} (.ci/run installs openssh-server, sudo, etcd-server, etcd-client)`;
  if (process.env['CI'] === 'true') throw new Error(`${message}; CI must have them`);
  console.error(`\n!!!! SKIPPED ${message} !!!!\n`);
  return false;
}

// ---------------------------------------------------------------------------------------------------------------
// Processes started here, by pid (live-cluster.ts kills them when the test process ends).

export interface Daemon {
  name: string;
  child: ChildProcess;
  pid: number;
  /** Its output, line by line. */
  log: string[];
}

/** Start a long-running command, under setpriv --pdeathsig KILL, keeping its output; recorded by pid. */
export function startDaemon(name: string, words: readonly string[]): Daemon {
  const child = spawn('setpriv', ['--pdeathsig', 'KILL', '--', ...words], { env: baseEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  if (child.pid === undefined) throw new LiveFailure(`could not start ${name}: ${words.join(' ')}`);
  const daemon: Daemon = { name, child, pid: child.pid, log: [] };
  keepTrackOf(child);
  const keep = (chunk: string) => daemon.log.push(...chunk.split('\n').filter((line) => line !== ''));
  child.stdout?.setEncoding('utf8').on('data', keep);
  child.stderr?.setEncoding('utf8').on('data', keep);
  child.on('exit', (code, signal) => {
    daemon.log.push(`[test] ${name} (pid ${daemon.pid}) exited ${code !== null ? `with status ${code}` : `on ${signal}`}`);
  });
  child.unref();
  for (const stream of [child.stdout, child.stderr]) (stream as unknown as { unref?: () => void } | null)?.unref?.();
  return daemon;
}

function running(daemon: Daemon): boolean {
  return daemon.child.exitCode === null && daemon.child.signalCode === null;
}

/** Stop by pid: SIGTERM, then SIGKILL after 3 s. */
export async function stopDaemon(daemon: Daemon | undefined): Promise<void> {
  if (!daemon || !running(daemon)) return;
  const gone = new Promise<void>((resolve) => daemon.child.once('exit', () => resolve()));
  const signal = (name: NodeJS.Signals) => {
    try {
      process.kill(daemon.pid, name);
    } catch {
      /* already gone */
    }
  };
  signal('SIGTERM');
  const timer = setTimeout(() => signal('SIGKILL'), 3_000);
  await gone;
  clearTimeout(timer);
}

/** Wait until a line of the daemon's output matches, or fail with its output. */
export async function waitForLine(daemon: Daemon, pattern: RegExp, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!daemon.log.some((line) => pattern.test(line))) {
    if (!running(daemon) || Date.now() > deadline) {
      throw new LiveFailure(`${daemon.name} (pid ${daemon.pid}) ${running(daemon) ? `did not print ${pattern} within ${timeoutMs / 1000} s` : 'exited'}:\n${indent(daemon.log.join('\n') || '(no output)', 2)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The machine's part: the user, sudo, the mount points.

function runSync(file: string, args: readonly string[], input?: string): string {
  const result = spawnSync(file, [...args], { encoding: 'utf8', input, env: baseEnv({ PATH: `/usr/sbin:/sbin:${process.env['PATH'] ?? '/usr/bin:/bin'}` }) });
  if (result.status !== 0) throw new LiveFailure(`\`${file} ${args.join(' ')}\` exited ${result.status}: ${result.stderr}${result.error?.message ?? ''}`);
  return result.stdout;
}

/** The test user: made when missing, its password field '*' (no password, and not locked: sshd refuses locked users). */
export function ensureTestUser(): void {
  if (spawnSync('id', ['-u', TEST_USER], { stdio: 'ignore' }).status !== 0) runSync('useradd', ['--create-home', '--shell', '/bin/bash', TEST_USER]);
  runSync('usermod', ['--password', '*', TEST_USER]);
  const rule = `# etcd-bootstrap's test/sshd.test.ts: the scripts' login user may run sudo without a password, as they require.\n${TEST_USER} ALL=(ALL) NOPASSWD: ALL\n`;
  if (!existsSync(SUDOERS) || readFileSync(SUDOERS, 'utf8') !== rule) {
    const draft = `${SUDOERS}.draft`;
    writeFileSync(draft, rule, { mode: 0o440 });
    runSync('visudo', ['-cf', draft]);
    // Renamed into place: sudo never reads a half-written rule.
    runSync('mv', ['-f', draft, SUDOERS]);
  }
  for (const dir of [...Object.values(NODE_DIRS), '/run/sshd']) mkdirSync(dir, { recursive: true });
}

// ---------------------------------------------------------------------------------------------------------------
// The world.

export interface SshdNode {
  name: string;
  address: string;
  port: number;
  sshd?: Daemon;
  /** The node's own directories, as this machine sees them, bind-mounted over NODE_DIRS in its mount namespace. */
  dirs: { kubernetes: string; certs: string; data: string };
  /** Its MANIFEST_DIR, as this machine sees it. */
  manifests: string;
  /** With ownNetworks, a master's network namespace's holder. */
  network?: Daemon;
}

export interface WorldOptions {
  /** Each master in a network namespace of its own, linked to the others by a bridge (see the top of this file). */
  ownNetworks?: boolean;
}

/** With ownNetworks: the bridge in the world's namespace, its address, and master i's address on it. */
export const OWN_NETWORKS = { bridge: 'br-etcd', address: '192.0.2.1', prefix: 24, master: (i: number) => `192.0.2.${11 + i}` } as const;

export interface SshdWorld {
  dir: string;
  project: string;
  configPath: string;
  out: string;
  /** The network namespace's holder, and the words that run a command in that namespace. */
  holder: Daemon;
  inNetwork: string[];
  bastion: SshdNode;
  masters: SshdNode[];
  /** The etcd cluster, once started from the placed manifests; its etcdctl runs in the namespace. */
  cluster?: LiveCluster;
  /** What cluster.json said (for messages). */
  config: unknown;
}

function sshdConfig(node: SshdNode, dir: string, authorizedKeys: string): string {
  return [
    `ListenAddress ${node.address}:${node.port}`,
    `HostKey ${join(dir, 'ssh_host_ed25519_key')}`,
    'PidFile none',
    `AuthorizedKeysFile ${authorizedKeys}`,
    `AllowUsers ${TEST_USER}`,
    'PubkeyAuthentication yes',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'PermitRootLogin no',
    // No PAM: no login sessions on this machine for a test. StrictModes would refuse the key under /tmp.
    'UsePAM no',
    'StrictModes no',
    'LogLevel VERBOSE',
    '',
  ].join('\n');
}

/**
 * Make the world and start its sshds: keys, certificates, cluster.json (ssh transport through the bastion, trusted
 * only through cluster.json), out/ generated, the network namespace, one sshd per node. The caller stops it with
 * stopWorld, also when this throws (it sets `into.world` as soon as there is something to stop).
 */
export async function startWorld(masterCount: number, into: { world?: SshdWorld }, options: WorldOptions = {}): Promise<SshdWorld> {
  ensureTestUser();
  const dir = mkdtempSync(join(tmpdir(), 'etcd-bootstrap-sshd-'));
  // The login user reads the authorized keys (sshd reads them as that user).
  chmodSync(dir, 0o755);
  const project = join(dir, 'project');
  const keys = join(project, 'keys');
  mkdirSync(keys, { recursive: true });
  runSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'etcd-bootstrap test operator', '-f', join(keys, 'id_ed25519')]);
  const authorizedKeys = join(dir, 'authorized_keys');
  writeFileSync(authorizedKeys, readFileSync(join(keys, 'id_ed25519.pub')), { mode: 0o644 });

  const node = (name: string, address: string, port: number): SshdNode => {
    const home = join(dir, 'nodes', name);
    const dirs = { kubernetes: join(home, 'etc-kubernetes'), certs: join(home, 'etc-etcd'), data: join(home, 'var-lib-etcd') };
    for (const path of Object.values(dirs)) mkdirSync(path, { recursive: true, mode: 0o755 });
    chmodSync(dirs.data, 0o700);
    // kubelet's manifest directory exists before etcd is distributed.
    const manifests = join(dirs.kubernetes, 'manifests');
    mkdirSync(manifests);
    runSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', `${name} host key`, '-f', join(home, 'ssh_host_ed25519_key')]);
    return { name, address, port, dirs, manifests };
  };
  const bastion = node('bastion', BASTION.address, BASTION.port);
  const masters = Array.from({ length: masterCount }, (_, i) => node(`master${i + 1}`, options.ownNetworks ? OWN_NETWORKS.master(i) : `127.0.0.${11 + i}`, 22));
  const hostKey = (n: SshdNode) => readFileSync(join(dir, 'nodes', n.name, 'ssh_host_ed25519_key.pub'), 'utf8').split(' ').slice(0, 2).join(' ');
  const knownHosts = join(dir, 'known_hosts');
  writeFileSync(knownHosts, [`[${bastion.address}]:${bastion.port} ${hostKey(bastion)}`, ...masters.map((m) => `${m.address} ${hostKey(m)}`), ''].join('\n'));

  const certs = await makeCertificates(join(project, 'pki'), join(dir, 'ca'), masters.map((m) => m.address), 365);
  const config = {
    masters: masters.map((m) => ({ name: m.name, ip: m.address, host: m.address })),
    // Without ownNetworks the members share one network namespace: only one could listen on 127.0.0.1:2379.
    ...(options.ownNetworks ? {} : { etcd: { localListener: { enabled: false } } }),
    tls: { ca: 'pki/ca.pem', cert: 'pki/kubernetes.pem', key: 'pki/kubernetes-key.pem' },
    transport: {
      kind: 'ssh',
      user: TEST_USER,
      port: 22,
      identityFile: 'keys/id_ed25519',
      jumpHost: `${TEST_USER}@${bastion.address}:${bastion.port}`,
      options: ['StrictHostKeyChecking=yes', `UserKnownHostsFile=${knownHosts}`, 'ConnectTimeout=5'],
    },
  };
  const configPath = join(project, 'cluster.json');
  writeFileSync(configPath, `${JSON.stringify(config, null, 2)}\n`);
  const out = join(project, 'out');
  const errors: string[] = [];
  const code = main(['generate', '--config', configPath, '--out', out], { out: () => {}, err: (line) => errors.push(line) });
  check(code === 0, () => `etcd-bootstrap generate --config ${configPath} exited ${code}:\n${indent(errors.join('\n'), 2)}`);
  mkdirSync(join(dir, 'elsewhere'));

  const holder = startDaemon('the network namespace', ['unshare', '--net', '--', 'sleep', 'infinity']);
  const inNetwork = ['nsenter', `--net=/proc/${holder.pid}/ns/net`, '--'];
  const world: SshdWorld = { dir, project, configPath, out, holder, inNetwork, bastion, masters, config };
  into.world = world;
  // unshare execs sleep: the namespace exists once the pid runs sleep.
  for (let i = 0; i < 100 && !readFileSync(`/proc/${holder.pid}/cmdline`, 'utf8').startsWith('sleep'); i++) await new Promise((r) => setTimeout(r, 20));
  runSync('nsenter', [`--net=/proc/${holder.pid}/ns/net`, '--', 'ip', 'link', 'set', 'lo', 'up']);
  for (const n of [bastion, ...(options.ownNetworks ? [] : masters)]) runSync('nsenter', [...inNetwork, 'ip', 'addr', 'add', `${n.address}/8`, 'dev', 'lo']);
  if (options.ownNetworks) await linkOwnNetworks(inNetwork, masters);
  const networkOf = (n: SshdNode) => (n.network ? ['nsenter', `--net=/proc/${n.network.pid}/ns/net`, '--'] : inNetwork);

  const masterBin = join(dir, 'master-bin');
  mkdirSync(masterBin, { mode: 0o755 });
  writeFileSync(join(masterBin, 'crictl'), crictlForNamespaces({ etcdctl: hostEtcdctl(), mounts: [NODE_DIRS.certs, NODE_DIRS.data] }), { mode: 0o755 });
  if (options.ownNetworks) {
    const loaded = loadClusterFile(configPath);
    check(loaded.ok, () => `${configPath} does not load`);
    const etcdctl = hostEtcdctl();
    writeFileSync(join(masterBin, 'docker'), dockerForNamespaces({ etcdBin: etcdctl.slice(0, etcdctl.lastIndexOf('/')), image: etcdImage(loaded.cluster.etcd) }), { mode: 0o755 });
  }
  for (const n of [bastion, ...masters]) {
    const home = join(dir, 'nodes', n.name);
    const sshdConfigPath = join(home, 'sshd_config');
    writeFileSync(sshdConfigPath, sshdConfig(n, home, authorizedKeys));
    runSync(SSHD, ['-t', '-f', sshdConfigPath]);
    const q = (word: string) => `'${word.replace(/'/g, `'\\''`)}'`;
    // A master's /usr/local/bin holds only crictl (a stand-in: test/support/crictl.ts), as on a Kubernetes node
    // without Docker, where crictl is installed there; with ownNetworks also docker (test/support/docker.ts).
    const mounts = n === bastion ? [] : [...(Object.keys(NODE_DIRS) as (keyof typeof NODE_DIRS)[]).map((k) => `mount --bind ${q(n.dirs[k])} ${q(NODE_DIRS[k])}`), `mount --bind ${q(masterBin)} /usr/local/bin`];
    n.sshd = startDaemon(`sshd of ${n.name}`, [
      ...networkOf(n),
      'unshare', '--mount', '--propagation', 'private', '--',
      'bash', '-euc', [...mounts, `exec ${SSHD} -D -e -f ${q(sshdConfigPath)}`].join('\n'),
    ]);
  }
  for (const n of [bastion, ...masters]) await waitForLine(n.sshd!, /Server listening on /);
  return world;
}

/**
 * ownNetworks: a network namespace per master (held by `unshare -n sleep infinity`), its lo up and OWN_NETWORKS's
 * address on one end of a veth pair, the other end on a bridge in the world's namespace (`inNetwork`).
 */
async function linkOwnNetworks(inNetwork: readonly string[], masters: SshdNode[]): Promise<void> {
  const ip = (words: readonly string[], args: readonly string[]) => runSync(words[0]!, [...words.slice(1), 'ip', ...args]);
  const { bridge, address, prefix } = OWN_NETWORKS;
  ip(inNetwork, ['link', 'add', bridge, 'type', 'bridge']);
  ip(inNetwork, ['addr', 'add', `${address}/${prefix}`, 'dev', bridge]);
  ip(inNetwork, ['link', 'set', bridge, 'up']);
  for (const [i, m] of masters.entries()) {
    const network = startDaemon(`the network namespace of ${m.name}`, ['unshare', '--net', '--', 'sleep', 'infinity']);
    m.network = network;
    for (let t = 0; t < 100 && !readFileSync(`/proc/${network.pid}/cmdline`, 'utf8').startsWith('sleep'); t++) await new Promise((r) => setTimeout(r, 20));
    const own = ['nsenter', `--net=/proc/${network.pid}/ns/net`, '--'];
    const outside = `veth-m${i + 1}`;
    ip(inNetwork, ['link', 'add', outside, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', String(network.pid)]);
    ip(inNetwork, ['link', 'set', outside, 'master', bridge, 'up']);
    ip(own, ['link', 'set', 'lo', 'up']);
    ip(own, ['addr', 'add', `${m.address}/${prefix}`, 'dev', 'eth0']);
    ip(own, ['link', 'set', 'eth0', 'up']);
  }
}

/** The etcdctl of this machine, by its full path (crictl's exec runs it with a PATH of its own). */
function hostEtcdctl(): string {
  const found = spawnSync('sh', ['-c', 'command -v etcdctl'], { encoding: 'utf8' }).stdout.trim();
  return found || '/usr/bin/etcdctl';
}

/** Run a script of out/ (or of another generated directory) as the operator (root) would, from a directory that is not out/, in the world's network. */
export function runScript(world: SshdWorld, script: string, args: readonly string[] = [], timeoutMs = 60_000, out = world.out): Promise<RunResult> {
  return run(world.inNetwork[0]!, [...world.inNetwork.slice(1), join(out, script), ...args], {
    env: baseEnv(),
    cwd: join(world.dir, 'elsewhere'),
    timeoutMs,
  });
}

/** Run a command in a node's namespaces (its mount namespace is its sshd's), as root. */
export function onNode(world: SshdWorld, node: SshdNode, words: readonly string[]): Promise<RunResult> {
  return run('nsenter', [`--target=${node.sshd!.pid}`, '--mount', '--net', '--', ...words], { env: baseEnv(), timeoutMs: 20_000 });
}

/**
 * The etcd cluster as the masters' kubelets would start it: each member from the manifest that distribute.sh put in
 * that node's manifest directory, with exactly its environment (its certificate and data paths are the node's own,
 * through the node's mount namespace). Not started yet: startMember each.
 */
export function clusterFromPlacedManifests(world: SshdWorld): LiveCluster {
  const members = world.masters.map((m): LiveMember => {
    const manifest = join(m.manifests, 'etcd.manifest');
    check(existsSync(manifest), `${m.name}: no manifest in its ${MANIFEST_DIR} (${manifest} here): distribute.sh did not place it`);
    const { env: manifestEnv, probe } = readManifest(manifest, NODE_DIRS.certs);
    check(manifestEnv['ETCD_DATA_DIR'] === NODE_DIRS.data, `${manifest}: ETCD_DATA_DIR is ${manifestEnv['ETCD_DATA_DIR']}, not ${NODE_DIRS.data}`);
    return {
      name: m.name,
      ip: m.address,
      host: m.address,
      manifest,
      manifestEnv,
      probe,
      env: { ...baseEnv(), ...manifestEnv },
      // The working directory, on this machine's side; etcd itself writes to ETCD_DATA_DIR in the node.
      dataDir: m.dirs.data,
      clientUrl: manifestEnv['ETCD_ADVERTISE_CLIENT_URLS'] ?? '',
      peerUrl: manifestEnv['ETCD_INITIAL_ADVERTISE_PEER_URLS'] ?? '',
      // The tutorial profile's container runs etcd itself with its env: nothing else on the command line.
      argv: ['etcd'],
      httpProbes: [],
      enter: ['nsenter', `--target=${m.sshd!.pid}`, '--mount', '--net', '--'],
      pids: [],
      log: [],
    };
  });
  const pki = join(world.project, 'pki');
  const cluster: LiveCluster = {
    label: 'the real-sshd cluster',
    dir: world.dir,
    configPath: world.configPath,
    outDir: world.out,
    certs: { dir: pki, ca: join(pki, 'ca.pem'), cert: join(pki, 'kubernetes.pem'), key: join(pki, 'kubernetes-key.pem') },
    clientPort: 2379,
    peerPort: 2380,
    image: '',
    members,
    endpoints: members.map((m) => m.clientUrl).join(','),
    enter: world.inNetwork,
  };
  world.cluster = cluster;
  return cluster;
}

/** Every sshd's output, for a failure message. */
export function sshdLogs(world: SshdWorld, lines = 12): string {
  return [world.bastion, ...world.masters].map((n) => `--- sshd of ${n.name} (${n.address}:${n.port}) ---\n${indent((n.sshd?.log ?? []).slice(-lines).join('\n') || '(none)', 2)}`).join('\n');
}

/** Stop everything by pid: the members, every sshd, the namespace's holder; then remove the directory. */
export async function stopWorld(world: SshdWorld | undefined): Promise<void> {
  if (!world) return;
  await stopAll(world.cluster);
  await Promise.all([world.bastion, ...world.masters].map((n) => stopDaemon(n.sshd)));
  await Promise.all(world.masters.map((n) => stopDaemon(n.network)));
  await stopDaemon(world.holder);
  if (process.env['ETCD_BOOTSTRAP_KEEP_LIVE']) console.error(`ETCD_BOOTSTRAP_KEEP_LIVE: kept ${world.dir}`);
  else rmSync(world.dir, { recursive: true, force: true });
}
