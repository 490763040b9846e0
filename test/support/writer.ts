// A client that writes a new key every 50 ms to the cluster throughout a test, to every client URL in turn, through
// etcd's JSON gateway (POST /v3/kv/put over HTTPS with the client certificate, on kept-alive connections, so that a
// write every 50 ms costs no process). Like etcd's own client given every endpoint, a write that cannot reach its
// member (connection refused or reset) goes to the next one; one that reached a member and failed there, or took
// more than 2 s, counts as failed. What it counts: attempts and acknowledged writes per phase, and
// the longest run of time in which no write succeeded (the cluster held without quorum, as a client sees it).
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:https';

export interface PhaseStats {
  phase: string;
  attempts: number;
  acknowledged: number;
  /** The longest time, in ms, between two acknowledged writes within the phase. */
  longestGapMs: number;
}

export class Writer {
  /** Every acknowledged write: key → value. */
  readonly acknowledged = new Map<string, string>();
  private readonly agents: Agent[];
  private timer: NodeJS.Timeout | undefined;
  private sequence = 0;
  private current: PhaseStats & { lastAckAt: number };
  private readonly done: PhaseStats[] = [];
  private inFlight = new Set<Promise<void>>();

  constructor(
    private urls: string[],
    tls: { ca: string; cert: string; key: string },
    private readonly prefix = 'writer/',
  ) {
    const options = { ca: readFileSync(tls.ca), cert: readFileSync(tls.cert), key: readFileSync(tls.key), keepAlive: true, maxSockets: 4 };
    this.agents = [new Agent(options)];
    this.current = { phase: 'start', attempts: 0, acknowledged: 0, longestGapMs: 0, lastAckAt: Date.now() };
  }

  /** The endpoints to write to from now on (members come and go). */
  setUrls(urls: string[]): void {
    this.urls = urls;
  }

  start(): void {
    this.timer = setInterval(() => this.writeOne(), 50);
  }

  /** Ends the current phase, returning its numbers (under the name it began with), and begins one called `name`. */
  phase(name: string): PhaseStats {
    const now = Date.now();
    const ended = { ...this.current, longestGapMs: Math.max(this.current.longestGapMs, now - this.current.lastAckAt) };
    const { lastAckAt: _, ...stats } = ended;
    this.done.push(stats);
    this.current = { phase: name, attempts: 0, acknowledged: 0, longestGapMs: 0, lastAckAt: now };
    return stats;
  }

  phases(): PhaseStats[] {
    return [...this.done];
  }

  async stop(): Promise<PhaseStats> {
    if (this.timer) clearInterval(this.timer);
    await Promise.all([...this.inFlight]);
    const last = this.phase('stopped');
    for (const agent of this.agents) agent.destroy();
    return last;
  }

  private writeOne(): void {
    const n = this.sequence++;
    if (!this.urls.length) return;
    const key = `${this.prefix}${String(n).padStart(6, '0')}`;
    const value = `value-${n}`;
    const stats = this.current;
    stats.attempts++;
    const body = JSON.stringify({ key: Buffer.from(key).toString('base64'), value: Buffer.from(value).toString('base64') });
    const started = Date.now();
    const attempt = (tries: number): Promise<boolean> =>
      new Promise<'ok' | 'failed' | 'unreachable'>((resolve) => {
        const url = this.urls[(n + tries) % this.urls.length];
        const req = request(`${url}/v3/kv/put`, { method: 'POST', agent: this.agents[0], timeout: 2_000 - (Date.now() - started), headers: { 'content-type': 'application/json' } }, (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (text += c));
          res.on('end', () => resolve(res.statusCode === 200 && text.includes('"header"') ? 'ok' : 'failed'));
          res.on('error', () => resolve('failed'));
        });
        req.on('timeout', () => req.destroy(new Error('timeout')));
        req.on('error', (error: NodeJS.ErrnoException) => resolve(['ECONNREFUSED', 'ECONNRESET'].includes(error.code ?? '') ? 'unreachable' : 'failed'));
        req.end(body);
      }).then((result) => (result === 'unreachable' && tries + 1 < this.urls.length && Date.now() - started < 2_000 ? attempt(tries + 1) : result === 'ok'));
    const done = attempt(0).then((ok) => {
      if (!ok) return;
      this.acknowledged.set(key, value);
      const now = Date.now();
      stats.acknowledged++;
      stats.longestGapMs = Math.max(stats.longestGapMs, now - stats.lastAckAt);
      stats.lastAckAt = now;
    });
    this.inFlight.add(done);
    void done.then(() => this.inFlight.delete(done));
  }
}

/** "84/85 writes (98.8%), longest gap 0.4 s" */
export function describe(stats: PhaseStats): string {
  const rate = stats.attempts ? (100 * stats.acknowledged) / stats.attempts : 100;
  return `${stats.phase}: ${stats.acknowledged}/${stats.attempts} writes acknowledged (${rate.toFixed(1)}%), longest time without an acknowledged write ${(stats.longestGapMs / 1000).toFixed(2)} s`;
}

export function successRate(stats: PhaseStats): number {
  return stats.attempts ? stats.acknowledged / stats.attempts : 1;
}

/** Writes `count` keys PREFIXnnnnnn = seed-nnnnnn through the JSON gateway, 20 at a time; returns them. */
export async function seedKeys(url: string, tls: { ca: string; cert: string; key: string }, count: number, prefix = 'seed/'): Promise<Map<string, string>> {
  const agent = new Agent({ ca: readFileSync(tls.ca), cert: readFileSync(tls.cert), key: readFileSync(tls.key), keepAlive: true, maxSockets: 20 });
  const keys = new Map<string, string>();
  const put = (n: number) =>
    new Promise<void>((resolve, reject) => {
      const key = `${prefix}${String(n).padStart(6, '0')}`;
      const value = `seed-${n}`;
      const req = request(`${url}/v3/kv/put`, { method: 'POST', agent, timeout: 10_000 }, (res) => {
        res.resume();
        res.on('end', () => (res.statusCode === 200 ? (keys.set(key, value), resolve()) : reject(new Error(`put ${key}: HTTP ${res.statusCode}`))));
      });
      req.on('error', reject);
      req.end(JSON.stringify({ key: Buffer.from(key).toString('base64'), value: Buffer.from(value).toString('base64') }));
    });
  for (let n = 0; n < count; n += 20) await Promise.all(Array.from({ length: Math.min(20, count - n) }, (_, i) => put(n + i)));
  agent.destroy();
  return keys;
}
