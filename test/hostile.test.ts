// cluster.json arrives in pull requests: every string either is refused with a located error, or reaches the
// manifests exactly as given and the scripts as one inert shell word. The private key never reaches out/.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, readdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { parseCluster, formatProblem } from '../src/load.js';
import { plan } from '../src/plan.js';
import { render } from '../src/render.js';
import { manifestDisagreements } from './support/manifest.js';
import { minimalCluster, runCli, tempDir, writeFile } from './support/fixtures.js';

const context = { configName: 'cluster.json', configDirFromOut: '..', outDirFromConfig: 'out' };

/** Values a YAML parser reads as something other than the string written, or that end a plain scalar early. */
const yamlTraps = ['yes', 'no', 'on', 'off', 'y', 'n', 'true', 'null', '1e3', '0x10', '012', '1:20', '~', ':', '#', '- ', ' lead', 'trail ', 'a: b', 'a #b', '*ref', '&anchor', '!tag', '@at', '%pct', '[x]', '{x}', '>', '|', "'", '"'];

type Doc = ReturnType<typeof minimalCluster> & { etcd?: Record<string, string>; tls?: Record<string, string> };

/** The string fields of cluster.json that reach a manifest, by JSON pointer, and how to set each. */
const fields: { pointer: string; set: (doc: Doc, value: string) => void }[] = [
  ...(['name', 'ip', 'host'] as const).map((key) => ({ pointer: `/masters/0/${key}`, set: (d: Doc, v: string) => void (d.masters[0]![key] = v) })),
  ...['image', 'clusterToken', 'dataDir', 'certDir', 'manifestDir'].map((key) => ({ pointer: `/etcd/${key}`, set: (d: Doc, v: string) => void (d.etcd = { ...d.etcd, [key]: v }) })),
  ...['ca', 'cert', 'key'].map((key) => ({ pointer: `/tls/${key}`, set: (d: Doc, v: string) => void (d.tls = { ...d.tls, [key]: v }) })),
];

test('every YAML trap in every manifest field is refused where it stands, or read back exactly', () => {
  let accepted = 0;
  for (const field of fields) {
    for (const value of yamlTraps) {
      const doc: Doc = minimalCluster(3);
      field.set(doc, value);
      const result = parseCluster(JSON.stringify(doc, null, 2), 'cluster.json');
      if (!result.ok) {
        assert.ok(
          result.problems.some((p) => p.pointer === field.pointer && p.line > 1),
          `${field.pointer} = ${JSON.stringify(value)} was refused, but not at ${field.pointer}:\n${result.problems.map(formatProblem).join('\n')}`,
        );
        continue;
      }
      accepted++;
      const problems = manifestDisagreements(result.cluster, render(plan(result.cluster, context)));
      assert.equal(problems, [], `${field.pointer} = ${JSON.stringify(value)}`);
    }
  }
  // Names like "yes", "no" and "on" are valid RFC 1123 labels and tokens like 1e3 are valid: they must be quoted.
  console.log(`  ${accepted} of ${fields.length * yamlTraps.length} trap values accepted and read back exactly; the rest refused where they stand`);
  assert.ok(accepted >= 10, `only ${accepted} trap values were accepted; the test would prove little`);
});

test('a master named "yes" and a token "0x10" come back as strings', () => {
  const doc = { masters: [{ name: 'yes', ip: '10.0.0.1', host: 'on' }], etcd: { clusterToken: '0x10' } };
  const result = parseCluster(JSON.stringify(doc), 'cluster.json');
  assert.ok(result.ok);
  if (!result.ok) return;
  const manifest = render(plan(result.cluster, context)).find((f) => f.path === 'yes-etcd.manifest')!;
  assert.match(manifest.content, /value: "yes"/);
  assert.match(manifest.content, /value: "0x10"/);
  assert.equal(manifestDisagreements(result.cluster, render(plan(result.cluster, context))), []);
});

test("the private key's bytes never reach out/, wherever the key is", () => {
  const dir = tempDir('key');
  try {
    // A key whose text is unmistakable, beside cluster.json, in a subdirectory and at an absolute path.
    const secret = `-----BEGIN PRIVATE KEY-----\n${randomBytes(48).toString('base64')}\n-----END PRIVATE KEY-----\n`;
    for (const key of ['kubernetes-key.pem', 'pki/etcd-key.pem', join(dir.path, 'abs', 'key.pem')]) {
      writeFile(key.startsWith('/') ? key : join(dir.path, key), secret);
      const config = writeFile(join(dir.path, 'cluster.json'), JSON.stringify({ ...minimalCluster(3), tls: { key } }));
      const run = runCli(['generate', '--config', config]);
      assert.is(run.code, 0, run.err.join('\n'));
      const out = join(dir.path, 'out');
      const body = secret.split('\n')[1]!;
      for (const file of readdirSync(out)) {
        assert.not.ok(readFileSync(join(out, file), 'utf8').includes(body), `out/${file} holds the key's bytes (tls.key = ${key})`);
      }
    }
    // A key configured inside out/ is refused outright: see cli.test.ts.
  } finally {
    dir.remove();
  }
});

// ---- Inputs that crashed or hung the generator: each is now a located error, exit 1, within moments. ------------

const cli = fileURLToPath(new URL('../src/cli.js', import.meta.url));

/** The CLI as a separate process (a crash or an abort must not take the test runner with it), with a hang guard. */
function generate(config: string, out: string): { status: number | null; stderr: string } {
  const run = spawnSync(process.execPath, [cli, 'generate', '--config', config, '--out', out], { encoding: 'utf8', timeout: 30_000, killSignal: 'SIGKILL' });
  assert.not.ok(run.error, `generate --config ${config} did not finish: ${String(run.error)}`);
  return { status: run.status, stderr: run.stderr };
}

test('nesting 10,000 and 200,000 levels deep: a located error, not a stack overflow', () => {
  const dir = tempDir('hostile-deep');
  try {
    for (const depth of [10_000, 200_000]) {
      // The root object is level 1; the 64th '[' (column 13 + 63) is level 65.
      const config = writeFile(join(dir.path, `deep-${depth}.json`), `{"masters": ${'['.repeat(depth)}${']'.repeat(depth)}}`);
      const run = generate(config, join(dir.path, 'out'));
      assert.is(run.status, 1, run.stderr);
      assert.match(run.stderr, /deep-\d+\.json:1:76  \/  nests objects and arrays more than 64 levels deep here/);
      assert.not.match(run.stderr, /Maximum call stack/);
    }
  } finally {
    dir.remove();
  }
});

test('a device, a FIFO or a file over 1 MiB is refused, never read without end', () => {
  const dir = tempDir('hostile-files');
  try {
    const out = join(dir.path, 'out');
    const zero = generate('/dev/zero', out);
    assert.is(zero.status, 1, zero.stderr);
    assert.match(zero.stderr, /^\/dev\/zero:1:1  \/  is not a regular file \(a device, pipe or socket\)/m);
    const fifo = join(dir.path, 'cluster.fifo');
    assert.is(spawnSync('mkfifo', [fifo]).status, 0, 'mkfifo');
    const pipe = generate(fifo, out);
    assert.is(pipe.status, 1, pipe.stderr);
    assert.match(pipe.stderr, /cluster\.fifo:1:1  \/  is not a regular file/);
    const big = writeFile(join(dir.path, 'big.json'), JSON.stringify({ ...minimalCluster(1), $schema: 'x'.repeat(1024 * 1024) }));
    const large = generate(big, out);
    assert.is(large.status, 1, large.stderr);
    assert.match(large.stderr, /big\.json:1:1  \/  is \d+ bytes; a cluster description is at most 1048576 bytes \(1 MiB\)/);
  } finally {
    dir.remove();
  }
});

test('20,000 masters are refused by the schema at once, with the limit and the reason', () => {
  const dir = tempDir('hostile-masters');
  try {
    const masters = Array.from({ length: 20_000 }, (_, i) => ({ name: `m${i}`, ip: `10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`, host: `m${i}` }));
    const config = writeFile(join(dir.path, 'cluster.json'), JSON.stringify({ masters }));
    const run = generate(config, join(dir.path, 'out'));
    assert.is(run.status, 1, run.stderr);
    assert.match(run.stderr, /cluster\.json:1:12  \/masters  lists 20000 masters; at most 15 are allowed \(etcd advises at most seven members/);
  } finally {
    dir.remove();
  }
});

test.run();
