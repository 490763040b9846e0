// No injection: every string field of cluster.json, set to each hostile value, is either refused by generate
// with a located error at that field, or reaches scripts that run (against the stand-in transport) without
// running anything the value says. A CANARY file that a value would `touch` never appears.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { readSchema, type JsonSchema } from '../src/schema.js';
import { tempDir, writeFile } from './support/fixtures.js';
import { requireTools } from './support/tools.js';
import { MASTERS, NODES, calls, makeWorld, remoteLog, runScript, type ClusterDoc, type World } from './support/transport.js';

interface Field {
  pointer: string;
  /** The transport kind the field belongs to, for a field of one transport's settings. */
  transport?: string;
  /** The $defs entry it is an instance of, if any (remotePath: a directory on the masters). */
  def?: string;
  set: (cluster: ClusterDoc, value: string) => void;
}

/**
 * Every string field of cluster.json, read from the schema, so that a field added later is covered without
 * editing this file: each property whose schema is a string (by type, enum or const), through $ref, arrays
 * (element 1 of masters and workers, so that the index counts; element 0 elsewhere) and each transport kind.
 */
function stringFields(schema: JsonSchema): Field[] {
  const defs = (schema['$defs'] ?? {}) as Record<string, JsonSchema>;
  const found = new Map<string, Field>();
  const isString = (node: JsonSchema) =>
    node['type'] === 'string' || typeof node['const'] === 'string' || (Array.isArray(node['enum']) && node['enum'].every((v) => typeof v === 'string'));
  const walk = (node: JsonSchema, path: (string | number)[], transport: string | undefined, def: string | undefined, seen: Set<string>) => {
    const ref = typeof node['$ref'] === 'string' ? node['$ref'].replace(/^#\/\$defs\//, '') : undefined;
    if (ref !== undefined) {
      if (seen.has(ref)) return;
      walk({ ...defs[ref], ...node, $ref: undefined }, path, transport, ref, new Set([...seen, ref]));
      return;
    }
    if (isString(node) && path.length > 0) {
      const pointer = `/${path.map((p) => String(p).replace(/~/g, '~0').replace(/\//g, '~1')).join('/')}`;
      // transport.kind picks the transport rather than belonging to one.
      const of = path[0] === 'transport' && path[1] === 'kind' ? undefined : transport;
      if (!found.has(pointer)) found.set(pointer, { pointer, ...(of ? { transport: of } : {}), ...(def ? { def } : {}), set: setter(path, of) });
    }
    for (const [key, child] of Object.entries((node['properties'] ?? {}) as Record<string, JsonSchema>)) walk(child, [...path, key], transport, undefined, seen);
    if (node['items']) walk(node['items'] as JsonSchema, [...path, path[0] === 'masters' || path[0] === 'workers' ? 1 : 0], transport, undefined, seen);
    for (const variant of (node['oneOf'] ?? []) as JsonSchema[]) {
      const target = typeof variant['$ref'] === 'string' ? defs[variant['$ref'].replace(/^#\/\$defs\//, '')] ?? variant : variant;
      const kind = ((target['properties'] ?? {}) as Record<string, JsonSchema>)['kind']?.['const'];
      walk(variant, path, typeof kind === 'string' ? kind : transport, undefined, seen);
    }
  };
  walk(schema, [], undefined, undefined, new Set());
  return [...found.values()];
}

/** Sets the value at path, creating what is missing; a field of one transport's settings selects that transport. */
function setter(path: (string | number)[], transport: string | undefined): (cluster: ClusterDoc, value: string) => void {
  return (cluster, value) => {
    if (transport && path[0] === 'transport' && path[1] !== 'kind') cluster['transport'] = { kind: transport };
    let node = cluster as unknown as Record<string | number, unknown>;
    path.forEach((key, i) => {
      if (i === path.length - 1) node[key] = value;
      else node = (node[key] ??= typeof path[i + 1] === 'number' ? [] : {}) as Record<string | number, unknown>;
    });
  };
}

const fields = stringFields(readSchema());

/** The fields the issue names: the schema walk must find at least these. */
const named = [
  '/masters/1/name', '/masters/1/ip', '/masters/1/host', '/workers/1/name',
  '/etcd/image', '/etcd/clusterToken', '/etcd/dataDir', '/etcd/certDir', '/etcd/manifestDir',
  '/tls/ca', '/tls/cert', '/tls/key', '/etcd/localListener/address', '/transport/kind', '/$schema',
];

const canaryDir = tempDir('injection');
const CANARY = join(canaryDir.path, 'CANARY');

const payloads: { label: string; value: string }[] = [
  { label: '$(touch CANARY)', value: `$(touch ${CANARY})` },
  { label: '`touch CANARY`', value: `\`touch ${CANARY}\`` },
  { label: "'", value: "'" },
  { label: '"', value: '"' },
  { label: "';touch CANARY;'", value: `';touch ${CANARY};'` },
  { label: '";touch CANARY;"', value: `";touch ${CANARY};"` },
  { label: ';touch CANARY', value: `;touch ${CANARY}` },
  { label: 'newline, touch CANARY', value: `\ntouch ${CANARY}` },
  { label: '\\', value: '\\' },
  { label: 'leading -', value: '-rf' },
  { label: 'spaces', value: 'a b' },
  { label: 'non-ASCII', value: 'mäster' },
  { label: '10,000 characters', value: 'a'.repeat(10_000) },
];

const SCRIPTS = ['ntp.sh', 'distribute.sh', 'preflight.sh', 'verify.sh'];
const short = (value: string) => (value.length > 60 ? `${JSON.stringify(value.slice(0, 40))}… (${value.length} characters)` : JSON.stringify(value));

function assertNoCanary(what: string): void {
  if (!existsSync(CANARY)) return;
  rmSync(CANARY, { force: true });
  assert.unreachable(`${what}: ${CANARY} appeared: a value was run as a command`);
}

/** A refusal: exit 1, a located error `FILE:LINE:COL  POINTER  …` whose LINE:COL is where the value stands, out/ not written. */
function assertRefused(world: World, field: Field, value: string, run: { code: number; err: string[] }, what: string): void {
  const said = run.err.join('\n');
  assert.is(run.code, 1, `${what}: expected generate to exit 1 (refused) or 0 (accepted); got ${run.code}:\n${said}`);
  const text = readFileSync(world.config, 'utf8');
  const prefix = `${world.config}:`;
  const lines = said.split('\n');
  // Nothing in the value may break the report into lines of its own: each line is a located problem or the summary.
  for (const line of lines) {
    const ok = line.startsWith(prefix) ? /^:\d+:\d+ {2}\/\S* {2}\S/.test(line.slice(prefix.length - 1)) : /^\d+ errors? in /.test(line);
    assert.ok(ok, `${what}: expected each stderr line to be "FILE:LINE:COL  /pointer  message" or the summary; got the line ${JSON.stringify(line.slice(0, 200))} in:\n${said}`);
  }
  const located = lines
    .filter((line) => line.startsWith(prefix))
    .map((line) => /^:(\d+):(\d+) {2}(\S+) {2}/.exec(line.slice(prefix.length - 1)))
    .filter((m): m is RegExpExecArray => m !== null && m[3] === field.pointer);
  assert.ok(located.length > 0, `${what}: expected an error at ${field.pointer} ("${world.config}:LINE:COL  ${field.pointer}  …"); stderr:\n${said}`);
  const [, line, column] = located[0]!;
  const at = (text.split('\n')[Number(line) - 1] ?? '').slice(Number(column) - 1);
  const written = JSON.stringify(value).slice(0, 40);
  assert.ok(at.startsWith(written), `${what}: expected ${line}:${column} to point at the value ${written}…; the file there reads ${JSON.stringify(at.slice(0, 60))}`);
  assert.not.ok(existsSync(world.out), `${what}: refused, yet ${world.out} was written`);
}

/** An acceptance: every script passes bash -n; each runs against the stand-ins, unless it would touch this machine. */
function runAccepted(world: World, field: Field, value: string, what: string): { ran: string[]; checkedOnly: string[] } {
  const ran: string[] = [];
  const checkedOnly: string[] = [];
  for (const script of SCRIPTS) {
    const syntax = spawnSync('bash', ['-n', join(world.out, script)], { encoding: 'utf8' });
    assert.is(syntax.status, 0, `${what}: expected bash -n out/${script} to pass:\n${syntax.stderr}`);
  }
  assertNoCanary(`${what}, bash -n`);
  for (const script of SCRIPTS) {
    // distribute.sh creates etcd's directories as root (the stand-in sudo is the test's user, root in CI): only
    // under <dir>/remote/, which the stand-in maps onto the fake hosts.
    if (script === 'distribute.sh' && field.def === 'remotePath' && !value.startsWith(`${world.dir}/remote/`)) {
      checkedOnly.push(script);
      continue;
    }
    // The stand-ins are a vagrant and an ssh (first on PATH): a script of either transport reaches only the fake hosts.
    if (field.transport && field.transport !== 'vagrant' && field.transport !== 'ssh') {
      checkedOnly.push(script);
      continue;
    }
    const run = runScript(world, script);
    assertNoCanary(`${what}, out/${script}`);
    if (script === 'verify.sh') {
      // Through to the end: the verdict is its last word, whichever it is.
      assert.ok(/\nOK: \d+ members/.test(run.stdout) || /The cluster is not as cluster\.json says/.test(run.stderr), `${what}: expected verify.sh to run through to its verdict:\n${run.shown}`);
    } else if (script === 'preflight.sh') {
      // The world's certificates are dummies, so the certificate checks fail (exit 1); every node's checks run and pass.
      assert.match(run.stdout, /\nsummary: (\d+) of \1 hosts succeeded/, `${what}: expected preflight.sh to check every node, each passing:\n${run.shown}`);
    } else {
      assert.is(run.status, 0, `${what}: expected out/${script} to succeed against the stand-in transport:\n${run.shown}`);
    }
    ran.push(script);
  }
  // backup.sh and restore.sh replace data, so they run as dry runs: each still reads every value and prints every
  // command, and reaches no node. restore.sh reads its snapshot with --snapshot-tool, here `true`.
  const snapshot = writeFile(join(world.dir, 'snapshots', 'snapshot.db'), 'not a real snapshot\n');
  writeFile(join(world.dir, 'snapshots', 'snapshot.sha256'), `${createHash('sha256').update('not a real snapshot\n').digest('hex')}  snapshot.db\n`);
  for (const [script, args] of [['backup.sh', ['--dry-run']], ['restore.sh', [snapshot, '--dry-run', '--snapshot-tool', 'true']]] as const) {
    const syntax = spawnSync('bash', ['-n', join(world.out, script)], { encoding: 'utf8' });
    assert.is(syntax.status, 0, `${what}: expected bash -n out/${script} to pass:\n${syntax.stderr}`);
    const run = runScript(world, script, {}, [...args]);
    assertNoCanary(`${what}, out/${script} ${args.join(' ')}`);
    assert.is(run.status, 0, `${what}: expected out/${script} ${args.join(' ')} to succeed:\n${run.shown}`);
    ran.push(`${script} --dry-run`);
  }
  return { ran, checkedOnly };
}

/**
 * The transport is handed every node name as one argv word, `vagrant ssh NAME -- bash -euo pipefail -s`, and that
 * is the only call there is: files travel inside the script, never by `vagrant scp`.
 */
function assertArgv(world: World, what: string): void {
  const recorded = calls(world).map((c) => [c.tool, ...c.argv]);
  const shown = recorded.map((argv) => JSON.stringify(argv)).join('\n');
  // ntp.sh and preflight.sh: every node once; distribute.sh: each master once; verify.sh: the first master, to
  // reach it, then to run etcdctl twice. Hosts run in parallel, so in any order.
  const expected = [...NODES, ...NODES, ...MASTERS, MASTERS[0]!, MASTERS[0]!, MASTERS[0]!].map((node) => ['vagrant', 'ssh', node, '--', 'bash', '-euo', 'pipefail', '-s']);
  const order = (list: string[][]) => list.map((argv) => JSON.stringify(argv)).sort();
  assert.equal(order(recorded), order(expected), `${what}: the stand-in's calls, each name one argv word, no scp; recorded:\n${shown}`);
  const docker = remoteLog(world).filter(([, word]) => word === 'docker');
  assert.is(docker.length, 2, `${what}: verify.sh ran etcdctl in docker twice (member list, endpoint health)`);
  for (const words of docker) assert.ok(words.includes('quay.io/coreos/etcd:v3.3.5'), `${what}: the image is one word of docker's argv: ${JSON.stringify(words)}`);
}

test('the schema walk finds every string field the issue names', () => {
  const pointers = fields.map((f) => f.pointer);
  assert.equal(named.filter((p) => !pointers.includes(p)), [], `expected these among the string fields read from the schema: ${pointers.join(', ')}`);
  assert.is(fields.find((f) => f.pointer === '/etcd/certDir')?.def, 'remotePath', 'etcd.certDir is known to be a remote path');
});

test('every hostile value in every string field is refused at that field, or runs through every script without being run itself', () => {
  if (!requireTools('injection', 'bash')) return;
  const refused: string[] = [];
  const ran: string[] = [];
  const checkedOnly: string[] = [];
  let argvChecked = 0;
  for (const field of fields) {
    for (const payload of payloads) {
      const what = `${field.pointer} = ${payload.label} (${short(payload.value)})`;
      const world = makeWorld({ edit: (cluster) => field.set(cluster, payload.value), generate: false });
      try {
        const run = world.generate();
        assertNoCanary(`${what}, generate`);
        if (run.code !== 0) {
          assertRefused(world, field, payload.value, run, what);
          refused.push(what);
          continue;
        }
        const result = runAccepted(world, field, payload.value, what);
        (result.checkedOnly.length ? checkedOnly : ran).push(`${what}: ran ${result.ran.join(', ')}${result.checkedOnly.length ? `; bash -n only: ${result.checkedOnly.join(', ')}` : ''}`);
        // The argv of one accepted case in full (any accepted case whose nodes are the default ones will do).
        if (argvChecked === 0 && field.pointer === '/$schema') {
          assertArgv(world, what);
          argvChecked++;
        }
      } finally {
        world.remove();
        assertNoCanary(`${what}, after the case`);
      }
    }
  }
  const total = fields.length * payloads.length;
  console.log(`  injection: fields from the schema: ${fields.map((f) => f.pointer + (f.transport ? ` (${f.transport} transport)` : '')).join(', ')}`);
  console.log(`  injection: ${total} cases (${fields.length} fields × ${payloads.length} values): ${refused.length} refused at the field with exit 1, ${ran.length} accepted and run (ntp.sh, distribute.sh, preflight.sh, verify.sh; backup.sh and restore.sh as dry runs), ${checkedOnly.length} accepted and partly only bash -n; CANARY never appeared`);
  for (const line of [...ran, ...checkedOnly]) console.log(`    accepted: ${line}`);
  assert.is(refused.length + ran.length + checkedOnly.length, total, 'every case was decided');
  assert.ok(refused.length > 0 && ran.length > 0, `expected both refusals and runs, or the test proves little: ${refused.length} refused, ${ran.length} run`);
  assert.is(argvChecked, 1, "one accepted case's transport argv was checked in full");
});

test('a plain cluster runs through verify.sh against the stand-ins to "OK" (the stand-in docker answers as a healthy cluster)', () => {
  if (!requireTools('injection', 'bash')) return;
  const world = makeWorld();
  try {
    const run = runScript(world, 'verify.sh');
    assert.is(run.status, 0, `expected verify.sh to pass against the stand-in docker:\n${run.shown}`);
    assert.match(run.stdout, /\nOK: 3 members, all started and healthy, as cluster\.json says\.\n$/, `expected the OK verdict:\n${run.shown}`);
  } finally {
    world.remove();
  }
});

test.after(() => canaryDir.remove());

test.run();
