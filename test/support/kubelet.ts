// A stand-in for kubelet's static pods, for the tests that change a running cluster (rolling apply, membership).
//
// One Kubelet watches the manifest directory of every simulated master (hosts/HOST/fs/… of the stand-in transport,
// test/support/transport.ts) and does with it what kubelet does with its staticPodPath:
//   - a file appears: the pod starts, i.e. the real etcd runs exactly as the manifest says (tutorial profile: etcd
//     with the container's env; kubeadm profile: the container's command and args), through the manifest readers
//     of test/support/live-cluster.ts, so that what runs here is what those readers accept;
//   - the file's bytes change: the old etcd is stopped (SIGTERM, SIGKILL after 5 s) and the new one started, as
//     kubelet replaces a static pod whose spec changed;
//   - the file goes away (renamed out of the directory): etcd is stopped;
//   - etcd exits by itself: it is started again after a back-off (restartPolicy: Always).
// Hidden files (a leading dot) are ignored, as kubelet's file source ignores them.
//
// Only what a pod's sandbox changes is mapped: the remote prefix of cluster.json's paths (certDir, dataDir) to the
// master's own directory (what a hostPath volume shows the container), and, in the kubeadm profile, 127.0.0.1 to the
// master's own loopback address (members share this machine; mapToMachine). A data directory that does not exist is
// made 0700, as etcd itself makes it.
//
// Polling, every 200 ms, rather than inotify: kubelet itself re-reads its static pod path on a timer (its
// fileCheckFrequency, 20 s by default) besides inotify, and reads the bytes. A timer that compares bytes cannot
// miss a rename into the directory or a change that inotify coalesces, and 200 ms keeps the tests quick without
// loading a busy machine (one readdir and one small read per master per tick).
//
// Back-off: kubelet restarts a crashed container after 10 s, doubling to at most 5 min, and forgets the back-off
// once the container has run 10 min. Scaled down here for tests: 0.5 s, doubling to at most 4 s, forgotten after
// 10 s of running. A changed manifest is a new pod: it starts at once, without back-off, as in kubelet.
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import {
  LiveFailure,
  baseEnv,
  freePorts,
  mapToMachine,
  memberLog,
  run,
  readKubeadmManifest,
  readManifest,
  startMember,
  stopMember,
  type LiveMember,
  type RunResult,
} from './live-cluster.js';
import { makeCertificates, makeWorld, scriptLaunch, type ClusterDoc, type World } from './transport.js';

export const POLL_MS = 200;
export const BACKOFF = { firstMs: 500, maxMs: 4_000, resetAfterMs: 10_000 } as const;

/** One simulated master, as the kubelet stand-in sees it. */
export interface KubeletMaster {
  name: string;
  /** Its manifest directory on this machine (etcd.manifestDir mapped into the master's directory). */
  manifestDir: string;
  /** The master's own directory, which stands for its root file system. */
  root: string;
  /** The address that stands for 127.0.0.1 on this master (kubeadm profile). */
  loopback: string;
}

export interface KubeletOptions {
  /** The prefix cluster.json's remote paths share (the stand-in transport's <dir>/remote/), mapped to each master's root. */
  remotePrefix: string;
  /** etcd.certDir as the manifests name it (the readers check that the pod mounts it). */
  certDir: string;
  /** The directory of the etcd binary to run; PATH's when absent. */
  etcdBin?: string;
}

export interface KubeletEvent {
  /** Milliseconds since the epoch. */
  at: number;
  master: string;
  what: 'start' | 'stop' | 'exit' | 'invalid';
  pid?: number;
  detail?: string;
}

interface Pod {
  file: string;
  bytes: Buffer;
  member: LiveMember;
  startedAt: number;
  backoffMs: number;
  restartAt?: number;
}

export class Kubelet {
  readonly events: KubeletEvent[] = [];
  private readonly pods = new Map<string, Pod>();
  /** Manifests that could not be run, by master, until their bytes change: no retry on every tick. */
  private readonly invalid = new Map<string, Buffer>();
  private readonly paused = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;

  constructor(
    readonly masters: readonly KubeletMaster[],
    private readonly options: KubeletOptions,
  ) {}

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      this.ticking ??= this.tick().finally(() => (this.ticking = undefined));
    }, POLL_MS);
  }

  /** Stops watching, then stops every etcd it started (followers are not told apart: each gets SIGTERM). */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.ticking;
    await Promise.all([...this.pods.values()].map((pod) => stopMember(pod.member)));
    this.pods.clear();
  }

  /**
   * A master whose kubelet stops (or whose node goes down): its etcd is stopped and its manifest directory is no
   * longer watched, until resume().
   */
  async pause(name: string): Promise<void> {
    this.paused.add(name);
    await this.ticking;
    const pod = this.pods.get(name);
    if (pod) {
      await stopMember(pod.member);
      this.pods.delete(name);
      this.record({ master: name, what: 'stop', pid: pod.member.pids.at(-1), detail: 'its kubelet stopped' });
    }
  }

  resume(name: string): void {
    this.paused.delete(name);
  }

  /** The etcd running (or crash-looping) for a master, if its manifest is in place. */
  member(name: string): LiveMember | undefined {
    return this.pods.get(name)?.member;
  }

  /** The pids of the running etcd of each master (none for a master without one). */
  pids(): Record<string, number | undefined> {
    return Object.fromEntries(this.masters.map((m) => {
      const member = this.member(m.name);
      return [m.name, member?.exit === undefined ? member?.process?.pid : undefined];
    }));
  }

  /** Every event, and the end of each running etcd's output, as lines for a failure message. */
  history(): string {
    const t0 = this.events[0]?.at ?? 0;
    const logs = [...this.pods.values()].map((pod) => memberLog(pod.member, 8)).join('\n');
    return logs + '\n' + this.events.map((e) => `  +${((e.at - t0) / 1000).toFixed(1)}s ${e.master} ${e.what}${e.pid ? ` pid ${e.pid}` : ''}${e.detail ? `: ${e.detail}` : ''}`).join('\n');
  }

  /**
   * The pid of the etcd last started for a master, in <master's directory>/kubelet/etcd.pid beside its root: what a
   * container runtime knows and the crictl stand-in (test/support/crictl.ts) answers from. Left when etcd stops: the
   * stand-in asks whether that pid still runs.
   */
  private recordPid(master: KubeletMaster, member: LiveMember): void {
    const dir = join(master.root, '..', 'kubelet');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'etcd.pid'), `${member.pids.at(-1) ?? ''}\n`);
  }

  private record(event: Omit<KubeletEvent, 'at'>): void {
    this.events.push({ at: Date.now(), ...event });
  }

  private async tick(): Promise<void> {
    for (const master of this.masters) if (!this.paused.has(master.name)) await this.sync(master);
  }

  /** The one static pod file of a master's manifest directory (hidden files ignored), if there is one. */
  private manifestFile(master: KubeletMaster): string | undefined {
    if (!existsSync(master.manifestDir)) return undefined;
    const files = readdirSync(master.manifestDir).filter((f) => !f.startsWith('.')).sort();
    if (files.length > 1) this.record({ master: master.name, what: 'invalid', detail: `more than one file in the manifest directory: ${files.join(', ')}` });
    return files[0] && join(master.manifestDir, files[0]);
  }

  private async sync(master: KubeletMaster): Promise<void> {
    const file = this.manifestFile(master);
    let bytes: Buffer | undefined;
    try {
      bytes = file ? readFileSync(file) : undefined;
    } catch {
      bytes = undefined; // renamed away between readdir and read: gone
    }
    const pod = this.pods.get(master.name);
    if (pod && (!bytes || !pod.bytes.equals(bytes))) {
      await stopMember(pod.member);
      this.pods.delete(master.name);
      this.record({ master: master.name, what: 'stop', pid: pod.member.pids.at(-1), detail: bytes ? 'the manifest changed' : 'the manifest is gone' });
    }
    if (!bytes || !file) {
      // A manifest that comes back is read afresh, as kubelet does with a pod it has not got.
      this.invalid.delete(master.name);
      return;
    }
    const running = this.pods.get(master.name);
    if (running) {
      this.restartIfExited(master, running);
      return;
    }
    if (this.invalid.get(master.name)?.equals(bytes)) return;
    let member: LiveMember;
    try {
      member = this.memberFrom(master, file, bytes);
    } catch (error) {
      this.invalid.set(master.name, bytes);
      this.record({ master: master.name, what: 'invalid', detail: (error as Error).message });
      return;
    }
    this.invalid.delete(master.name);
    startMember(member);
    this.recordPid(master, member);
    this.pods.set(master.name, { file, bytes, member, startedAt: Date.now(), backoffMs: BACKOFF.firstMs });
    this.record({ master: master.name, what: 'start', pid: member.pids.at(-1) });
  }

  private restartIfExited(master: KubeletMaster, pod: Pod): void {
    if (pod.member.exit === undefined) return;
    const now = Date.now();
    if (pod.restartAt === undefined) {
      const exit = pod.member.exit;
      if (now - pod.startedAt >= BACKOFF.resetAfterMs) pod.backoffMs = BACKOFF.firstMs;
      pod.restartAt = now + pod.backoffMs;
      this.record({ master: master.name, what: 'exit', pid: pod.member.pids.at(-1), detail: `${exit.code !== null ? `status ${exit.code}` : exit.signal}; back-off ${pod.backoffMs} ms` });
      pod.backoffMs = Math.min(pod.backoffMs * 2, BACKOFF.maxMs);
      return;
    }
    if (now < pod.restartAt) return;
    pod.restartAt = undefined;
    pod.startedAt = now;
    startMember(pod.member);
    this.recordPid(master, pod.member);
    this.record({ master: master.name, what: 'start', pid: pod.member.pids.at(-1), detail: 'restarted after back-off' });
  }

  /** What runs for a manifest: its etcd, with only the sandbox's paths and loopback address mapped. */
  private memberFrom(master: KubeletMaster, file: string, bytes: Buffer): LiveMember {
    const { remotePrefix, certDir } = this.options;
    const toMachine = (value: string) => mapToMachine(value.split(remotePrefix).join(`${master.root}/`), { loopback: master.loopback, dataDir: { manifest: '', here: '' } });
    const etcd = this.options.etcdBin ? join(this.options.etcdBin, 'etcd') : 'etcd';
    const pod = parse(bytes.toString('utf8')) as { spec?: { containers?: { command?: unknown }[] } };
    const command = pod?.spec?.containers?.[0]?.command;
    const kubeadm = Array.isArray(command) && command[0] === 'etcd';
    let argv: string[];
    let manifestEnv: Record<string, string>;
    if (kubeadm) {
      const view = readKubeadmManifest(file, certDir);
      argv = [etcd, ...view.argv.slice(1).map(toMachine)];
      manifestEnv = view.env;
    } else {
      const view = readManifest(file, certDir);
      argv = [etcd];
      manifestEnv = view.env;
    }
    const env = Object.fromEntries(Object.entries(manifestEnv).map(([name, value]) => [name, toMachine(value)]));
    const setting = (flag: string, variable: string) =>
      argv.find((a) => a.startsWith(`--${flag}=`))?.slice(flag.length + 3) ?? env[variable];
    const dataDir = setting('data-dir', 'ETCD_DATA_DIR');
    if (!dataDir || !dataDir.startsWith(`${master.root}/`)) {
      throw new LiveFailure(`${file}: its data directory (${dataDir ?? 'none'}) is not under the remote prefix ${remotePrefix}: it would not be this master's`);
    }
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    return {
      name: master.name,
      ip: master.loopback,
      host: master.loopback,
      manifest: file,
      argv,
      httpProbes: [],
      manifestEnv,
      probe: { host: master.loopback, port: 0 },
      env: { ...baseEnv(), ...env },
      dataDir,
      clientUrl: setting('advertise-client-urls', 'ETCD_ADVERTISE_CLIENT_URLS') ?? '',
      peerUrl: setting('initial-advertise-peer-urls', 'ETCD_INITIAL_ADVERTISE_PEER_URLS') ?? '',
      pids: [],
      log: [],
    };
  }
}

// ---------------------------------------------------------------------------------------------------------------
// A live world: the stand-in transport's fake masters (test/support/transport.ts), each with kubelet's manifest
// directory watched by a Kubelet, real certificates, and free ports on loopback addresses of this suite's own.

export interface LiveWorld {
  world: World;
  kubelet: Kubelet;
  /** cluster.json as last written. */
  cluster: ClusterDoc;
  /** Rewrite cluster.json (edit the document) and generate out/ again; throws if generate fails. */
  regenerate: (edit: (cluster: ClusterDoc) => void) => void;
  /** Runs out/SCRIPT asynchronously (kubelet must keep acting meanwhile), through the stand-in transport. */
  script: (name: string, args?: string[], env?: Record<string, string>) => Promise<RunResult>;
  /** The host's etcdctl with the client certificate, against the given endpoints (default: every master's). */
  etcdctl: (args: readonly string[], endpoints?: string) => Promise<RunResult>;
  clientUrl: (name: string) => string;
  close: () => Promise<void>;
}

export interface LiveWorldOptions {
  /** The masters that exist as machines (hosts), all with kubelet running; cluster.json starts with `initial` of them. */
  machines: number;
  initial: number;
  /** Third byte of the loopback addresses (127.0.X.N): suites running at the same time must differ. */
  subnet: number;
  edit?: (cluster: ClusterDoc) => void;
  /** The directory holding the etcd and etcdctl to run (etcd 3.5); PATH's when absent. */
  etcdBin?: string;
  /**
   * What a script sends to 127.0.0.1 on a master reaches that master's own loopback stand-in (the stand-in transport
   * rewrites it, test/support/transport.ts), as etcd's 127.0.0.1 does here: for verify.sh's readiness reads.
   */
  ownLoopbacks?: boolean;
}

export async function makeLiveWorld(options: LiveWorldOptions): Promise<LiveWorld> {
  const names = Array.from({ length: options.machines }, (_, i) => `master${i + 1}`);
  const ip = (i: number) => `127.0.${options.subnet}.${i + 1}`;
  // Each master's stand-in for 127.0.0.1 (the kubeadm profile listens there): not its ip, or the two listeners clash.
  const loopback = (i: number) => `127.0.${options.subnet}.${i + 101}`;
  const [clientPort = 0, peerPort = 0, metricsPort = 0] = await freePorts([...names.map((_, i) => ip(i)), ...names.map((_, i) => loopback(i))], 3);
  let cluster: ClusterDoc | undefined;
  const world = makeWorld({
    generate: false,
    edit: (doc) => {
      doc.masters = names.slice(0, options.initial).map((name, i) => ({ name, ip: ip(i), host: ip(i) }));
      doc.etcd = {
        ...doc.etcd,
        clientPort,
        peerPort,
        clusterToken: `etcd-bootstrap-kubelet-${options.subnet}`,
        localListener: { enabled: false },
        metricsListener: { address: '127.0.0.1', port: metricsPort },
      };
      doc['verify'] = { via: 'local' };
      options.edit?.(doc);
      cluster = doc;
    },
  });
  if (!cluster) throw new Error('makeWorld did not pass the cluster to edit');
  const doc: ClusterDoc = cluster;
  for (const [i, name] of names.entries()) {
    if (options.ownLoopbacks) {
      mkdirSync(join(world.dir, 'state', name), { recursive: true });
      writeFileSync(join(world.dir, 'state', name, 'loopback'), loopback(i));
    }
    mkdirSync(join(world.dir, 'hosts', name, 'home'), { recursive: true });
    mkdirSync(join(world.dir, 'hosts', name, 'fs', 'etc', 'kubernetes', 'manifests'), { recursive: true });
  }
  // 127.0.0.1 too: a member's connection to a peer on another loopback address leaves from 127.0.0.1, and etcd checks
  // a peer's certificate against the address it connects from.
  makeCertificates(world, { sans: [...names.map((_, i) => `IP:${ip(i)}`), ...names.map((_, i) => `IP:${loopback(i)}`), 'IP:127.0.0.1'].join(',') });
  const generate = () => {
    writeFileSync(world.config, `${JSON.stringify(doc, null, 2)}\n`);
    const generated = world.generate();
    if (generated.code !== 0) throw new LiveFailure(`generate failed (exit ${generated.code}):\n${generated.err.join('\n')}`);
  };
  generate();
  const remotePrefix = `${world.dir}/remote/`;
  const kubelet = new Kubelet(
    names.map((name, i) => ({
      name,
      root: join(world.dir, 'hosts', name, 'fs'),
      manifestDir: join(world.dir, 'hosts', name, 'fs', 'etc', 'kubernetes', 'manifests'),
      loopback: loopback(i),
    })),
    { remotePrefix, certDir: `${remotePrefix}etc/etcd`, ...(options.etcdBin ? { etcdBin: options.etcdBin } : {}) },
  );
  kubelet.start();
  const certs = { ca: join(world.project, 'ca.pem'), cert: join(world.project, 'kubernetes.pem'), key: join(world.project, 'kubernetes-key.pem') };
  const clientUrl = (name: string) => `https://${ip(names.indexOf(name))}:${clientPort}`;
  return {
    world,
    kubelet,
    cluster: doc,
    regenerate: (edit) => {
      edit(doc);
      generate();
    },
    script: (name, args = [], env = {}) => {
      const launch = scriptLaunch(world, name, env);
      return run(launch.file, args, { env: launch.env, cwd: launch.cwd, timeoutMs: 240_000 });
    },
    etcdctl: (args, endpoints) =>
      run(options.etcdBin ? join(options.etcdBin, 'etcdctl') : 'etcdctl', [`--endpoints=${endpoints ?? doc.masters.map((m) => clientUrl(m.name)).join(',')}`, `--cacert=${certs.ca}`, `--cert=${certs.cert}`, `--key=${certs.key}`, '--dial-timeout=2s', '--command-timeout=5s', ...args], {
        env: baseEnv({ ETCDCTL_API: '3' }),
        timeoutMs: 20_000,
      }),
    clientUrl,
    close: async () => {
      await kubelet.stop();
      if (process.env['ETCD_BOOTSTRAP_KEEP_LIVE']) console.error(`ETCD_BOOTSTRAP_KEEP_LIVE: kept ${world.dir}`);
      else world.remove();
    },
  };
}
