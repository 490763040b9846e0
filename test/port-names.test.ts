// The tutorial's manifests stay the default, byte for byte: the three manifests the default cluster.json makes are
// exactly those etcd-bootstrap 0.1 made (the tutorial's, checked by test/seed.test.ts). So the port the tutorial
// calls `serverport`, which is etcd's peer port, keeps its name and its line; out/README.md says what it is.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { packageRoot } from '../src/schema.js';

/** sha256 of out/masterN-etcd.manifest as etcd-bootstrap 0.1 wrote them (commit b954762). */
const TUTORIAL_MANIFESTS: Record<string, string> = {
  'master1-etcd.manifest': 'e5683ceafdd420828482012faaffb10a64ab3e6e8147b8562c78d21947400f4e',
  'master2-etcd.manifest': '17fc570da45bf0a5cd6052c918e7a0a454220c3b5f1af8a99eeaf831101a6aa1',
  'master3-etcd.manifest': '5e766424bff85059bb3dd5d7d502ab69ececdc05e9d5e405d2620b8f0bf157eb',
};

test('the default cluster.json\'s manifests are byte for byte what they were before any improvement', () => {
  for (const [file, expected] of Object.entries(TUTORIAL_MANIFESTS)) {
    const bytes = readFileSync(join(packageRoot, 'out', file));
    assert.is(createHash('sha256').update(bytes).digest('hex'), expected, `out/${file} changed: the tutorial profile's manifests must not (git diff b954762 -- out/${file})`);
  }
});

test('the port named serverport is the peer port, and out/README.md says so', () => {
  const text = readFileSync(join(packageRoot, 'out', 'master1-etcd.manifest'), 'utf8');
  const pod = parse(text) as { spec: { containers: { ports: { name: string; containerPort: number }[] }[] } };
  const port = pod.spec.containers[0]!.ports.find((p) => p.name === 'serverport');
  assert.is(port?.containerPort, 2380, 'serverport is 2380, the peer port of the default cluster.json');
  const readme = readFileSync(join(packageRoot, 'out', 'README.md'), 'utf8');
  assert.match(readme, /The peer port 2380\*\* \(the manifest names it `serverport`/, 'out/README.md names serverport as the peer port');
});

test.run();
