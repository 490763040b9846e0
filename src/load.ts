// Stage 1 of 4: cluster.json text → a typed Cluster with every default filled in, or every problem at once.
//
// The happy path is JSON.parse and one ajv pass. Positions (line:column) are only worked out when there is
// something to report, by re-reading the text with momoa, which keeps them.
import { closeSync, constants, fstatSync, openSync, readFileSync, readSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { ErrorObject } from 'ajv/dist/2020.js';
import type { Cluster, Master } from './cluster.generated.js';
import type { JsonSchema } from './schema.js';
import { artifacts } from './artifacts.js';
import { unsafeReason } from './ssh-options.js';
import { canonicalIp, ipVersion, isLoopback, memberAddressProblem } from './address.js';
import { terminalSafe } from './safe-text.js';
import { etcdFindings } from './etcd-profile.js';
import { checkCalendarElapses, checkCalendarEvent } from './calendar.js';

export type Severity = 'error' | 'warning';

/** One thing wrong with cluster.json, where it is, and what would be right. */
export interface Problem {
  severity: Severity;
  /** The file as the user named it. */
  file: string;
  line: number;
  column: number;
  /** JSON pointer (RFC 6901) to the value; "" is the whole document. */
  pointer: string;
  message: string;
}

export type LoadResult =
  | { ok: true; cluster: Cluster; warnings: Problem[] }
  | { ok: false; problems: Problem[] };

/** A problem before it has a position: which value, and what is wrong with it. */
export interface Finding {
  severity: Severity;
  pointer: string;
  message: string;
  /** Point at the property's key rather than its value (an unknown property). */
  atKey?: boolean;
}

/** `cluster.json:14:13  /masters/1/ip  must be an IPv4 or IPv6 address` */
export function formatProblem(problem: Problem): string {
  const prefix = problem.severity === 'warning' ? 'warning: ' : '';
  // The file name comes from the command line and the message may quote cluster.json: neither may reach a terminal
  // as control characters.
  return terminalSafe(`${problem.file}:${problem.line}:${problem.column}  ${problem.pointer || '/'}  ${prefix}${problem.message}`);
}

/** The largest cluster.json read: a real one is a few KiB even with thousands of workers. */
export const maxInputBytes = 1024 * 1024;

/** The deepest nesting of objects and arrays allowed: a cluster.json needs three levels (/etcd/localListener). */
export const maxDepth = 64;

/**
 * Read and load a cluster file. `file` is used as given in every message; `now`, the command line's clock, as in
 * parseCluster.
 */
export function loadClusterFile(file: string, now?: Date): LoadResult {
  const problem = (message: string): LoadResult => ({ ok: false, problems: [{ severity: 'error', file, line: 1, column: 1, pointer: '', message }] });
  let bytes: Buffer;
  let fd: number | undefined;
  try {
    // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer, for ever. A regular file ignores it.
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
    const stat = fstatSync(fd);
    if (stat.isDirectory()) return problem('is a directory, not a file');
    if (!stat.isFile()) return problem('is not a regular file (a device, pipe or socket): give the path of a JSON file');
    if (stat.size > maxInputBytes) return problem(`is ${stat.size} bytes; a cluster description is at most ${maxInputBytes} bytes (1 MiB)`);
    // Read one byte more than allowed, in case the file grew since fstat.
    bytes = Buffer.alloc(Math.min(stat.size, maxInputBytes) + 1);
    let length = 0;
    for (let n; length < bytes.length && (n = readSync(fd, bytes, length, bytes.length - length, null)) > 0; ) length += n;
    if (length > maxInputBytes) return problem(`is more than ${maxInputBytes} bytes; a cluster description is at most 1 MiB`);
    bytes = bytes.subarray(0, length);
  } catch (error) {
    return problem(unreadable(error as NodeJS.ErrnoException));
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
  const encoding = otherEncoding(bytes);
  if (encoding) return problem(`is encoded as ${encoding}, not UTF-8: save it as UTF-8`);
  return parseCluster(bytes.toString('utf8'), file, now);
}

/**
 * UTF-16 or UTF-32 text (Windows editors save "Unicode" as UTF-16), told by its byte-order mark or, without one, by
 * the zero bytes that every ASCII character brings. Read as UTF-8 it is a stream of NULs and not JSON.
 */
function otherEncoding(bytes: Buffer): string | undefined {
  const [a, b, c, d] = bytes;
  if ((a === 0xff && b === 0xfe && c === 0 && d === 0) || (a === 0 && b === 0 && c === 0xfe && d === 0xff)) return 'UTF-32';
  if ((a === 0xff && b === 0xfe) || (a === 0xfe && b === 0xff)) return 'UTF-16';
  const head = bytes.subarray(0, 64);
  let zeros = 0;
  for (const byte of head) if (byte === 0) zeros++;
  if (head.length >= 2 && zeros * 4 >= head.length) return zeros * 4 >= head.length * 3 - 4 ? 'UTF-32' : 'UTF-16';
  return undefined;
}

function unreadable(error: NodeJS.ErrnoException): string {
  switch (error.code) {
    case 'ENOENT':
      return 'does not exist (give another file with --config)';
    case 'EISDIR':
      return 'is a directory, not a file';
    case 'ENOTDIR':
      return 'cannot be read: a part of its path is a file, not a directory';
    case 'EACCES':
    case 'EPERM':
      return 'cannot be read: permission denied';
    default:
      return `cannot be read (${error.code ?? error.message})`;
  }
}

/**
 * Parse, validate against the schema, then apply the rules a schema cannot say. Pure: the rules that depend on the
 * date (a backup.schedule that can no longer elapse) are judged against `now`, and skipped without it.
 */
export function parseCluster(text: string, file: string, now?: Date): LoadResult {
  // A byte-order mark is not JSON (RFC 8259 §8.1), but some editors add one to UTF-8 files. It is skipped, with a
  // warning, rather than refused: nothing about it is ambiguous.
  const bom = text.startsWith('\uFEFF');
  const body = bom ? text.slice(1) : text;
  const bomWarning: Problem[] = bom
    ? [{ severity: 'warning', file, line: 1, column: 1, pointer: '', message: 'starts with a byte-order mark, which JSON does not allow; it is ignored (save the file as UTF-8 without BOM)' }]
    : [];
  // Before anything recursive reads it (the syntax-error finder, the position finder): 200,000 '[' would exhaust
  // the stack, with no location in the message.
  const deep = tooDeep(body, file);
  if (deep) return { ok: false, problems: [...bomWarning, deep] };
  let document: unknown;
  try {
    document = JSON.parse(body);
  } catch {
    return { ok: false, problems: [...bomWarning, syntaxProblem(body, file)] };
  }
  // JSON.parse keeps the last of two equal keys without a word; a reviewer reading the first would be misled.
  const duplicates = duplicateKeys(body, file);
  const inFileOrder = (problems: Problem[]) =>
    [...bomWarning, ...problems, ...duplicates].sort((a, b) => a.line - b.line || a.column - b.column);
  if (typeof document !== 'object' || document === null || Array.isArray(document)) {
    const found = document === null ? 'null' : Array.isArray(document) ? 'an array' : `a ${typeof document}`;
    return {
      ok: false,
      problems: locate(body, file, [{ severity: 'error', pointer: '', message: `must be a JSON object describing the cluster (found ${found})` }]),
    };
  }
  // ajv's standalone code for schema/cluster.schema.json, with the options in src/precompile.ts.
  const { validate } = artifacts();
  if (!validate(document)) {
    // The rules still run, so that one run reports every problem; where the schema already found something wrong
    // with a value, the rules say nothing more about it.
    const schema = schemaFindings(validate.errors ?? []);
    const reported = new Set(schema.map((f) => f.pointer));
    const rules = clusterRules(document as Cluster).filter((f) => f.severity === 'error' && !reported.has(f.pointer));
    return { ok: false, problems: inFileOrder(locate(body, file, [...schema, ...rules])) };
  }
  const cluster = document as Cluster;
  const findings = [...clusterRules(cluster), ...(now ? scheduleElapseFindings(cluster.backup, now) : [])];
  const problems = findings.length ? locate(body, file, findings) : [];
  if (duplicates.length || problems.some((p) => p.severity === 'error')) return { ok: false, problems: inFileOrder(problems) };
  return { ok: true, cluster, warnings: [...bomWarning, ...problems] };
}

/**
 * Line and column (1-based) of UTF-16 offsets in one text: the start of every line found once, then a binary search
 * per offset, so that 50,000 findings cost 50,000 searches, not 50,000 scans of the text.
 */
function positions(text: string): (offset: number) => { line: number; column: number } {
  // As momoa counts, so that every message locates alike: UTF-16 units from 1; CR, LF and CRLF each end a line.
  const starts = [0];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x0a) starts.push(i + 1);
    else if (c === 0x0d) {
      if (text.charCodeAt(i + 1) === 0x0a) i++;
      starts.push(i + 1);
    }
  }
  return (offset) => {
    let low = 0;
    let high = starts.length - 1;
    while (low < high) {
      const mid = (low + high + 1) >> 1;
      if ((starts[mid] ?? 0) <= offset) low = mid;
      else high = mid - 1;
    }
    return { line: low + 1, column: offset - (starts[low] ?? 0) + 1 };
  };
}

/**
 * The first '[' or '{' nested deeper than maxDepth, as a located problem. Strings are skipped (a bracket in a string
 * is text); the scan is one pass without recursion, and works on text that is not valid JSON too.
 */
export function tooDeep(text: string, file: string): Problem | undefined {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      for (i++; i < text.length; i++) {
        const d = text.charCodeAt(i);
        if (d === 0x5c /* \ */) i++;
        else if (d === 0x22 || d === 0x0a) break;
      }
    } else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      if (++depth > maxDepth) {
        const at = positions(text)(i);
        return {
          severity: 'error', file, line: at.line, column: at.column, pointer: '',
          message: `nests objects and arrays more than ${maxDepth} levels deep here; a cluster description needs three (an unclosed '[' or '{'?)`,
        };
      }
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) depth = Math.max(0, depth - 1);
  }
  return undefined;
}

/**
 * Every key that stands twice in one object, located at its second appearance. Runs on text that JSON.parse has
 * accepted, so it only needs to tell strings, brackets and colons apart: one pass, no syntax tree.
 */
export function duplicateKeys(text: string, file: string): Problem[] {
  type Frame = { keys: Map<string, number> | undefined; key: string; index: number };
  const problems: Problem[] = [];
  const stack: Frame[] = [];
  let position: ReturnType<typeof positions> | undefined;
  const pointer = () => stack.map((f) => (f.keys ? escapePointer(f.key) : String(f.index))).join('/');
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      const start = i;
      let escaped = false;
      for (i++; i < text.length; i++) {
        const d = text.charCodeAt(i);
        if (d === 0x5c /* \ */) {
          escaped = true;
          i++;
        } else if (d === 0x22) break;
      }
      const frame = stack[stack.length - 1];
      if (!frame?.keys) continue;
      let j = i + 1;
      while (j < text.length && (text[j] === ' ' || text[j] === '\t' || text[j] === '\n' || text[j] === '\r')) j++;
      if (text[j] !== ':') continue;
      const raw = text.slice(start, i + 1);
      const key = escaped ? (JSON.parse(raw) as string) : raw.slice(1, -1);
      const earlier = frame.keys.get(key);
      frame.key = key;
      if (earlier !== undefined) {
        position ??= positions(text);
        const at = position(start);
        const first = position(earlier);
        problems.push({
          severity: 'error', file, line: at.line, column: at.column, pointer: `/${pointer()}`,
          message: `duplicate key "${key}" (first at ${first.line}:${first.column}): JSON silently keeps only the last, so a reader of the first is misled; keep one`,
        });
      } else frame.keys.set(key, start);
    } else if (c === 0x7b /* { */) stack.push({ keys: new Map(), key: '', index: 0 });
    else if (c === 0x5b /* [ */) stack.push({ keys: undefined, key: '', index: 0 });
    else if (c === 0x7d /* } */ || c === 0x5d /* ] */) stack.pop();
    else if (c === 0x2c /* , */) {
      const frame = stack[stack.length - 1];
      if (frame && !frame.keys) frame.index++;
    }
  }
  return problems;
}

function syntaxProblem(text: string, file: string): Problem {
  if (text.trim() === '') return { severity: 'error', file, line: 1, column: 1, pointer: '', message: 'is empty; it must be a JSON object describing the cluster' };
  const { line, column, reason } = jsonSyntaxError(text);
  return { severity: 'error', file, line, column, pointer: '', message: `is not valid JSON: ${reason}` };
}

// JSON.parse's message has no line and column on Node 20; momoa's does, and names the token.
function jsonSyntaxError(text: string): { line: number; column: number; reason: string } {
  try {
    momoaParse(text);
  } catch (error) {
    const e = error as { line?: number; column?: number; message: string };
    const reason = e.message.replace(/\s*\(\d+:\d+\)\s*$/, '').replace(/\.$/, '');
    if (/end of input/i.test(reason)) {
      // Point at the end of the text, where the missing part belongs.
      const lines = text.replace(/\s+$/, '').split('\n');
      return { line: lines.length, column: (lines[lines.length - 1] ?? '').length + 1, reason: explainToken(reason) };
    }
    return { line: e.line ?? 1, column: e.column ?? 1, reason: explainToken(reason) };
  }
  return { line: 1, column: 1, reason: 'unexpected input' };
}

function explainToken(reason: string): string {
  const names: Record<string, string> = {
    RBrace: "'}'", RBracket: "']'", Comma: "','", Colon: "':'", LBrace: "'{'", LBracket: "'['",
    String: 'string', Number: 'number', True: 'true', False: 'false', Null: 'null',
  };
  const token = /Unexpected token (\w+) found/.exec(reason)?.[1];
  if (token) {
    const what = `unexpected ${names[token] ?? token}`;
    if (token === 'RBrace' || token === 'RBracket') return `${what} (a trailing comma, or a missing value?)`;
    if (token in { String: 1, Number: 1, True: 1, False: 1, Null: 1, LBrace: 1, LBracket: 1 }) return `${what} (a missing ',' before it?)`;
    return what;
  }
  const character = /Unexpected character '(.+)' found/.exec(reason)?.[1];
  if (character === '/') return "unexpected '/' (JSON has no comments)";
  if (character === "'") return "unexpected \"'\" (JSON strings take double quotes)";
  if (character !== undefined) return `unexpected character ${JSON.stringify(character)}`;
  if (/end of input/i.test(reason)) return 'it ends too early (an unclosed \'{\', \'[\' or string?)';
  return reason.charAt(0).toLowerCase() + reason.slice(1);
}

// ---------------------------------------------------------------------------------------------------------------
// Schema errors → findings a person can act on.

function schemaFindings(errors: ErrorObject[]): Finding[] {
  const findings: Finding[] = [];
  const seen = new Set<string>();
  for (const error of errors) {
    // A discriminated oneOf reports the inner error already; its summary adds nothing.
    if (error.keyword === 'oneOf') continue;
    const finding = schemaFinding(error);
    const key = `${finding.pointer}\u0000${finding.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    findings.push(finding);
  }
  return findings;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') return value.length > 40 ? `a string of ${value.length} characters` : JSON.stringify(value);
  // JSON.parse reads 1e400 as Infinity: say what the file holds, not what it became.
  if (typeof value === 'number' && !Number.isFinite(value)) return `a ${value < 0 ? 'negative ' : ''}number too large to represent`;
  return `${typeof value} ${String(value)}`;
}

function schemaFinding(error: ErrorObject): Finding {
  const pointer = error.instancePath;
  const parentSchema = (error.parentSchema ?? {}) as JsonSchema;
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'required': {
      const missing = String(params['missingProperty']);
      const property = ((parentSchema['properties'] ?? {}) as Record<string, JsonSchema>)[missing];
      const what = typeof property?.['description'] === 'string' ? `: ${firstSentence(property['description'])}` : '';
      return { severity: 'error', pointer, message: `is missing the required property "${missing}"${what}` };
    }
    case 'additionalProperties': {
      const unknown = String(params['additionalProperty']);
      const known = Object.keys((parentSchema['properties'] ?? {}) as object);
      const guess = closest(unknown, known);
      const hint = guess ? `did you mean "${guess}"?` : `known properties: ${known.map((k) => `"${k}"`).join(', ')}`;
      return { severity: 'error', pointer: `${pointer}/${escapePointer(unknown)}`, message: `unknown property "${unknown}" (${hint})`, atKey: true };
    }
    case 'pattern': {
      const custom = parentSchema['patternMessage'];
      return { severity: 'error', pointer, message: `${typeof custom === 'string' ? custom : `must match ${String(params['pattern'])}`} (found ${describe(error.data)})` };
    }
    case 'type':
      return { severity: 'error', pointer, message: `must be ${article(String(params['type']))} (found ${describe(error.data)})` };
    case 'minimum':
    case 'maximum':
      return { severity: 'error', pointer, message: `must be ${rangeOf(parentSchema)} (found ${describe(error.data)})` };
    case 'enum':
      return { severity: 'error', pointer, message: `must be one of ${(params['allowedValues'] as unknown[]).map((v) => JSON.stringify(v)).join(', ')} (found ${describe(error.data)})` };
    case 'const':
      return { severity: 'error', pointer, message: `must be ${JSON.stringify(params['allowedValue'])} (found ${describe(error.data)})` };
    case 'discriminator': {
      const tag = String(params['tag']);
      const kinds = ((parentSchema['oneOf'] ?? []) as JsonSchema[]).map((s) => String(s['$ref'] ?? '').replace(/^#\/\$defs\/(\w+)Transport$/, '"$1"'));
      if (params['error'] === 'tag') return { severity: 'error', pointer, message: `is missing the required property "${tag}": one of ${kinds.join(', ')}` };
      return { severity: 'error', pointer: `${pointer}/${tag}`, message: `must be one of ${kinds.join(', ')} (found ${describe((error.data as Record<string, unknown>)[tag])})` };
    }
    case 'exclusiveMinimum':
      return { severity: 'error', pointer, message: `must be more than ${String(params['limit'])} (found ${describe(error.data)})` };
    case 'minItems':
      return { severity: 'error', pointer, message: `must have at least ${String(params['limit'])} item${params['limit'] === 1 ? '' : 's'}` };
    case 'maxItems': {
      const count = Array.isArray(error.data) ? error.data.length : undefined;
      if (pointer === '/masters') {
        return { severity: 'error', pointer, message: `lists ${count} masters; at most ${String(params['limit'])} are allowed (etcd advises at most seven members: every write waits for a majority of them)` };
      }
      return { severity: 'error', pointer, message: `must have at most ${String(params['limit'])} items (found ${count})` };
    }
    case 'maxLength':
      return { severity: 'error', pointer, message: `must be at most ${String(params['limit'])} characters (found ${describe(error.data)})` };
    default:
      return { severity: 'error', pointer, message: error.message ?? `fails ${error.keyword}` };
  }
}

function rangeOf(schema: JsonSchema): string {
  const min = schema['minimum'];
  const max = schema['maximum'];
  if (min === 1 && max === 65535) return 'a port number from 1 to 65535';
  return `from ${String(min ?? '-∞')} to ${String(max ?? '∞')}`;
}

function article(type: string): string {
  const names: Record<string, string> = { integer: 'a whole number', number: 'a number', string: 'a string', boolean: 'true or false', object: 'an object', array: 'an array', null: 'null' };
  return type.split(',').map((t) => names[t] ?? t).join(' or ');
}

function firstSentence(text: string): string {
  const end = text.search(/\.(\s|$)/);
  const sentence = end === -1 ? text : text.slice(0, end);
  return sentence.charAt(0).toLowerCase() + sentence.slice(1);
}

/** The known name nearest to a misspelt one, if it is near enough to be a typo. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  const lower = word.toLowerCase();
  // A longer or shorter form of a known name (dataDirectory for dataDir) is a guess worth offering.
  const stem = candidates.find((c) => c.length >= 3 && (lower.startsWith(c.toLowerCase()) || c.toLowerCase().startsWith(lower)) && lower.length >= 3);
  if (stem) return stem;
  for (const candidate of candidates) {
    const distance = editDistance(lower, candidate.toLowerCase());
    if (distance < bestDistance) [best, bestDistance] = [candidate, distance];
  }
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(best.length / 3)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution);
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

// ---------------------------------------------------------------------------------------------------------------
// The rules a schema cannot say.

export { canonicalIp } from './address.js';

/** A DNS name made of RFC 1123 labels, or an IP address. */
export function isHost(host: string): boolean {
  if (ipVersion(host)) return true;
  if (/^[0-9.]+$/.test(host) || host.includes(':')) return false;
  return host.split('.').every((label) => /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/.test(label));
}

/**
 * The rules a schema cannot say. They also run on a document the schema refused, so every value is checked for
 * its type before use.
 */
export function clusterRules(cluster: Cluster): Finding[] {
  const findings: Finding[] = [];
  const list = <T>(value: unknown): T[] => (Array.isArray(value) ? (value as T[]) : []);
  const text = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);
  const error = (pointer: string, message: string) => findings.push({ severity: 'error', pointer, message });

  const firstAt = (seen: Map<string, string>, key: string, pointer: string, what: string) => {
    const earlier = seen.get(key);
    if (earlier !== undefined) error(pointer, `${what} (also at ${earlier})`);
    else seen.set(key, pointer);
  };
  // One address has many spellings (fd00::1 and fd00:0::1; ::ffff:c0a8:380b and 192.168.56.11): compare them as one.
  const addressOnce = (seen: Map<string, string>, address: string, pointer: string, what: string) => {
    const earlier = seen.get(canonicalIp(address));
    const unusable = memberAddressProblem(address);
    if (unusable) error(pointer, `${unusable}${earlier !== undefined ? ` (that address is also at ${earlier})` : ''}`);
    else firstAt(seen, canonicalIp(address), pointer, `duplicate ${what} ${address}`);
  };

  // A name is both the etcd member name and the transport's address for the node, so it is unique over all nodes.
  const names = new Map<string, string>();
  const ips = new Map<string, string>();
  const hosts = new Map<string, string>();
  const masters = list<Partial<Record<keyof Master, unknown>>>(cluster.masters);
  masters.forEach((master, i) => {
    const at = `/masters/${i}`;
    const [name, ip, host] = [text(master?.name), text(master?.ip), text(master?.host)];
    if (name !== undefined) firstAt(names, name, `${at}/name`, `duplicate node name "${name}"`);
    if (ip !== undefined && !ipVersion(ip)) error(`${at}/ip`, `must be an IPv4 or IPv6 address (found ${JSON.stringify(ip)})`);
    else if (ip !== undefined) addressOnce(ips, ip, `${at}/ip`, 'master ip');
    if (host !== undefined && !isHost(host)) error(`${at}/host`, `must be a DNS name of RFC 1123 labels or an IP address (found ${JSON.stringify(host)})`);
    else if (host !== undefined && ipVersion(host)) addressOnce(hosts, host, `${at}/host`, 'master host');
    else if (host !== undefined) firstAt(hosts, host.toLowerCase(), `${at}/host`, `duplicate master host ${host}`);
  });
  // Membership (issue 12): a joining master names the other members by their names in masters; not every master leaves.
  masters.forEach((master, i) => {
    const own = text(master?.name);
    for (const field of ['joinedWith', 'rejoinedWith'] as const) {
      list<unknown>(master?.[field]).forEach((other, j) => {
        if (typeof other !== 'string') return;
        if (other === own) error(`/masters/${i}/${field}/${j}`, `names this master itself: list the other members the cluster has when ${own} joins (its own name is added to its initial cluster anyway)`);
        else if (!names.has(other)) error(`/masters/${i}/${field}/${j}`, `names no master of cluster.json ("${other}"): list the members by their names in masters`);
      });
    }
  });
  if (masters.length > 0 && masters.every((m) => Array.isArray(m?.joinedWith))) {
    error('/masters', 'gives every master joinedWith: a cluster is first bootstrapped by the masters without it (its founding members)');
  }
  if (masters.length > 0 && masters.every((m) => m?.removed === true)) {
    error('/masters', 'marks every master removed: an etcd cluster keeps at least one member (to retire the cluster, stop its pods by hand)');
  }
  // A member on a loopback address is reachable only from its own machine: fine when every member shares one
  // machine (a test cluster), never when some members are elsewhere.
  const ipTexts = masters.map((m) => text(m?.ip)).filter((ip): ip is string => ip !== undefined && ipVersion(ip) !== 0);
  if (ipTexts.some(isLoopback) && !ipTexts.every(isLoopback)) {
    masters.forEach((master, i) => {
      const ip = text(master?.ip);
      if (ip !== undefined && isLoopback(ip)) {
        findings.push({ severity: 'warning', pointer: `/masters/${i}/ip`, message: `is a loopback address, which only this master itself can reach, while other members are on other machines: give the master's address on the network its peers share` });
      }
    });
  }
  list<{ name?: unknown }>(cluster.workers).forEach((worker, i) => {
    const name = text(worker?.name);
    if (name !== undefined) firstAt(names, name, `/workers/${i}/name`, `duplicate node name "${name}"`);
  });

  const etcd = (cluster.etcd ?? {}) as Partial<Cluster['etcd']>;
  if (typeof etcd.clientPort === 'number' && etcd.clientPort === etcd.peerPort) {
    error('/etcd/peerPort', `must differ from clientPort: etcd cannot serve peers and clients on one port (both are ${etcd.peerPort})`);
  }
  // The image, its etcd version, the profile and the overrides (src/etcd-profile.ts).
  findings.push(...etcdFindings(cluster.etcd, cluster.verify));

  // Each file is staged under its own name in the remote home directory and lands in certDir under that name.
  const tls = (cluster.tls ?? {}) as Partial<Cluster['tls']>;
  const staged = new Map<string, string>([['etcd.manifest', 'the manifest']]);
  for (const key of ['ca', 'cert', 'key'] as const) {
    const path = text(tls[key]);
    if (path === undefined) continue;
    const base = path.slice(path.lastIndexOf('/') + 1);
    const clash = staged.get(base);
    if (clash) error(`/tls/${key}`, `has the file name "${base}", as ${clash} does: the files land side by side in etcd.certDir, so their names must differ`);
    else staged.set(base, `tls.${key}`);
  }

  findings.push(...sshOptionFindings(cluster.transport));
  findings.push(...scheduleFindings(cluster.backup));

  // etcd's FAQ: an odd number of members tolerates as many failures as the next even number, and more than seven
  // slows every write (https://etcd.io/docs/v3.5/faq/#why-an-odd-number-of-cluster-members).
  const count = masters.length;
  if (count % 2 === 0) {
    findings.push({ severity: 'warning', pointer: '/masters', message: `${count} masters tolerate no more failures than ${count - 1}; etcd advises an odd number` });
  }
  if (count > 7) {
    findings.push({ severity: 'warning', pointer: '/masters', message: `${count} masters: etcd advises at most seven; every write waits for a majority` });
  }
  return findings;
}

/**
 * backup.schedule is systemd's to read, on the machine that runs out/etcd-backup.timer: read here as systemd reads
 * it (src/calendar.ts), so that a schedule it would refuse is found now, not by the timer failing to start there.
 */
function scheduleFindings(backup: unknown): Finding[] {
  const schedule = typeof backup === 'object' && backup !== null ? (backup as Record<string, unknown>)['schedule'] : undefined;
  if (typeof schedule !== 'string') return [];
  const verdict = checkCalendarEvent(schedule);
  if (verdict.ok) return [];
  const where = `at character ${verdict.at + 1} of ${JSON.stringify(schedule)}`;
  const examples = 'e.g. daily, Mon..Fri *-*-* 02:30, *-*-1,15 03:00:00 UTC';
  const message = verdict.unsupported
    ? `is a systemd calendar event that etcd-bootstrap does not take: it ${verdict.reason} (${where}; ${examples})`
    : `must be a systemd calendar event (OnCalendar=, man systemd.time): it ${verdict.reason} (${where}; ${examples})`;
  return [{ severity: 'error', pointer: '/backup/schedule', message }];
}

/**
 * A schedule systemd accepts but that can no longer elapse (*-02-30, a year gone by) starts a timer that never runs
 * a backup, and systemd says so only in `systemctl list-timers` ("n/a"). A warning, not an error: systemd takes it.
 */
function scheduleElapseFindings(backup: unknown, now: Date): Finding[] {
  const schedule = typeof backup === 'object' && backup !== null ? (backup as Record<string, unknown>)['schedule'] : undefined;
  if (typeof schedule !== 'string') return [];
  const verdict = checkCalendarElapses(schedule, now);
  if (verdict.ever) return [];
  return [{ severity: 'warning', pointer: '/backup/schedule', message: `never elapses, so etcd-backup.timer would never run a backup: ${verdict.reason} (systemd-analyze calendar '${schedule}' says "Next elapse: never")` }];
}

/**
 * transport.options takes only the ssh options known to be harmless (src/ssh-options.ts); any other must be moved
 * to transport.unsafeOptions, so that a reviewer of cluster.json sees that it can run commands on the operator's
 * machine or weaken host-key checking. Each unsafe option in use is a warning on every run.
 */
function sshOptionFindings(transport: unknown): Finding[] {
  const ssh = (typeof transport === 'object' && transport !== null ? transport : {}) as Record<string, unknown>;
  if (ssh['kind'] !== 'ssh') return [];
  const strings = (value: unknown) => (Array.isArray(value) ? value : []).map((item, i) => [item, i] as const).filter((e): e is readonly [string, number] => typeof e[0] === 'string');
  const findings: Finding[] = [];
  for (const [option, i] of strings(ssh['options'])) {
    const reason = unsafeReason(option);
    if (reason === undefined) continue;
    findings.push({
      severity: 'error',
      pointer: `/transport/options/${i}`,
      message: `${JSON.stringify(option)} ${reason}; only options known to be harmless go in transport.options: to pass it anyway, move it to transport.unsafeOptions ("unsafeOptions": [${JSON.stringify(option)}])`,
    });
  }
  for (const [option, i] of strings(ssh['unsafeOptions'])) {
    findings.push({
      severity: 'warning',
      pointer: `/transport/unsafeOptions/${i}`,
      message: `passes the unsafe ssh option ${JSON.stringify(option)} to every ssh call${unsafeReason(option) === undefined ? ' (it is harmless: it can go in transport.options)' : ''}; every script names it in its header`,
    });
  }
  return findings;
}

// ---------------------------------------------------------------------------------------------------------------
// Positions.

type MomoaNode = {
  type: string;
  loc: { start: { line: number; column: number } };
  members?: { name: MomoaNode & { value?: string }; value: MomoaNode }[];
  elements?: { value: MomoaNode }[];
  body?: MomoaNode;
};

// momoa keeps positions; it is only needed when there is something to report, so it is required on first use
// rather than imported: a clean run does not pay for loading it.
const requireFromHere = createRequire(import.meta.url);
function momoaParse(text: string): MomoaNode {
  const momoa = requireFromHere('@humanwhocodes/momoa') as typeof import('@humanwhocodes/momoa');
  return momoa.parse(text, { mode: 'json' }) as unknown as MomoaNode;
}

function escapePointer(segment: string): string {
  return segment.replace(/~/g, '~0').replace(/\//g, '~1');
}

function unescapePointer(segment: string): string {
  return segment.replace(/~1/g, '/').replace(/~0/g, '~');
}

/**
 * Findings made after loading (against the out/ being replaced, say), located in the file the way loading locates
 * its own. The file has loaded, so it is readable and valid JSON.
 */
export function locateInFile(file: string, findings: Finding[]): Problem[] {
  const text = readFileSync(file, 'utf8');
  return locate(text.startsWith('\uFEFF') ? text.slice(1) : text, file, findings);
}

/**
 * Attach line and column to each finding, walking the document along the pointer: at the value the pointer names, or
 * at its member name (`atKey`); where the document has no such value, at the nearest value it has on the way. The
 * text is valid JSON (JSON.parse accepted it), so one scan that skips what is off the path finds the place, with no
 * syntax tree: a cluster of thousands of workers is located in a fraction of the time a full parse takes.
 */
function locate(text: string, file: string, findings: Finding[]): Problem[] {
  const position = positions(text);
  const located = findings.map((finding) => {
    const segments = finding.pointer === '' ? [] : finding.pointer.slice(1).split('/').map(unescapePointer);
    const { node, key } = offsetsAt(text, segments);
    const at = position(finding.atKey && key !== undefined ? key : node);
    return { severity: finding.severity, file, line: at.line, column: at.column, pointer: finding.pointer, message: finding.message };
  });
  // In the order a person reads the file.
  return located.sort((a, b) => a.line - b.line || a.column - b.column);
}

const isSpace = (c: number) => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;

function skipSpace(text: string, i: number): number {
  while (i < text.length && isSpace(text.charCodeAt(i))) i++;
  return i;
}

/** The offset just past the string that starts at i (at its opening quote). */
function skipString(text: string, i: number): number {
  for (i++; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x5c /* \ */) i++;
    else if (c === 0x22 /* " */) return i + 1;
  }
  return i;
}

/** The offset just past the JSON value that starts at i. */
function skipValue(text: string, i: number): number {
  const c = text.charCodeAt(i);
  if (c === 0x22) return skipString(text, i);
  if (c !== 0x7b /* { */ && c !== 0x5b /* [ */) {
    while (i < text.length && !isSpace(text.charCodeAt(i)) && !',}]'.includes(text[i]!)) i++;
    return i;
  }
  let depth = 0;
  for (; i < text.length; i++) {
    const d = text.charCodeAt(i);
    if (d === 0x22) i = skipString(text, i) - 1;
    else if (d === 0x7b || d === 0x5b) depth++;
    else if ((d === 0x7d || d === 0x5d) && --depth === 0) return i + 1;
  }
  return i;
}

/**
 * In valid JSON text, where the value at the pointer `segments` starts (`node`) and where its member name starts
 * (`key`, when the last step was a member of an object). A step the document lacks ends the walk: `node` is then the
 * last value found, and there is no `key`. Of equal keys, the last counts (JSON.parse keeps the last one's value).
 */
export function offsetsAt(text: string, segments: readonly string[]): { node: number; key: number | undefined } {
  let node = skipSpace(text, 0);
  let key: number | undefined;
  for (const segment of segments) {
    key = undefined;
    const c = text.charCodeAt(node);
    let found: { key: number | undefined; value: number } | undefined;
    if (c === 0x7b /* { */) {
      let i = skipSpace(text, node + 1);
      while (text.charCodeAt(i) === 0x22) {
        const keyEnd = skipString(text, i);
        const raw = text.slice(i + 1, keyEnd - 1);
        const name = raw.includes('\\') ? (JSON.parse(text.slice(i, keyEnd)) as string) : raw;
        const value = skipSpace(text, skipSpace(text, keyEnd) + 1);
        if (name === segment) found = { key: i, value };
        i = skipSpace(text, skipValue(text, value));
        if (text.charCodeAt(i) !== 0x2c /* , */) break;
        i = skipSpace(text, i + 1);
      }
    } else if (c === 0x5b /* [ */) {
      // As a syntax tree's elements[Number(segment)]: "" is 0, "1.0" is 1, "-1" and "x" are none.
      const index = Number(segment);
      let i = skipSpace(text, node + 1);
      if (Number.isInteger(index) && index >= 0 && text.charCodeAt(i) !== 0x5d /* ] */) {
        for (let n = 0; ; n++) {
          if (n === index) {
            found = { key: undefined, value: i };
            break;
          }
          i = skipSpace(text, skipValue(text, i));
          if (text.charCodeAt(i) !== 0x2c) break;
          i = skipSpace(text, i + 1);
        }
      }
    }
    if (!found) break;
    key = found.key;
    node = found.value;
  }
  return { node, key };
}

