// A real etcd cluster on this machine, started from the generated manifests: the live test's machinery.
//
// Each member is the real `etcd` binary run as kubelet would run its container: in the tutorial profile with exactly
// the environment its generated manifest gives the etcd container (plus PATH and HOME) and no flags, since etcd
// refuses an option given both as a flag and as ETCD_*; in the kubeadm profile with the container's command and args
// as argv and its env as the environment. Only the data directory changes, to a fresh 0700 directory per member, and
// in the kubeadm profile 127.0.0.1 moves to a loopback address of each member's own (mapToMachine). Members share one machine, so each gets its own
// loopback address (127.0.0.x) and the cluster's ports are free ports picked here.
//
// Every etcd started here is recorded by pid and stopped by pid (SIGTERM, then SIGKILL): by stopMember(), by
// stopAll() in a suite's `after` hook, and, as a last resort, when the test process exits or is interrupted (and,
// through setpriv --pdeathsig, by the kernel should the test process die without a word).
// Nothing here talks to anything but loopback addresses.
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, isIP } from 'node:net';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { main } from '../../src/cli.js';
import { hasTool } from './tools.js';

// ---------------------------------------------------------------------------------------------------------------
// Failures a stranger can read.

/**
 * A failure whose message says everything (command, stderr, etcd's output). Its stack keeps only the frames:
 * uvu prints a message and then its stack, and a stack that starts with a thirty-line message prints it twice.
 */
export class LiveFailure extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LiveFailure';
    this.stack = `${this.name}\n${(this.stack ?? '').split('\n').filter((line) => /^\s+at /.test(line)).join('\n')}`;
  }
}

/** Fail with `message` unless `condition` holds. */
export function check(condition: unknown, message: string | (() => string)): asserts condition {
  if (!condition) throw new LiveFailure(typeof message === 'function' ? message() : message);
}

// ---------------------------------------------------------------------------------------------------------------
// Commands.

export interface RunResult {
  /** The command as a person would type it, for messages. */
  command: string;
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  input?: string;
  /** Kill the command (and everything it started) after this long. */
  timeoutMs?: number;
}

/** A shell-like rendering of a command line, for messages only. */
export function commandLine(file: string, args: readonly string[]): string {
  const word = (w: string) => (/^[A-Za-z0-9_@%+=:,./[\]-]+$/.test(w) ? w : `'${w.replace(/'/g, `'\\''`)}'`);
  return [file, ...args].map(word).join(' ');
}

/**
 * Run a short-lived command without blocking the event loop (etcd's output pipes must keep draining: a member
 * blocked on a full stderr pipe stops answering). It runs in its own process group, so that a timeout kills what
 * it started too.
 */
export function run(file: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const command = commandLine(file, args);
  return new Promise((resolve) => {
    const child = spawn(file, [...args], {
      env: options.env ?? process.env,
      cwd: options.cwd,
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: true,
    });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => {
      timedOut = true;
      if (child.pid !== undefined) {
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {
          /* already gone */
        }
      }
    }, options.timeoutMs ?? 30_000);
    child.on('error', (error) => {
      clearTimeout(timer);
      resolve({ command, code: null, signal: null, stdout, stderr: `${stderr}${error.message}\n`, timedOut });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ command, code, signal, stdout, stderr, timedOut });
    });
    child.stdin.on('error', () => {
      /* the command may exit without reading its input */
    });
    child.stdin.end(options.input ?? '');
  });
}

/** What a command did, indented, for an assertion message. */
export function explain(result: RunResult): string {
  const status = result.timedOut
    ? 'was killed after timing out'
    : result.code !== null
      ? `exited with status ${result.code}`
      : `was killed by ${result.signal ?? 'a signal'}`;
  const block = (label: string, text: string) => (text.trim() ? `\n  ${label}:\n${indent(text.trimEnd(), 4)}` : `\n  ${label}: (empty)`);
  return `\`${result.command}\` ${status}${block('stdout', result.stdout)}${block('stderr', result.stderr)}`;
}

export function indent(text: string, by: number): string {
  const pad = ' '.repeat(by);
  return text
    .split('\n')
    .map((line) => pad + line)
    .join('\n');
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------------------------------------------------------
// Every etcd process this module started, by pid, so that none outlives the tests.

const running = new Map<number, ChildProcess>();

function killEverythingNow(): void {
  for (const pid of running.keys()) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
  running.clear();
}

process.on('exit', killEverythingNow);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.once(signal, () => {
    killEverythingNow();
    process.kill(process.pid, signal);
  });
}

/**
 * Record a process started elsewhere (test/support/sshd.ts: sshd, a network namespace's holder) among those killed
 * by pid when the test process ends; forgotten when it exits.
 */
export function keepTrackOf(child: ChildProcess): void {
  const pid = child.pid;
  if (pid === undefined) return;
  running.set(pid, child);
  child.once('exit', () => running.delete(pid));
}

/** How many etcd processes (and processes given to keepTrackOf) started here are still running (0 after every suite). */
export function runningCount(): number {
  return running.size;
}

// ---------------------------------------------------------------------------------------------------------------
// Ports and certificates.

function canListen(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/**
 * `count` distinct ports that every address can listen on. Ports come from 20000–32767, below Linux's ephemeral
 * range, so that no outgoing connection of the tests takes one between this check and etcd's bind.
 */
export async function freePorts(addresses: readonly string[], count: number): Promise<number[]> {
  const tried = new Set<number>();
  const ports: number[] = [];
  for (let attempt = 0; attempt < 500 && ports.length < count; attempt++) {
    const port = 20000 + Math.floor(Math.random() * 12768);
    if (tried.has(port)) continue;
    tried.add(port);
    const free = await Promise.all(addresses.map((a) => canListen(a, port)));
    if (free.every(Boolean)) ports.push(port);
  }
  if (ports.length < count) throw new LiveFailure(`found only ${ports.length} of ${count} free ports in 20000–32767 on ${addresses.join(', ')}`);
  return ports;
}

export interface Certificates {
  /** The directory holding ca.pem, kubernetes.pem and kubernetes-key.pem: etcd.certDir of the test cluster. */
  dir: string;
  ca: string;
  cert: string;
  key: string;
}

/**
 * A CA and one certificate for peers and clients, as the tutorial's kubernetes.pem: SANs for every member ip,
 * 127.0.0.1, ::1 and localhost; extendedKeyUsage serverAuth and clientAuth. The CA key stays outside `certDir`.
 */
export async function makeCertificates(certDir: string, caDir: string, ips: readonly string[], days = 2): Promise<Certificates> {
  mkdirSync(certDir, { recursive: true });
  mkdirSync(caDir, { recursive: true, mode: 0o700 });
  const ca = join(certDir, 'ca.pem');
  const cert = join(certDir, 'kubernetes.pem');
  const key = join(certDir, 'kubernetes-key.pem');
  const caKey = join(caDir, 'ca-key.pem');
  const csr = join(caDir, 'kubernetes.csr');
  const extensions = join(caDir, 'kubernetes.ext');
  const sans = [...new Set([...ips, '127.0.0.1', '::1'])].map((ip) => `IP:${ip}`);
  writeFileSync(
    extensions,
    [
      'basicConstraints = CA:FALSE',
      'keyUsage = critical, digitalSignature, keyEncipherment',
      'extendedKeyUsage = serverAuth, clientAuth',
      `subjectAltName = ${[...sans, 'DNS:localhost'].join(', ')}`,
      '',
    ].join('\n'),
  );
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  const steps: string[][] = [
    ['req', '-x509', ...ec, '-keyout', caKey, '-out', ca, '-days', String(days), '-subj', '/CN=etcd-bootstrap live test CA',
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'],
    ['req', '-new', ...ec, '-keyout', key, '-out', csr, '-subj', '/CN=kubernetes'],
    ['x509', '-req', '-in', csr, '-CA', ca, '-CAkey', caKey, '-CAcreateserial', '-out', cert, '-days', String(days), '-extfile', extensions],
  ];
  for (const args of steps) {
    const result = await run('openssl', args, { timeoutMs: 20_000 });
    if (result.code !== 0) throw new LiveFailure(`making the test certificates failed: ${explain(result)}`);
  }
  chmodSync(key, 0o600);
  return { dir: certDir, ca, cert, key };
}

// ---------------------------------------------------------------------------------------------------------------
// The cluster.

export interface MasterSpec {
  name: string;
  ip: string;
  host: string;
}

/** One of kubelet's HTTP probes of the kubeadm profile, at the URL it asks on this machine. */
export interface LiveProbe {
  kind: 'liveness' | 'readiness' | 'startup';
  /** The probe as the manifest writes it (http://HOST:PORT/PATH). */
  manifestUrl: string;
  /** The same URL with the loopback address mapped to the member's own (see mapToMachine). */
  url: string;
}

export interface LiveMember extends MasterSpec {
  /** The generated manifest, as a path. */
  manifest: string;
  /**
   * What is started: the container's command and args, as kubelet passes them to the runtime, with only addresses
   * and the data directory mapped to this machine. The tutorial profile's is `etcd` alone (its env carries the rest).
   */
  argv: string[];
  /** The kubeadm profile's HTTP probes; empty for the tutorial's TCP probe. */
  httpProbes: LiveProbe[];
  /** The etcd container's environment, exactly as the manifest gives it. */
  manifestEnv: Record<string, string>;
  /** Where kubelet's liveness probe connects, from the manifest. */
  probe: { host: string; port: number };
  /** What etcd runs with: manifestEnv, PATH and HOME, and ETCD_DATA_DIR replaced by `dataDir`. */
  env: Record<string, string>;
  dataDir: string;
  clientUrl: string;
  peerUrl: string;
  /** Words etcd is run under, when it runs somewhere else (test/support/sshd.ts: nsenter into a node's namespaces). */
  enter?: string[];
  /** The running process, if any. */
  process?: ChildProcess;
  /** Every pid this member has had, in order. */
  pids: number[];
  /** The end of etcd's stdout and stderr, over every start. */
  log: string[];
  exit?: { code: number | null; signal: NodeJS.Signals | null };
}

export interface LiveCluster {
  /** What the suite calls it, in messages. */
  label: string;
  dir: string;
  configPath: string;
  outDir: string;
  certs: Certificates;
  clientPort: number;
  peerPort: number;
  image: string;
  members: LiveMember[];
  /** Every member's client URL, comma-separated, as etcdctl's --endpoints takes them. */
  endpoints: string;
  /** The plain-HTTP loopback listener's URL (the tutorial's http://127.0.0.1:2379), when it is on. */
  localUrl?: string;
  /** Words etcdctl is run under, when the members are elsewhere (test/support/sshd.ts: nsenter into their network). */
  enter?: string[];
  /** The directory of the etcd and etcdctl this cluster runs; PATH's when undefined. */
  etcdBin?: string;
}

const LOG_LINES = 400;

/** The environment a command of the tests runs with: nothing inherited but PATH and HOME. */
export function baseEnv(extra: Record<string, string> = {}): Record<string, string> {
  return { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: process.env['HOME'] ?? '/root', ...extra };
}

function urlHost(host: string): string {
  return isIP(host) === 6 ? `[${host}]` : host;
}

export interface ManifestView {
  /** The etcd container's environment, in order of the manifest. */
  env: Record<string, string>;
  /** Where kubelet's liveness probe opens a TCP connection (livenessProbe.tcpSocket). */
  probe: { host: string; port: number };
}

/** The etcd container of a generated manifest, checked for what running it outside a pod relies on. */
export function readManifest(path: string, certDir: string): ManifestView {
  const where = `the generated manifest ${path}`;
  let pod: unknown;
  try {
    pod = parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new LiveFailure(`${where} is not valid YAML: ${(error as Error).message}`);
  }
  type Container = {
    command?: unknown;
    args?: unknown;
    env?: unknown;
    volumeMounts?: { name?: unknown; mountPath?: unknown }[];
    livenessProbe?: { tcpSocket?: { host?: unknown; port?: unknown } };
  };
  const spec = (pod as { spec?: { containers?: Container[]; volumes?: { name?: unknown; hostPath?: { path?: unknown } }[] } })?.spec;
  const container = spec?.containers?.[0];
  if (!container) throw new LiveFailure(`${where} has no spec.containers[0]`);
  // The live test runs etcd with the environment only. If the manifest also passed etcd flags, this test would
  // not be running what kubelet runs (and a flag repeating an ETCD_* variable makes etcd refuse to start).
  const words = [container.command, container.args].flat().filter((w): w is string => typeof w === 'string');
  const flags = words.join(' ').match(/\/etcd\s+--?[a-z][\w-]*/g);
  if (flags) throw new LiveFailure(`${where} runs etcd with flags (${flags.join(', ')}); this test runs etcd with the ETCD_* environment only`);
  if (!Array.isArray(container.env)) throw new LiveFailure(`${where} has no env list in spec.containers[0]`);
  const env: Record<string, string> = {};
  for (const [i, entry] of (container.env as { name?: unknown; value?: unknown }[]).entries()) {
    const name = entry?.name;
    const value = entry?.value;
    if (typeof name !== 'string') throw new LiveFailure(`${where}: env[${i}] has no name`);
    // kubelet rejects a non-string env value (an unquoted true or 2379 in YAML); etcd would never see it.
    if (typeof value !== 'string') throw new LiveFailure(`${where}: env ${name} is ${JSON.stringify(value)}, not a string: kubelet would reject the pod`);
    if (name in env) throw new LiveFailure(`${where}: env ${name} is set twice (${JSON.stringify(env[name])} and ${JSON.stringify(value)})`);
    env[name] = value;
  }
  // etcd reads its certificates at the paths in the environment. On this machine they are certDir's files, which is
  // only what the pod sees if the pod mounts certDir from the host at the same path.
  const mount = container.volumeMounts?.find((m) => m.mountPath === certDir);
  const volume = spec?.volumes?.find((v) => v.name === mount?.name);
  if (!mount || volume?.hostPath?.path !== certDir) {
    throw new LiveFailure(`${where} does not mount the host's ${certDir} at ${certDir}; the certificate paths in its env would not exist in the pod`);
  }
  const socket = container.livenessProbe?.tcpSocket;
  if (typeof socket?.host !== 'string' || typeof socket.port !== 'number') {
    throw new LiveFailure(`${where} has no livenessProbe.tcpSocket with a host and a numeric port (found ${JSON.stringify(socket)})`);
  }
  return { env, probe: { host: socket.host, port: socket.port } };
}

export interface ClusterOptions {
  /** What messages call the cluster. */
  label: string;
  /** A short name for its temporary directory. */
  slug: string;
  masters: MasterSpec[];
  /**
   * Turn on the tutorial's plain-HTTP loopback listener on this address, on a port of its own. Only a cluster of
   * one can: every member would listen on the same address and port.
   */
  localListener?: '127.0.0.1' | '::1';
  /** Make that loopback listener HTTPS with client certificates (localListener.tls) instead of plain HTTP. */
  localListenerTls?: boolean;
  /** The kubeadm profile, run with the image tag of this etcd version (the flags and probes depend on it). */
  kubeadm?: { version: string; extraArgs?: Record<string, string> };
  /** The directory holding the etcd and etcdctl to run; PATH's when absent. */
  etcdBin?: string;
  /** Settings laid over the generated cluster.json's `etcd` and top level (test/backup.test.ts: paths, backup). */
  etcd?: Record<string, unknown>;
  config?: Record<string, unknown>;
}

/** Each member's own stand-in for 127.0.0.1: members sharing one machine cannot all listen on 127.0.0.1:PORT. */
export function memberLoopback(index: number): string {
  return `127.0.1.${index + 2}`;
}

export interface MachineMapping {
  /** The loopback address that stands for the manifest's 127.0.0.1 on this machine. */
  loopback: string;
  /** The data directory the manifest names, and the one that stands for it here. */
  dataDir: { manifest: string; here: string };
}

/**
 * A container argument as it runs on this machine: the manifest's data directory becomes the member's temporary one,
 * and a URL on 127.0.0.1 moves to the member's own loopback address. Nothing else changes.
 */
export function mapToMachine(arg: string, mapping: MachineMapping): string {
  if (arg === `--data-dir=${mapping.dataDir.manifest}`) return `--data-dir=${mapping.dataDir.here}`;
  return arg.replace(/\/\/127\.0\.0\.1:/g, `//${mapping.loopback}:`);
}

export interface KubeadmManifestView {
  /** command then args, exactly as the manifest gives them. */
  argv: string[];
  /** The container's env. */
  env: Record<string, string>;
  probes: { kind: LiveProbe['kind']; url: string }[];
}

/** The etcd container of a kubeadm-profile manifest: what kubelet would run, and what it would probe. */
export function readKubeadmManifest(path: string, certDir: string): KubeadmManifestView {
  const where = `the generated manifest ${path}`;
  type HttpGet = { host?: unknown; port?: unknown; path?: unknown; scheme?: unknown };
  type Container = {
    command?: unknown;
    args?: unknown;
    env?: { name?: unknown; value?: unknown }[];
    volumeMounts?: { name?: unknown; mountPath?: unknown }[];
    livenessProbe?: { httpGet?: HttpGet };
    readinessProbe?: { httpGet?: HttpGet };
    startupProbe?: { httpGet?: HttpGet };
  };
  const pod = parse(readFileSync(path, 'utf8')) as { spec?: { containers?: Container[]; volumes?: { name?: unknown; hostPath?: { path?: unknown } }[] } };
  const container = pod.spec?.containers?.[0];
  if (!container) throw new LiveFailure(`${where} has no spec.containers[0]`);
  const words = (value: unknown, what: string): string[] => {
    if (value === undefined) return [];
    if (!Array.isArray(value) || !value.every((w) => typeof w === 'string')) throw new LiveFailure(`${where}: ${what} is not a list of strings`);
    return value as string[];
  };
  const argv = [...words(container.command, 'command'), ...words(container.args, 'args')];
  if (argv[0] !== 'etcd') throw new LiveFailure(`${where} runs ${JSON.stringify(argv[0])}, not etcd: the kubeadm profile runs etcd itself`);
  const env: Record<string, string> = {};
  for (const entry of container.env ?? []) {
    if (typeof entry.name !== 'string' || typeof entry.value !== 'string') throw new LiveFailure(`${where}: an env entry is not a name and a string value`);
    env[entry.name] = entry.value;
  }
  const mount = container.volumeMounts?.find((m) => m.mountPath === certDir);
  const volume = pod.spec?.volumes?.find((v) => v.name === mount?.name);
  if (!mount || volume?.hostPath?.path !== certDir) throw new LiveFailure(`${where} does not mount the host's ${certDir} at ${certDir}`);
  const probes = (['liveness', 'readiness', 'startup'] as const).map((kind) => {
    const get = container[`${kind}Probe`]?.httpGet;
    if (typeof get?.host !== 'string' || typeof get.port !== 'number' || typeof get.path !== 'string' || get.scheme !== 'HTTP') {
      throw new LiveFailure(`${where} has no ${kind}Probe.httpGet with host, numeric port, path and scheme HTTP (found ${JSON.stringify(get)})`);
    }
    const host = isIP(get.host) === 6 ? `[${get.host}]` : get.host;
    return { kind, url: `http://${host}:${get.port}${get.path}` };
  });
  return { argv, env, probes };
}

/**
 * Write cluster.json into a fresh temporary directory, make the certificates, generate out/ with the CLI, and
 * read every member's environment from its manifest. Nothing is started yet.
 */
export async function prepareCluster(options: ClusterOptions): Promise<LiveCluster> {
  const dir = mkdtempSync(join(tmpdir(), `etcd-bootstrap-live-${options.slug}-`));
  try {
    const certDir = join(dir, 'certs');
    if (options.localListener && options.masters.length !== 1) throw new LiveFailure('only a cluster of one member can have the loopback listener here');
    const kubeadm = options.kubeadm;
    const loopbacks = kubeadm ? options.masters.map((_, i) => memberLoopback(i)) : [];
    // The certificate covers 127.0.0.1 (as kubeadm's server certificate does) and each member's stand-in for it.
    const certs = await makeCertificates(certDir, join(dir, 'ca'), [...options.masters.map((m) => m.ip), ...loopbacks]);
    const addresses = [...new Set([...options.masters.map((m) => m.ip), ...loopbacks, ...(options.localListener ? [options.localListener] : [])])];
    const [clientPort = 0, peerPort = 0, thirdPort = 0] = await freePorts(addresses, options.localListener || kubeadm ? 3 : 2);
    const localListener = options.localListener ? { enabled: true, address: options.localListener, port: thirdPort, tls: options.localListenerTls ?? false } : { enabled: false };
    const image = kubeadm ? `registry.k8s.io/etcd:${kubeadm.version}-0` : 'quay.io/coreos/etcd:v3.3.5';
    const config = {
      masters: options.masters,
      etcd: {
        ...(kubeadm ? { profile: 'kubeadm', metricsListener: { address: '127.0.0.1', port: thirdPort }, ...(kubeadm.extraArgs ? { extraArgs: kubeadm.extraArgs } : {}) } : {}),
        image,
        clientPort,
        peerPort,
        clusterToken: `etcd-bootstrap-live-${options.slug}`,
        // Replaced per member by the test; the manifests still say it.
        dataDir: '/var/lib/etcd',
        // The members run on this machine, so the "remote" certificate directory is the test's own.
        certDir,
        manifestDir: '/etc/kubernetes/manifests',
        // Members sharing one machine cannot all listen on 127.0.0.1:clientPort; a single member can, on a port
        // of its own.
        localListener,
        ...options.etcd,
      },
      // Relative to cluster.json, as an operator would write them.
      tls: { ca: 'certs/ca.pem', cert: 'certs/kubernetes.pem', key: 'certs/kubernetes-key.pem' },
      transport: { kind: 'vagrant' },
      ...options.config,
    };
    const configPath = join(dir, 'cluster.json');
    writeFileSync(configPath, `${JSON.stringify(config, null, 2)}\n`);
    const outDir = join(dir, 'out');
    const errors: string[] = [];
    const code = main(['generate', '--config', configPath, '--out', outDir], { out: () => {}, err: (line) => errors.push(line) });
    if (code !== 0) {
      throw new LiveFailure(`etcd-bootstrap generate --config ${configPath} exited ${code}:\n${indent(errors.join('\n'), 2)}\ncluster.json:\n${indent(JSON.stringify(config, null, 2), 2)}`);
    }
    mkdirSync(join(dir, 'data'), { mode: 0o700 });
    const members = options.masters.map((master, index): LiveMember => {
      const manifest = join(outDir, `${master.name}-etcd.manifest`);
      const dataDir = join(dir, 'data', master.name);
      if (kubeadm) {
        const view = readKubeadmManifest(manifest, certDir);
        const mapping: MachineMapping = { loopback: memberLoopback(index), dataDir: { manifest: config.etcd.dataDir, here: dataDir } };
        const argv = view.argv.map((arg) => mapToMachine(arg, mapping));
        if (!argv.includes(`--data-dir=${dataDir}`)) throw new LiveFailure(`${manifest} passes no --data-dir=${config.etcd.dataDir}: etcd would write into its working directory`);
        mkdirSync(dataDir, { mode: 0o700 });
        chmodSync(dataDir, 0o700);
        return {
          ...master,
          manifest,
          manifestEnv: view.env,
          argv: [options.etcdBin ? join(options.etcdBin, 'etcd') : 'etcd', ...argv.slice(1)],
          httpProbes: view.probes.map((p) => ({ kind: p.kind, manifestUrl: p.url, url: mapToMachine(p.url, mapping) })),
          probe: { host: mapping.loopback, port: thirdPort },
          env: { ...baseEnv(), ...view.env },
          dataDir,
          clientUrl: `https://${urlHost(master.host)}:${clientPort}`,
          peerUrl: `https://${urlHost(master.host)}:${peerPort}`,
          pids: [],
          log: [],
        };
      }
      const { env: manifestEnv, probe } = readManifest(manifest, certDir);
      if (!('ETCD_DATA_DIR' in manifestEnv)) throw new LiveFailure(`${manifest} sets no ETCD_DATA_DIR: etcd would write into its working directory`);
      mkdirSync(dataDir, { mode: 0o700 });
      chmodSync(dataDir, 0o700); // the umask may have taken bits away; etcd 3.4 wants exactly 0700
      return {
        ...master,
        manifest,
        manifestEnv,
        argv: [options.etcdBin ? join(options.etcdBin, 'etcd') : 'etcd'],
        httpProbes: [],
        probe,
        env: { ...baseEnv(), ...manifestEnv, ETCD_DATA_DIR: dataDir },
        dataDir,
        clientUrl: `https://${urlHost(master.host)}:${clientPort}`,
        peerUrl: `https://${urlHost(master.host)}:${peerPort}`,
        pids: [],
        log: [],
      };
    });
    return {
      label: options.label,
      dir,
      configPath,
      outDir,
      certs,
      clientPort,
      peerPort,
      image,
      members,
      endpoints: members.map((m) => m.clientUrl).join(','),
      ...(options.localListener ? { localUrl: `${options.localListenerTls ? 'https' : 'http'}://${urlHost(options.localListener)}:${thirdPort}` } : {}),
      ...(options.etcdBin ? { etcdBin: options.etcdBin } : {}),
    };
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}

function keepLog(member: LiveMember, chunk: string): void {
  member.log.push(...chunk.split('\n').filter((line) => line !== ''));
  if (member.log.length > LOG_LINES) member.log.splice(0, member.log.length - LOG_LINES);
}

/**
 * A member's etcd output, for a failure message: which ETCD_* variables etcd read, what it complained about
 * (levels C, E, W and N), and the last lines of the rest.
 */
export function memberLog(member: LiveMember, lines = 15): string {
  const used = new Set<string>();
  const complaints: string[] = [];
  const rest: string[] = [];
  for (const line of member.log) {
    const variable = /recognized and used environment variable (ETCD_\w+)=/.exec(line)?.[1];
    if (variable) used.add(variable);
    else {
      if (/ [CEWN] \| |"level":"(warn|error|fatal|panic)"/.test(line)) complaints.push(line);
      rest.push(line);
    }
  }
  const state = member.exit ? `, exited ${member.exit.code !== null ? `with status ${member.exit.code}` : `on ${member.exit.signal}`}` : '';
  const pids = member.pids.length ? `pid ${member.pids.join(', then ')}${state}` : 'never started';
  const parts = [`--- ${member.name} (${pids}) ---`];
  if (used.size) parts.push(`  etcd read ${[...used].sort().join(', ')}`);
  if (complaints.length) parts.push(`  etcd complained:\n${indent(complaints.slice(-8).join('\n'), 4)}`);
  parts.push(`  the last ${Math.min(lines, rest.length)} other lines of its output:\n${indent(rest.slice(-lines).join('\n') || '(none)', 4)}`);
  return parts.join('\n');
}

export function allLogs(cluster: LiveCluster, lines = 10): string {
  return cluster.members.map((m) => memberLog(m, lines)).join('\n');
}

let haveSetpriv: boolean | undefined;

/**
 * Start etcd for a member: its argv (the tutorial's: etcd alone, configured by the manifest's env; the kubeadm
 * profile's: the container's command and args) with its env. On Linux it is wrapped in `setpriv
 * --pdeathsig KILL` when available, which execs etcd (same pid) and makes the kernel kill it should the test
 * process die without running its exit handler.
 */
export function startMember(member: LiveMember): void {
  if (member.process && member.exit === undefined) throw new LiveFailure(`${member.name} is already running (pid ${member.process.pid})`);
  haveSetpriv ??= hasTool('setpriv');
  const command = [...(member.enter ?? []), ...member.argv];
  const [file, args] = haveSetpriv ? ['setpriv', ['--pdeathsig', 'KILL', '--', ...command]] : [command[0]!, command.slice(1)];
  const child = spawn(file, args, { env: member.env, cwd: member.dataDir, detached: false, stdio: ['ignore', 'pipe', 'pipe'] });
  member.exit = undefined;
  member.process = child;
  if (child.pid === undefined) throw new LiveFailure(`could not start etcd for ${member.name}`);
  const pid = child.pid;
  member.pids.push(pid);
  running.set(pid, child);
  keepLog(member, `[test] started etcd for ${member.name}, pid ${pid}, ETCD_DATA_DIR=${member.dataDir}`);
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => keepLog(member, chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => keepLog(member, chunk));
  child.on('error', (error) => keepLog(member, `[test] could not run etcd: ${error.message}`));
  // Unreferenced: should a member ever escape stopAll, its open pipes must not keep the test process waiting
  // forever after the last test; the exit handler above then kills it.
  child.unref();
  for (const stream of [child.stdout, child.stderr]) (stream as unknown as { unref?: () => void } | null)?.unref?.();
  child.on('exit', (code, signal) => {
    running.delete(pid);
    if (member.process === child) member.exit = { code, signal };
    keepLog(member, `[test] etcd for ${member.name} (pid ${pid}) exited ${code !== null ? `with status ${code}` : `on ${signal}`}`);
  });
}

function exited(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/** Stop a member by pid: SIGTERM, and SIGKILL if it has not exited within 5 s. Resolves once it is gone. */
export async function stopMember(member: LiveMember): Promise<void> {
  const child = member.process;
  if (!child || child.pid === undefined) return;
  const pid = child.pid;
  if (!(await exited(child, 0))) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      /* already gone */
    }
    if (!(await exited(child, 5_000))) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
      await exited(child, 5_000);
    }
  }
  running.delete(pid);
}

/**
 * Stop every member: the followers together, then the leader. A leader stopped together with its followers spends
 * seconds trying to hand over leadership to members that are going away, and ends up killed.
 */
export async function stopAll(cluster: LiveCluster | undefined): Promise<void> {
  if (!cluster) return;
  const alive = cluster.members.filter((m) => m.process && m.exit === undefined);
  const leading = alive.length > 1 ? await leader(cluster).catch(() => undefined) : undefined;
  await Promise.all(alive.filter((m) => m !== leading).map(stopMember));
  if (leading) await stopMember(leading);
}

export function removeCluster(cluster: LiveCluster | undefined): void {
  if (!cluster) return;
  if (process.env['ETCD_BOOTSTRAP_KEEP_LIVE']) {
    console.error(`ETCD_BOOTSTRAP_KEEP_LIVE: kept ${cluster.dir}`);
    return;
  }
  rmSync(cluster.dir, { recursive: true, force: true });
}

/** Members whose etcd has exited although the test did not stop it. */
export function crashed(cluster: LiveCluster): LiveMember[] {
  return cluster.members.filter((m) => m.process && m.exit !== undefined);
}

// ---------------------------------------------------------------------------------------------------------------
// Talking to the cluster.

export interface EtcdctlOptions {
  /** The endpoints, comma-separated; all members' client URLs by default. */
  endpoints?: string;
  /** Present the client certificate (default), only trust the CA, or neither. */
  tls?: 'client-cert' | 'ca-only' | 'none';
  /** etcdctl's --command-timeout; 4s by default. */
  commandTimeout?: string;
  timeoutMs?: number;
}

/** The host's etcdctl, API v3, with short timeouts. */
export function etcdctl(cluster: LiveCluster, args: readonly string[], options: EtcdctlOptions = {}): Promise<RunResult> {
  const tls = options.tls ?? 'client-cert';
  const tlsArgs =
    tls === 'client-cert'
      ? [`--cacert=${cluster.certs.ca}`, `--cert=${cluster.certs.cert}`, `--key=${cluster.certs.key}`]
      : tls === 'ca-only'
        ? [`--cacert=${cluster.certs.ca}`]
        : [];
  const command = [
    ...(cluster.enter ?? []),
    cluster.etcdBin ? join(cluster.etcdBin, 'etcdctl') : 'etcdctl',
    `--endpoints=${options.endpoints ?? cluster.endpoints}`, ...tlsArgs, '--dial-timeout=2s', `--command-timeout=${options.commandTimeout ?? '4s'}`, ...args,
  ];
  return run(command[0]!, command.slice(1), { env: baseEnv({ ETCDCTL_API: '3' }), timeoutMs: options.timeoutMs ?? 15_000 });
}

/**
 * Wait until `etcdctl endpoint health` reports every member healthy, for at most `timeoutMs`. Fails at once,
 * with its output, when a member's etcd exits.
 */
export async function waitHealthy(cluster: LiveCluster, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: RunResult | undefined;
  for (;;) {
    const dead = crashed(cluster);
    if (dead.length) {
      throw new LiveFailure(
        `${cluster.label}: etcd exited before the cluster was healthy: ${dead.map((m) => `${m.name} (${m.exit?.code !== null ? `status ${m.exit?.code}` : m.exit?.signal})`).join(', ')}.\n` +
          `Each member runs with exactly the env of its generated manifest (${cluster.outDir}/NAME-etcd.manifest).\n${dead.map((m) => memberLog(m, 6)).join('\n')}`,
      );
    }
    last = await etcdctl(cluster, ['endpoint', 'health'], { timeoutMs: 10_000 });
    if (last.code === 0) return;
    if (Date.now() >= deadline) break;
    await sleep(300);
  }
  throw new LiveFailure(
    `${cluster.label}: not every member was healthy within ${timeoutMs / 1000} s. The last check: ${explain(last)}\n${allLogs(cluster)}`,
  );
}

export interface ListedMember {
  id: string;
  status: string;
  name: string;
  peerUrls: string;
  clientUrls: string;
}

/** `etcdctl member list` in its simple format: ID, STATUS, NAME, PEER ADDRS, CLIENT ADDRS, IS LEARNER. */
export function parseMemberList(stdout: string): ListedMember[] {
  return stdout
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const [id = '', status = '', name = '', peerUrls = '', clientUrls = ''] = line.split(', ');
      return { id, status, name, peerUrls, clientUrls };
    });
}

/** The member that leads, read from `etcdctl endpoint status` (simple format: ENDPOINT, ID, VERSION, DB SIZE, IS LEADER, …). */
export async function leader(cluster: LiveCluster): Promise<LiveMember | undefined> {
  const status = await etcdctl(cluster, ['endpoint', 'status']);
  // A member that is down makes etcdctl exit non-zero; the others' lines are still there.
  const endpoint = status.stdout
    .split('\n')
    .map((line) => line.split(', '))
    .find((fields) => fields[4] === 'true')?.[0];
  return cluster.members.find((m) => m.clientUrl === endpoint);
}

/** Whether a TCP connection to host:port is accepted within `timeoutMs`, as kubelet's tcpSocket probe checks. */
export function tcpAccepts(host: string, port: number, timeoutMs = 3_000): Promise<{ ok: boolean; error?: string }> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.setTimeout(timeoutMs, () => socket.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    socket.once('connect', () => {
      socket.destroy();
      resolve({ ok: true });
    });
    socket.once('error', (error) => resolve({ ok: false, error: `${(error as NodeJS.ErrnoException).code ?? ''} ${error.message}`.trim() }));
  });
}

export interface HttpAnswer {
  /** The HTTP status, when the server answered at all. */
  status?: number;
  body?: string;
  /** The socket error, when it did not. */
  error?: string;
}

/** One GET over plain HTTP, or HTTPS trusting `tls.ca` and presenting `tls.cert` when given; never throws. */
export function httpGet(url: string, tls?: { ca: string; cert?: string; key?: string }, timeoutMs = 5_000): Promise<HttpAnswer> {
  return new Promise((resolve) => {
    const options = {
      timeout: timeoutMs,
      ...(tls ? { ca: readFileSync(tls.ca) } : {}),
      ...(tls?.cert && tls.key ? { cert: readFileSync(tls.cert), key: readFileSync(tls.key) } : {}),
    };
    const request = (url.startsWith('https:') ? httpsRequest : httpRequest)(url, options, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
      response.on('error', (error) => resolve({ status: response.statusCode ?? 0, body, error: error.message }));
    });
    request.on('timeout', () => request.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    request.on('error', (error) => resolve({ error: `${(error as NodeJS.ErrnoException).code ?? ''} ${error.message}`.trim() }));
    request.end();
  });
}

// ---------------------------------------------------------------------------------------------------------------
// verify.sh, locally and the tutorial's way.

export function verify(cluster: LiveCluster, args: readonly string[], env: Record<string, string> = baseEnv()): Promise<RunResult> {
  // From a directory other than out/: the script must find its defaults relative to itself.
  return run(join(cluster.outDir, 'verify.sh'), args, { env, cwd: cluster.dir, timeoutMs: 60_000 });
}

/**
 * Stand-ins for what the tutorial's path needs on the operator's machine and on a master, as bash scripts in a
 * bin directory: `vagrant ssh MASTER -- bash -euo pipefail -s` runs bash here; `sudo` runs its arguments;
 * `docker run … IMAGE /usr/local/bin/etcdctl ARGS` runs the real etcdctl as the image would, seeing only the
 * volumes mounted with -v and only the environment given with -e. Each call is appended to `log`.
 */
export function writeStandIns(cluster: LiveCluster): { bin: string; log: string; env: Record<string, string> } {
  const bin = join(cluster.dir, 'stand-in-bin');
  const log = join(cluster.dir, 'stand-in.log');
  mkdirSync(bin, { recursive: true });
  writeFileSync(log, '');
  const q = (value: string) => `'${value.replace(/'/g, `'\\''`)}'`;
  const machines = cluster.members.map((m) => q(m.name)).join(' ');
  // On master N, 127.0.0.1 is master N's own loopback; here a kubeadm-profile member's stand-in for it is its own
  // address (mapToMachine moved its listeners there), so a script run "on" that machine has 127.0.0.1 moved the same way.
  const loopbacks = cluster.members.map((m, i) => q(m.httpProbes.length ? memberLoopback(i) : '127.0.0.1')).join(' ');
  const header = (name: string) => `#!/bin/bash
# Stand-in for ${name}, written by test/support/live-cluster.ts.
set -euo pipefail
printf '%s\\n' "${name} $*" >>${q(log)}
`;
  const scripts: Record<string, string> = {
    vagrant: `${header('vagrant')}machines=(${machines})
loopbacks=(${loopbacks})
if [[ $# -ne 7 || $1 != ssh || $3 != -- || "\${*:4}" != 'bash -euo pipefail -s' ]]; then
  printf 'vagrant stand-in: expected "vagrant ssh MACHINE -- bash -euo pipefail -s", got "vagrant %s"\\n' "$*" >&2
  exit 1
fi
loopback=
for i in "\${!machines[@]}"; do [[ \${machines[i]} == "$2" ]] && loopback=\${loopbacks[i]}; done
if [[ -z $loopback ]]; then
  printf "The machine with the name '%s' was not found configured for this Vagrant environment.\\n" "$2" >&2
  exit 1
fi
cd "$HOME"
sed "s/127\\.0\\.0\\.1/$loopback/g" | exec bash -euo pipefail -s
`,
    sudo: `${header('sudo')}[[ $# -gt 0 ]] || { echo 'usage: sudo COMMAND' >&2; exit 1; }
exec "$@"
`,
    docker: `${header('docker')}image=${q(cluster.image)}
if [[ \${1:-} != run ]]; then
  printf 'docker stand-in: only "docker run" is supported, got "docker %s"\\n' "$*" >&2
  exit 1
fi
shift
net_host=no tty=no mounts=() envs=()
while (($#)); do
  case $1 in
    --rm | -i | --interactive) ;;
    -t | --tty | -it | -ti) tty=yes ;;
    --net=host | --network=host) net_host=yes ;;
    --net | --network) [[ \${2:-} == host ]] && net_host=yes; shift ;;
    -v | --volume) mounts+=("\${2:?}"); shift ;;
    --volume=*) mounts+=("\${1#*=}") ;;
    -e | --env) envs+=("\${2:?}"); shift ;;
    --env=*) envs+=("\${1#*=}") ;;
    -*) printf 'docker stand-in: option %s is not supported\\n' "$1" >&2; exit 125 ;;
    *) break ;;
  esac
  shift
done
if [[ \${1:-} != "$image" ]]; then
  printf 'docker stand-in: expected the image %s from cluster.json, got "%s"\\n' "$image" "\${1:-}" >&2
  exit 125
fi
if [[ \${2:-} != /usr/local/bin/etcdctl ]]; then
  printf 'docker stand-in: only /usr/local/bin/etcdctl is run in %s, got "%s"\\n' "$image" "\${2:-}" >&2
  exit 127
fi
shift 2
if [[ $tty == yes && ! -t 0 ]]; then
  echo 'the input device is not a TTY' >&2
  exit 1
fi
if [[ $net_host != yes ]]; then
  echo 'docker stand-in: without --net=host the container has its own loopback and cannot reach the members' >&2
  exit 1
fi
api=
for e in "\${envs[@]}"; do [[ $e == ETCDCTL_API=* ]] && api=\${e#*=}; done
if [[ $api != 3 ]]; then
  echo 'docker stand-in: the etcdctl of etcd v3.3 speaks the v2 API unless run with -e ETCDCTL_API=3' >&2
  exit 1
fi
# The container sees host files only through -v HOST:CONTAINER[:ro]: map each certificate path back.
args=()
for arg in "$@"; do
  case $arg in
    --cacert=* | --cert=* | --key=*)
      path=\${arg#*=} found=
      for mount in "\${mounts[@]}"; do
        IFS=: read -r host_path container_path _ <<<"$mount"
        if [[ $path == "$container_path"/* ]]; then found=$host_path\${path#"$container_path"}; fi
      done
      if [[ -z $found || ! -r $found ]]; then
        printf 'docker stand-in: %s does not exist in the container (mounted: %s)\\n' "$path" "\${mounts[*]:-nothing}" >&2
        exit 1
      fi
      args+=("\${arg%%=*}=$found") ;;
    *) args+=("$arg") ;;
  esac
done
exec env -i PATH="$PATH" HOME="$HOME" "\${envs[@]}" etcdctl "\${args[@]}"
`,
  };
  // crictl as documented (https://kubernetes.io/docs/tasks/debug/debug-cluster/crictl/,
  // https://github.com/kubernetes-sigs/cri-tools/blob/master/docs/crictl.md): `crictl ps` filters containers by
  // --name (a regular expression) and --state, --quiet prints IDs only; `crictl exec ID COMMAND ARG…` runs COMMAND in
  // the container. The etcd container here is the real etcdctl, with no ETCDCTL_API (the image sets none) and the
  // host's network (the pod has hostNetwork). No crictl is installed here to compare with: the stand-in is strict
  // instead, and refuses anything else.
  const etcdctlPath = cluster.etcdBin ? join(cluster.etcdBin, 'etcdctl') : 'etcdctl';
  scripts['crictl'] = `${header('crictl')}id=5f1e2d3c4b5a
case \${1:-} in
  ps)
    shift
    name= state= quiet=no
    while (($#)); do
      case $1 in
        --name) name=\${2:?}; shift ;;
        --name=*) name=\${1#*=} ;;
        --state) state=\${2:?}; shift ;;
        --state=*) state=\${1#*=} ;;
        -q | --quiet) quiet=yes ;;
        *) printf 'crictl stand-in: ps option %s is not supported\\n' "$1" >&2; exit 1 ;;
      esac
      shift
    done
    if [[ $quiet != yes ]]; then echo 'crictl stand-in: only "ps --quiet" is supported' >&2; exit 1; fi
    if [[ etcd =~ $name && $state == running ]]; then echo "$id"; fi
    ;;
  exec)
    shift
    if [[ \${1:-} != "$id" ]]; then printf 'crictl stand-in: no such container: %s\\n' "\${1:-}" >&2; exit 1; fi
    if [[ \${2:-} != etcdctl ]]; then printf 'crictl stand-in: the etcd container runs etcdctl here, not %s\\n' "\${2:-}" >&2; exit 127; fi
    shift 2
    exec env -i PATH="$PATH" HOME="$HOME" ${q(etcdctlPath)} "$@"
    ;;
  *) printf 'crictl stand-in: only ps and exec are supported, got "crictl %s"\\n' "$*" >&2; exit 1 ;;
esac
`;
  for (const [name, text] of Object.entries(scripts)) {
    writeFileSync(join(bin, name), text);
    chmodSync(join(bin, name), 0o755);
  }
  return { bin, log, env: baseEnv({ PATH: `${bin}:${process.env['PATH'] ?? '/usr/bin:/bin'}` }) };
}
