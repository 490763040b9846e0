// Property-based: thousands of random cluster documents a run, valid and invalid (fast-check, seeded).
// Valid → manifests that parse and carry exactly the input's values, scripts that pass `bash -n`.
// Invalid → exit 1, at least one located error, no stack trace, out/ byte-identical to before.
// Rerun a failure with the seed it prints: FC_SEED=<seed> npm test -- property
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { spawnSync } from 'node:child_process';
import { isIP } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { canonicalIp, parseCluster, formatProblem } from '../src/load.js';
import { memberAddressProblem } from '../src/address.js';
import { plan } from '../src/plan.js';
import { render } from '../src/render.js';
import { readOut } from '../src/emit.js';
import { manifestDisagreements } from './support/manifest.js';
import { minimalCluster, runCli, tempDir, writeFile } from './support/fixtures.js';
import { requireTools } from './support/tools.js';

const seed = Number(process.env['FC_SEED'] ?? Date.now() % 2 ** 31);
// Each of the two properties: 2,000 documents a run, with a new seed every run, so that runs add up (5,000 cost 70
// CPU-s of the suite's 8 minutes). A longer soak: FC_RUNS=20000 npm test -- property
const runs = Number(process.env['FC_RUNS'] ?? 2000);
console.log(`  property tests: seed ${seed}, ${runs} valid and ${runs} invalid documents (rerun: FC_SEED=${seed} npm test -- property)`);
const context = { configName: 'cluster.json', configDirFromOut: '..', outDirFromConfig: 'out' };

// ---- valid documents -------------------------------------------------------------------------------------------

const label = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?$/);
const dnsName = fc.array(fc.stringMatching(/^[A-Za-z0-9]([A-Za-z0-9-]{0,6}[A-Za-z0-9])?$/), { minLength: 1, maxLength: 4 }).map((l) => l.join('.')).filter((h) => !/^[0-9.]+$/.test(h));
// Addresses a member can have: not 0.0.0.0, multicast, IPv4-mapped and the like (load.ts refuses those; see load.test.ts).
const ip = fc.oneof(fc.ipV4(), fc.ipV6()).filter((a) => isIP(a) !== 0 && memberAddressProblem(a) === undefined);
const host = fc.oneof(dnsName, dnsName, ip);
const port = fc.integer({ min: 1, max: 65535 });
const imagePart = fc.stringMatching(/^[a-z0-9]{1,6}([._-][a-z0-9]{1,4}){0,2}$/);
// The tag names an etcd version the version table knows (src/etcd-versions.ts); a tag that names none is refused.
const image = fc
  .tuple(imagePart, fc.option(fc.integer({ min: 1, max: 65535 }), { nil: undefined }), fc.array(imagePart, { minLength: 1, maxLength: 3 }), fc.constantFrom('v3.3.5', 'v3.4.22', '3.5.6-0', 'v3.5.6'))
  .map(([registry, registryPort, path, tag]) => `${registry}${registryPort ? `:${registryPort}` : ''}/${path.join('/')}${tag ? `:${tag}` : ''}`);
const remotePath = fc.array(fc.stringMatching(/^[A-Za-z0-9_][A-Za-z0-9._-]{0,8}$/), { minLength: 1, maxLength: 4 }).map((p) => `/${p.join('/')}`);
const token = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,16}$/);
const fileName = fc.stringMatching(/^[A-Za-z0-9_][A-Za-z0-9._-]{0,10}$/).filter((n) => n !== 'etcd.manifest');
const localPath = fc.tuple(fc.constantFrom('', 'pki/', './', '../certs/', '/etc/pki/'), fileName).map(([dir, name]) => dir + name);

const master = fc.record({ name: label, ip, host });
const validDocument = fc
  .record(
    {
      masters: fc.uniqueArray(master, { minLength: 1, maxLength: 5, selector: (m) => m.name }),
      workers: fc.uniqueArray(fc.record({ name: label }), { maxLength: 6, selector: (w) => w.name }),
      etcd: fc.record(
        {
          image,
          clientPort: port,
          peerPort: port,
          clusterToken: token,
          dataDir: remotePath,
          certDir: remotePath,
          manifestDir: remotePath,
          localListener: fc.record({ enabled: fc.boolean(), address: fc.constantFrom('127.0.0.1', '::1'), port }, { requiredKeys: [] }),
        },
        { requiredKeys: [] },
      ),
      tls: fc.record({ ca: localPath, cert: localPath, key: localPath }, { requiredKeys: [] }),
    },
    { requiredKeys: ['masters'] },
  )
  .filter((doc) => {
    // The generator's own uniqueness rules, as load.ts states them.
    const ips = new Set(doc.masters.map((m) => canonicalIp(m.ip)));
    const hosts = new Set(doc.masters.map((m) => (isIP(m.host) ? canonicalIp(m.host) : m.host.toLowerCase())));
    const names = new Set([...doc.masters.map((m) => m.name), ...(doc.workers ?? []).map((w) => w.name)]);
    const bases = [doc.tls?.ca ?? 'ca.pem', doc.tls?.cert ?? 'kubernetes.pem', doc.tls?.key ?? 'kubernetes-key.pem'].map((p) => p.slice(p.lastIndexOf('/') + 1));
    return (
      ips.size === doc.masters.length &&
      hosts.size === doc.masters.length &&
      names.size === doc.masters.length + (doc.workers?.length ?? 0) &&
      new Set(bases).size === 3 &&
      (doc.etcd?.clientPort ?? 2379) !== (doc.etcd?.peerPort ?? 2380)
    );
  });

/** bash -n over many scripts in one process: each becomes a function body, so one syntax error fails the batch. */
function bashSyntaxErrors(scripts: readonly { label: string; text: string }[], dir: string): string[] {
  const check = (batch: readonly { label: string; text: string }[]) => {
    const file = join(dir, 'batch.sh');
    writeFileSync(file, batch.map((s, i) => `script_${i}() {\n${s.text}\n}\n`).join(''));
    return spawnSync('bash', ['-n', file], { encoding: 'utf8' });
  };
  const failures: string[] = [];
  for (let start = 0; start < scripts.length; start += 400) {
    const batch = scripts.slice(start, start + 400);
    if (check(batch).status === 0) continue;
    for (const script of batch) {
      const run = check([script]);
      if (run.status !== 0) failures.push(`${script.label}: ${run.stderr}`);
    }
  }
  return failures;
}

test('valid documents: manifests carry exactly the input values, scripts pass bash -n', () => {
  if (!requireTools('property: valid documents', 'bash')) return;
  const scripts: { label: string; text: string }[] = [];
  fc.assert(
    fc.property(validDocument, (doc) => {
      const text = JSON.stringify(doc, null, 2);
      const result = parseCluster(text, 'cluster.json');
      if (!result.ok) throw new Error(`a valid document was refused:\n${result.problems.map(formatProblem).join('\n')}\n${text}`);
      const files = render(plan(result.cluster, context));
      const disagreements = manifestDisagreements(result.cluster, files);
      if (disagreements.length) throw new Error(`${disagreements.join('\n')}\n${text}`);
      for (const f of files) if (f.path.endsWith('.sh')) scripts.push({ label: `${f.path} of ${text}`, text: f.content });
    }),
    { seed, numRuns: runs, includeErrorInReport: true },
  );
  const dir = tempDir('property-bash');
  try {
    assert.equal(bashSyntaxErrors(scripts, dir.path), [], 'scripts that fail bash -n');
  } finally {
    dir.remove();
  }
});

// ---- invalid documents -----------------------------------------------------------------------------------------

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Mutation = (doc: { [key: string]: Json }) => string;

const wrongValue = fc.oneof<fc.Arbitrary<Json>[]>(fc.integer(), fc.boolean(), fc.constant(null), fc.constant([]), fc.constant({}));
const badName = fc.constantFrom('Master1', 'master_1', '-master', 'master-', 'mäster', 'a'.repeat(64), '', 'two words', '$(touch CANARY)');
const badIp = fc.constantFrom('999.1.1.1', '1.2.3', 'fd00:::1', 'localhost', '', '10.0.0.1/24', '::g');
const badHost = fc.constantFrom('host_name', '-host', 'host-', 'a..b', '', 'x'.repeat(300), 'h;reboot', 'h`id`', 'h$(id)');
const badPort = fc.oneof(fc.integer({ max: 0 }), fc.integer({ min: 65536 }), fc.constant(2379.5), fc.constant('2379'));
const badPath = fc.constantFrom('relative/path', '/trailing/', '/with space', '/semi;colon', '/$(id)', '', '/a\nb', '/a/../b'.replace('..', '.. '));

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.tuple(fc.constantFrom('name', 'ip', 'host'), wrongValue).map(([key, value]): Mutation => (doc) => {
    (doc['masters'] as { [key: string]: Json }[])[0]![key] = value;
    return JSON.stringify(doc, null, 2);
  }),
  fc.constantFrom('name', 'ip', 'host').map((key): Mutation => (doc) => {
    delete (doc['masters'] as { [key: string]: Json }[])[0]![key];
    return JSON.stringify(doc, null, 2);
  }),
  badName.map((name): Mutation => (doc) => ((doc['masters'] as { [key: string]: Json }[])[0]!['name'] = name, JSON.stringify(doc, null, 2))),
  badIp.map((bad): Mutation => (doc) => ((doc['masters'] as { [key: string]: Json }[])[0]!['ip'] = bad, JSON.stringify(doc, null, 2))),
  badHost.map((bad): Mutation => (doc) => ((doc['masters'] as { [key: string]: Json }[])[0]!['host'] = bad, JSON.stringify(doc, null, 2))),
  fc.tuple(fc.constantFrom('clientPort', 'peerPort'), badPort).map(([key, bad]): Mutation => (doc) => ((doc['etcd'] = { [key]: bad }), JSON.stringify(doc, null, 2))),
  fc.tuple(fc.constantFrom('dataDir', 'certDir', 'manifestDir'), badPath).map(([key, bad]): Mutation => (doc) => ((doc['etcd'] = { [key]: bad }), JSON.stringify(doc, null, 2))),
  fc.tuple(fc.constantFrom('', 'etcd', 'tls'), fc.stringMatching(/^[a-z]{1,12}$/)).map(([where, key]): Mutation => (doc) => {
    const target = where ? ((doc[where] = {}) as { [key: string]: Json }) : doc;
    target[`x${key}`] = 1;
    return JSON.stringify(doc, null, 2);
  }),
  fc.constant<Mutation>((doc) => {
    const masters = doc['masters'] as Json[];
    masters.push(masters[0]!);
    return JSON.stringify(doc, null, 2);
  }),
  fc.constant<Mutation>(() => JSON.stringify({ workers: [] })),
  wrongValue.map((value): Mutation => () => JSON.stringify(value)),
  fc.nat().map((n): Mutation => (doc) => {
    const text = JSON.stringify(doc, null, 2);
    return text.slice(0, n % (text.length - 1)); // truncated: the outer object is never closed
  }),
  fc.constant<Mutation>((doc) => JSON.stringify(doc, null, 2).replace(/\n(\s*)\]/, ',\n$1]')), // a trailing comma
);

test('invalid documents: exit 1, located errors, no stack trace, out/ untouched', () => {
  const dir = tempDir('property-invalid');
  try {
    const config = join(dir.path, 'cluster.json');
    const out = join(dir.path, 'out');
    writeFile(config, JSON.stringify(minimalCluster(3)));
    assert.is(runCli(['generate', '--config', config, '--out', out]).code, 0);
    const snapshot = () => JSON.stringify([...readOut(out)].map(([p, f]) => [p, f.mode, f.content.toString('base64')]));
    const before = snapshot();
    fc.assert(
      fc.property(validDocument, mutation, (doc, mutate) => {
        const text = mutate(JSON.parse(JSON.stringify(doc)) as { [key: string]: Json });
        writeFileSync(config, text);
        let run: ReturnType<typeof runCli>;
        try {
          run = runCli(['generate', '--config', config, '--out', out]);
        } catch (error) {
          throw new Error(`generate threw instead of reporting: ${(error as Error).stack}\n${text}`);
        }
        const said = run.err.join('\n');
        if (run.code !== 1) throw new Error(`exit ${run.code}, expected 1, for:\n${text}\n${said}`);
        if (!run.err.some((line) => /^\S+:\d+:\d+  \/\S*  \S/.test(line.replace(config, 'cluster.json')))) throw new Error(`no located error:\n${said}\n${text}`);
        if (/\n\s+at .+:\d+:\d+\)?$/m.test(said)) throw new Error(`a stack trace reached the user:\n${said}`);
      }),
      { seed, numRuns: runs, includeErrorInReport: true },
    );
    assert.ok(snapshot() === before, 'out/ changed during the invalid documents');
  } finally {
    dir.remove();
  }
});

test.run();
