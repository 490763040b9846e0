// Runs etcd on fake nodes while, and only while, its manifest is in the node's manifest directory: the one thing
// kubelet does that backup and restore rely on. (A fuller kubelet stand-in is issue 12's; this one stays small.)
//
// Each node is a directory standing for its root file system: a remote path under `remotePrefix` (what cluster.json
// names, e.g. <tmp>/n/anynode/var/lib/etcd) is that path under the node's own directory (<tmp>/n/master1/var/lib/etcd).
// Every `pollMs` the runner looks at each node's <manifestDir>/etcd.manifest:
//   - there, and no etcd running: it starts the real etcd with the etcd container's env read from that file (as
//     test/support/live-cluster.ts reads a manifest), each value's remote prefix replaced by the node's directory;
//     after an exit it waits `restartMs` first, as kubelet backs off;
//   - gone, and etcd running: SIGTERM, then SIGKILL after 5 s, as kubelet stops a static pod whose file is removed.
// `hold(node)` stops restarts (while a test destroys the node's data); `release(node)` allows them again.
// Every process is started with setpriv --pdeathsig KILL and recorded with keepTrackOf, and stopped by pid.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { baseEnv, keepTrackOf, readManifest } from './live-cluster.js';

export interface RunnerNode {
  name: string;
  /** The directory that stands for the node's root: remote paths under remotePrefix land here. */
  root: string;
}

export interface ManifestRunnerOptions {
  nodes: RunnerNode[];
  /** etcd.manifestDir in cluster.json (under remotePrefix). */
  manifestDir: string;
  remotePrefix: string;
  /** etcd.certDir: the certificates are shared by every node, at their real path. */
  certDir: string;
  pollMs?: number;
  restartMs?: number;
}

interface NodeState {
  node: RunnerNode;
  child?: ChildProcess;
  /** Set while a stop is under way, so that the poll asks only once. */
  stopping?: Promise<void>;
  exitedAt: number;
  held: boolean;
  starts: number;
  log: string[];
}

export class ManifestRunner {
  private readonly states = new Map<string, NodeState>();
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly options: ManifestRunnerOptions) {
    for (const node of options.nodes) this.states.set(node.name, { node, exitedAt: 0, held: false, starts: 0, log: [] });
    this.timer = setInterval(() => this.tick(), options.pollMs ?? 200);
  }

  /** A remote path as it is on `node`. */
  onNode(node: string, remotePath: string): string {
    const state = this.state(node);
    if (!remotePath.startsWith(this.options.remotePrefix)) throw new Error(`${remotePath} is not under ${this.options.remotePrefix}`);
    return state.node.root + remotePath.slice(this.options.remotePrefix.length);
  }

  manifestPath(node: string): string {
    return join(this.onNode(node, this.options.manifestDir), 'etcd.manifest');
  }

  running(node: string): boolean {
    const child = this.state(node).child;
    return child !== undefined && child.exitCode === null && child.signalCode === null;
  }

  /** How many times etcd was started on `node`. */
  starts(node: string): number {
    return this.state(node).starts;
  }

  /** The last lines etcd printed on `node`, for failure messages. */
  log(node: string, lines = 12): string {
    return this.state(node).log.slice(-lines).join('\n');
  }

  hold(node: string): void {
    this.state(node).held = true;
  }

  release(node: string): void {
    this.state(node).held = false;
  }

  /** Kill etcd on `node` at once (SIGKILL): a crash, or a disk gone. */
  async kill(node: string): Promise<void> {
    await this.stopChild(this.state(node), 'SIGKILL');
  }

  /** Stop polling and stop every etcd started here. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    await Promise.all([...this.states.values()].map((state) => this.stopChild(state, 'SIGTERM')));
  }

  private state(node: string): NodeState {
    const state = this.states.get(node);
    if (!state) throw new Error(`no node ${node} in the manifest runner`);
    return state;
  }

  private tick(): void {
    for (const state of this.states.values()) {
      const present = existsSync(this.manifestPath(state.node.name));
      const alive = this.running(state.node.name);
      if (present && !alive && !state.held && Date.now() - state.exitedAt >= (this.options.restartMs ?? 1_000)) this.start(state);
      if (!present && alive) void this.stopChild(state, 'SIGTERM');
    }
  }

  private start(state: NodeState): void {
    const { name, root } = state.node;
    const { env } = readManifest(this.manifestPath(name), this.options.certDir);
    const onNode: Record<string, string> = {};
    for (const [key, value] of Object.entries(env)) onNode[key] = value.split(this.options.remotePrefix).join(root);
    const child = spawn('setpriv', ['--pdeathsig', 'KILL', '--', 'etcd'], { env: { ...baseEnv(), ...onNode }, cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    state.child = child;
    state.starts += 1;
    keepTrackOf(child);
    const keep = (chunk: string) => {
      state.log.push(...chunk.split('\n').filter((line) => line !== ''));
      if (state.log.length > 200) state.log.splice(0, state.log.length - 200);
    };
    child.stdout?.setEncoding('utf8').on('data', keep);
    child.stderr?.setEncoding('utf8').on('data', keep);
    child.on('exit', (code, signal) => {
      state.exitedAt = Date.now();
      keep(`[runner] etcd on ${name} (pid ${child.pid}) exited ${code !== null ? `with status ${code}` : `on ${signal}`}`);
    });
  }

  private async stopChild(state: NodeState, signal: 'SIGTERM' | 'SIGKILL'): Promise<void> {
    const child = state.child;
    if (!child || child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
    if (state.stopping && signal === 'SIGTERM') return state.stopping;
    const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    state.stopping = gone.then(() => {
      clearTimeout(timer);
      state.stopping = undefined;
    });
    return state.stopping;
  }
}
