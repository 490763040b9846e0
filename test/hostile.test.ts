// cluster.json arrives in pull requests: every string either is refused with a located error, or reaches the
// manifests exactly as given and the scripts as one inert shell word. The private key never reaches out/.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, readdirSync } from 'node:fs';
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

test.run();
