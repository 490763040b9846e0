// Every emitted manifest is one clean YAML document (no warnings, no duplicate keys), reads the same under YAML 1.2
// and 1.1 (kubelet's parser is a YAML 1.1 one), and is a valid v1 Pod by the Kubernetes OpenAPI schema
// (kubernetes-models 4.5.x, the last line that runs on Node 20).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { isMap, parseDocument, type Document } from 'yaml';
import { Pod } from 'kubernetes-models/v1/Pod';
import { generateAll, read } from './support/examples.js';

const { generated, remove } = generateAll('manifest');
test.after(remove);

interface EnvVar {
  name: unknown;
  value?: unknown;
}
interface PodShape {
  apiVersion?: unknown;
  kind?: unknown;
  spec: { containers: { command?: string[]; args?: string[]; env?: EnvVar[]; ports?: { containerPort: unknown }[] }[] };
}

/** Parse as the suites require: duplicate keys are errors; anything questionable is a warning. */
function parseStrict(text: string, version: '1.1' | '1.2'): Document.Parsed {
  return parseDocument(text, { uniqueKeys: true, strict: true, prettyErrors: true, version });
}

function problems(doc: Document.Parsed): string {
  return [...doc.errors, ...doc.warnings].map((p) => `${p.name} ${p.code}: ${p.message}`).join('\n');
}

/** validate() throws on an invalid object; this turns that into the message, or undefined when valid. */
function validationError(obj: unknown): string | undefined {
  try {
    new Pod(obj as ConstructorParameters<typeof Pod>[0]).validate();
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

const manifests = generated.flatMap(({ example, out, files }) =>
  files.filter((f) => f.endsWith('-etcd.manifest')).map((file) => ({ label: `${example.name}: out/${file}`, path: join(out, file) })),
);

// A known-good manifest to break on purpose: the root cluster's first one.
const sample = manifests[0];
if (!sample) throw new Error('no manifest was generated for any example');
const sampleObject = () => parseStrict(read(sample.path), '1.2').toJS() as PodShape;

test('every example emits at least one manifest, and there are manifests from every example', () => {
  for (const { example, files } of generated) {
    assert.ok(files.some((f) => f.endsWith('-etcd.manifest')), `${example.name} emits no *-etcd.manifest: ${files.join(', ')}`);
  }
});

test('the YAML check is able to fail: a duplicate key is an error', () => {
  const doc = parseStrict('apiVersion: v1\nkind: Pod\nkind: Pod\n', '1.2');
  assert.ok(doc.errors.length > 0, 'expected a duplicate key to be reported as an error');
});

test('the schema check is able to fail: containerPort "x" makes validate() throw', () => {
  const broken = sampleObject();
  const port = broken.spec.containers[0]?.ports?.[0];
  assert.ok(port, 'the sample manifest has a port to break');
  assert.is(validationError(broken), undefined, 'the unbroken sample is valid');
  port.containerPort = 'x';
  const message = validationError(broken);
  assert.ok(message, 'expected validate() to throw for containerPort "x"');
  assert.match(message, /containerPort/);
});

test('the schema check is able to fail: a number as an env value makes validate() throw', () => {
  const broken = sampleObject();
  const env = broken.spec.containers[0]?.env?.[0];
  assert.ok(env, 'the sample manifest has an env entry to break');
  env.value = 2379;
  const message = validationError(broken);
  assert.ok(message, 'expected validate() to throw for a numeric env value');
  assert.match(message, /env\/0\/value/);
});

test('the schema check is able to fail: a container without a name makes validate() throw', () => {
  const broken = sampleObject() as unknown as { spec: { containers: Record<string, unknown>[] } };
  delete broken.spec.containers[0]?.['name'];
  assert.ok(validationError(broken), 'expected validate() to throw for a container with no name');
});

for (const { label, path } of manifests) {
  const text = read(path);

  test(`${label} is one YAML document with no errors, no warnings and no duplicate keys`, () => {
    const doc = parseStrict(text, '1.2');
    assert.is(problems(doc), '', `expected a clean parse of ${label}`);
    assert.ok(isMap(doc.contents), `${label}: the document is a mapping`);
  });

  test(`${label} reads the same as YAML 1.1 (kubelet) and as YAML 1.2`, () => {
    const doc11 = parseStrict(text, '1.1');
    assert.is(problems(doc11), '', `expected a clean YAML 1.1 parse of ${label}`);
    assert.equal(doc11.toJS(), parseStrict(text, '1.2').toJS(), `${label}: a value reads differently under YAML 1.1`);
  });

  test(`${label} is a valid v1 Pod (kubernetes-models Pod.validate())`, () => {
    const obj = parseStrict(text, '1.2').toJS() as PodShape;
    // Pod's constructor fills in apiVersion and kind when absent, so check them on the manifest itself.
    assert.is(obj.apiVersion, 'v1', `${label}: apiVersion`);
    assert.is(obj.kind, 'Pod', `${label}: kind`);
    const message = validationError(obj);
    assert.is(message, undefined, `expected ${label} to validate as a Pod; validate() threw: ${message}`);
  });

  test(`${label} gives every env variable a string value, each name once`, () => {
    const obj = parseStrict(text, '1.2').toJS() as PodShape;
    const env = obj.spec.containers.flatMap((c) => c.env ?? []);
    assert.ok(env.length > 0, `${label} has env variables`);
    const notStrings = env.filter((e) => typeof e.value !== 'string').map((e) => `${String(e.name)}=${JSON.stringify(e.value)} (${typeof e.value})`);
    assert.equal(notStrings, [], `${label}: every env value must be a string`);
    const names = env.map((e) => String(e.name));
    const repeated = names.filter((name, i) => names.indexOf(name) !== i);
    assert.equal(repeated, [], `${label}: env names given twice`);
  });

  test(`${label} sets no etcd option both as an ETCD_* variable and as a flag (etcd refuses to start)`, () => {
    const obj = parseStrict(text, '1.2').toJS() as PodShape;
    for (const container of obj.spec.containers) {
      const commandLine = [...(container.command ?? []), ...(container.args ?? [])].join(' ');
      for (const { name } of container.env ?? []) {
        if (typeof name !== 'string' || !name.startsWith('ETCD_')) continue;
        const flag = `--${name.slice('ETCD_'.length).toLowerCase().replace(/_/g, '-')}`;
        assert.not.ok(new RegExp(`${flag}(=|\\s|$)`).test(commandLine), `${label}: ${name} is also given as ${flag} in: ${commandLine}`);
      }
    }
  });
}

test.run();
