// etcd's v3 HTTP gateway (JSON over the client port, https with the client certificate): thousands of keys written
// and read back in a second or two, with no etcdctl process per key. Keys and values travel base64-encoded, as the
// gateway's JSON mapping of the gRPC API wants them.
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:https';

const b64 = (text: string) => Buffer.from(text).toString('base64');
const unb64 = (text: string) => Buffer.from(text, 'base64').toString();

/** The value a test writes for key number i under a prefix, and the key itself: known, so that a read can check both. */
export const valueOf = (prefix: string, i: number) => `value of ${prefix}${i} ${'x'.repeat(i % 37)}`;
export const keyOf = (prefix: string, i: number) => `${prefix}${String(i).padStart(5, '0')}`;

export class Gateway {
  private readonly agent: Agent;

  /** `clientUrl`: a member's https client URL; `tls`: the CA, client certificate and key files. */
  constructor(
    private readonly clientUrl: string,
    tls: { ca: string; cert: string; key: string },
  ) {
    this.agent = new Agent({ keepAlive: true, ca: readFileSync(tls.ca), cert: readFileSync(tls.cert), key: readFileSync(tls.key) });
  }

  post(path: string, body: unknown): Promise<Record<string, unknown>> {
    const url = new URL(path, this.clientUrl);
    const payload = JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = request(
        url,
        { method: 'POST', agent: this.agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }, timeout: 10_000 },
        (res) => {
          let text = '';
          res.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
          res.on('end', () => (res.statusCode === 200 ? resolve(JSON.parse(text) as Record<string, unknown>) : reject(new Error(`${url.href}: HTTP ${res.statusCode}: ${text}`))));
        },
      );
      req.on('timeout', () => req.destroy(new Error(`${url.href}: no answer within 10 s`)));
      req.on('error', reject);
      req.end(payload);
    });
  }

  async put(key: string, value: string): Promise<void> {
    await this.post('/v3/kv/put', { key: b64(key), value: b64(value) });
  }

  /** `count` keys under `prefix` with their known values (keyOf, valueOf), 100 to a transaction. */
  async putKeys(prefix: string, count: number): Promise<void> {
    for (let start = 0; start < count; start += 100) {
      const success = [];
      for (let i = start; i < Math.min(count, start + 100); i++) success.push({ request_put: { key: b64(keyOf(prefix, i)), value: b64(valueOf(prefix, i)) } });
      await this.post('/v3/kv/txn', { success });
    }
  }

  /** Every key under `prefix` with its value, and the revision of the read. */
  async range(prefix: string): Promise<{ revision: number; kvs: Map<string, string> }> {
    const end = prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);
    const answer = await this.post('/v3/kv/range', { key: b64(prefix), range_end: b64(end) });
    const kvs = new Map<string, string>();
    for (const kv of (answer['kvs'] as { key: string; value?: string }[] | undefined) ?? []) kvs.set(unb64(kv.key), unb64(kv.value ?? ''));
    return { revision: Number((answer['header'] as { revision?: string }).revision ?? 0), kvs };
  }

  close(): void {
    this.agent.destroy();
  }
}
