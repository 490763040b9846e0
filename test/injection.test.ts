// No injection: every string field of cluster.json, set to each hostile value, is either refused by generate
// with a located error at that field, or reaches scripts that run (against the stand-in transport) without
// running anything the value says. A CANARY file that a value would `touch` never appears.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { readSchema, type JsonSchema } from '../src/schema.js';
import { LIBRARY } from '../src/render.js';
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

type ScriptRun = ReturnType<typeof runScript>;

interface HowToRun {
  args: (world: World) => string[];
  /** It reaches the nodes through the transport: run only with the stand-ins (vagrant, ssh), else bash -n only. */
  reachesNodes: boolean;
  /** It creates etcd's directories on the nodes as root: run only where they lie under <dir>/remote/. */
  createsRemotePaths?: boolean;
  /** The file run, when not out/SCRIPT of the world. */
  invoked?: (world: World, script: string) => string;
  verdict: (run: ScriptRun, what: string) => void;
}

/**
 * How each script of out/ runs here, by name. Which scripts there are is read from out/ in every case (each *.sh
 * generate wrote), never listed here: a script added later has no row and fails the test until it gets one. Scripts
 * that change a running cluster or write files on this machine run as dry runs, which still read every value and
 * print every command.
 */
const HOW_TO_RUN: Record<string, HowToRun> = {
  'ntp.sh': { args: () => [], reachesNodes: true, verdict: succeeded },
  'distribute.sh': { args: () => [], reachesNodes: true, createsRemotePaths: true, verdict: succeeded },
  'preflight.sh': {
    args: () => [],
    reachesNodes: true,
    // The world's certificates are dummies, so the certificate checks fail (exit 1); every node's checks run and pass.
    verdict: (run, what) => assert.match(run.stdout, /\nsummary: (\d+) of \1 hosts succeeded/, `${what}: expected preflight.sh to check every node, each passing:\n${run.shown}`),
  },
  'verify.sh': {
    args: () => [],
    reachesNodes: true,
    // Through to the end: the verdict is its last word, whichever it is.
    verdict: (run, what) => assert.ok(/\nOK: \d+ members/.test(run.stdout) || /The cluster is not as cluster\.json says/.test(run.stderr), `${what}: expected verify.sh to run through to its verdict:\n${run.shown}`),
  },
  // Without --apply it reads the live member list (the stand-in docker's) and prints the plan; it changes nothing.
  // (Its --dry-run reads no member list at all: the transport only prints the command.)
  'members.sh': {
    args: () => [],
    reachesNodes: true,
    verdict: (run, what) => assert.ok(run.status === 0 ? run.stdout.includes('\nThe plan (nothing is changed):\n') : /\nRefused, nothing was changed:\n/.test(run.stderr), `${what}: expected members.sh to print its plan or its refusal:\n${run.shown}`),
  },
  // Writes keys on this machine, so a dry run; from a copy of out/ beside no certificates (the world's are dummies,
  // which certs.sh would rightly refuse before reading the rest), so that it says what it would make of each value.
  'certs.sh': {
    args: () => ['--dry-run'],
    reachesNodes: false,
    invoked: (world, script) => {
      const copy = join(world.dir, 'no-certificates-yet', 'out');
      cpSync(world.out, copy, { recursive: true });
      return join(copy, script);
    },
    verdict: succeeded,
  },
  // backup.sh and restore.sh replace data, so they run as dry runs: each still reads every value and prints every
  // command, and reaches no node.
  'backup.sh': { args: () => ['--dry-run'], reachesNodes: false, verdict: succeeded },
  // restore.sh reads its snapshot with --snapshot-tool, here `true`.
  'restore.sh': {
    args: (world) => {
      const snapshot = writeFile(join(world.dir, 'snapshots', 'snapshot.db'), 'not a real snapshot\n');
      writeFile(join(world.dir, 'snapshots', 'snapshot.sha256'), `${createHash('sha256').update('not a real snapshot\n').digest('hex')}  snapshot.db\n`);
      return [snapshot, '--dry-run', '--snapshot-tool', 'true'];
    },
    reachesNodes: false,
    verdict: succeeded,
  },
};

function succeeded(run: ScriptRun, what: string): void {
  assert.is(run.status, 0, `${what}: expected it to succeed against the stand-in transport:\n${run.shown}`);
}

/** The scripts generate wrote into out/: what every accepted case runs (the library they source is not one to run). */
function scriptsIn(out: string): string[] {
  return readdirSync(out).filter((name) => name.endsWith('.sh') && name !== LIBRARY).sort();
}

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

/** Every script in out/ and the library they source pass bash -n, and running bash -n made no CANARY. */
function checkSyntax(world: World, what: string): void {
  const scripts = scriptsIn(world.out);
  assert.ok(existsSync(join(world.out, LIBRARY)), `${what}: out/${LIBRARY}, which every script sources, was written`);
  for (const script of [...scripts, LIBRARY]) {
    const syntax = spawnSync('bash', ['-n', join(world.out, script)], { encoding: 'utf8' });
    assert.is(syntax.status, 0, `${what}: expected bash -n out/${script} to pass:\n${syntax.stderr}`);
  }
  assertNoCanary(`${what}, bash -n`);
}

/** out/'s scripts and library, with the world's own directory and the library's fingerprint (a hash of it) blanked: a
 * script names no other sha256 (the snapshot digests it checks are read from files). */
function scriptsKey(world: World): string {
  return [...scriptsIn(world.out), LIBRARY]
    .map((script) => `${script}\0${readFileSync(join(world.out, script), 'utf8').split(world.dir).join('<world>').replace(/sha256:[0-9a-f]{64}/g, 'sha256:<fingerprint>')}`)
    .join('\0');
}

/** An acceptance: every script in out/ passes bash -n; each runs against the stand-ins, unless it would touch this machine. */
function runAccepted(world: World, field: Field, value: string, what: string): { ran: string[]; checkedOnly: string[] } {
  const ran: string[] = [];
  const checkedOnly: string[] = [];
  const scripts = scriptsIn(world.out);
  const unknown = scripts.filter((script) => !(script in HOW_TO_RUN));
  assert.equal(unknown, [], `${what}: out/ holds scripts this test does not know how to run: give each a row in HOW_TO_RUN`);
  checkSyntax(world, what);
  for (const script of scripts) {
    const how = HOW_TO_RUN[script]!;
    if (how.createsRemotePaths && field.def === 'remotePath' && !value.startsWith(`${world.dir}/remote/`)) {
      checkedOnly.push(script);
      continue;
    }
    // The stand-ins are a vagrant and an ssh (first on PATH): a script of either transport reaches only the fake hosts.
    if (how.reachesNodes && field.transport && field.transport !== 'vagrant' && field.transport !== 'ssh') {
      checkedOnly.push(script);
      continue;
    }
    const args = how.args(world);
    const run = runScript(world, script, {}, args, how.invoked ? { invoked: how.invoked(world, script) } : {});
    const named = `${what}, out/${[script, ...args].join(' ')}`;
    assertNoCanary(named);
    how.verdict(run, named);
    ran.push([script, ...args].join(' '));
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
  // reach it, then to run etcdctl twice; members.sh: the first master, to run etcdctl for the member list and each
  // member's health. Hosts run in parallel, so in any order.
  const first = MASTERS[0]!;
  const expected = [...NODES, ...NODES, ...MASTERS, first, first, first, ...MASTERS.map(() => first), first].map((node) => ['vagrant', 'ssh', node, '--', 'bash', '-euo', 'pipefail', '-s']);
  const order = (list: string[][]) => list.map((argv) => JSON.stringify(argv)).sort();
  assert.equal(order(recorded), order(expected), `${what}: the stand-in's calls, each name one argv word, no scp; recorded:\n${shown}`);
  const docker = remoteLog(world).filter(([, word]) => word === 'docker');
  assert.is(docker.length, 2 + 1 + MASTERS.length, `${what}: verify.sh ran etcdctl in docker twice (member list, endpoint health), members.sh once and once a member (member list, each one's health)`);
  for (const words of docker) assert.ok(words.includes('quay.io/coreos/etcd:v3.3.5'), `${what}: the image is one word of docker's argv: ${JSON.stringify(words)}`);
}

test('the schema walk finds every string field the issue names', () => {
  const pointers = fields.map((f) => f.pointer);
  assert.equal(named.filter((p) => !pointers.includes(p)), [], `expected these among the string fields read from the schema: ${pointers.join(', ')}`);
  assert.is(fields.find((f) => f.pointer === '/etcd/certDir')?.def, 'remotePath', 'etcd.certDir is known to be a remote path');
});

test('every script generate writes into out/ has a way to run here, and every way names a script generate writes', () => {
  if (!requireTools('injection', 'bash')) return;
  const world = makeWorld();
  try {
    const scripts = scriptsIn(world.out);
    assert.ok(scripts.includes('members.sh') && scripts.includes('certs.sh'), `out/ holds ${scripts.join(', ')}`);
    assert.equal(Object.keys(HOW_TO_RUN).sort(), scripts, 'HOW_TO_RUN in test/injection.test.ts must name exactly the scripts in out/');
  } finally {
    world.remove();
  }
});

test('every hostile value in every string field is refused at that field, or runs through every script without being run itself', () => {
  if (!requireTools('injection', 'bash')) return;
  const refused: string[] = [];
  const ran: string[] = [];
  const checkedOnly: string[] = [];
  const sameAsRun: string[] = [];
  const sameScripts = new Map<string, string>();
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
        // Scripts that are the same as a case already run (but for the world's directory, and so lib.sh's
        // fingerprint) would run the same commands on the same stand-ins: the value did not reach them. They are
        // still checked with bash -n; running them again would prove nothing and cost seconds of CPU a case.
        const same = sameScripts.get(scriptsKey(world));
        if (same !== undefined) {
          checkSyntax(world, what);
          sameAsRun.push(`${what}: the same scripts as ${same}`);
          continue;
        }
        sameScripts.set(scriptsKey(world), what);
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
  console.log(`  injection: ${total} cases (${fields.length} fields × ${payloads.length} values): ${refused.length} refused at the field with exit 1, ${ran.length} accepted and run (${Object.keys(HOW_TO_RUN).join(', ')}; certs.sh, backup.sh and restore.sh as dry runs), ${checkedOnly.length} accepted and partly only bash -n, ${sameAsRun.length} accepted with scripts the same as a case run; CANARY never appeared`);
  for (const line of [...ran, ...checkedOnly]) console.log(`    accepted: ${line}`);
  for (const line of sameAsRun) console.log(`    accepted, bash -n only: ${line}`);
  assert.is(refused.length + ran.length + checkedOnly.length + sameAsRun.length, total, 'every case was decided');
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
