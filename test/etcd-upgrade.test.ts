// Raising etcd by more than one minor version at once against the manifests in the out/ being replaced is refused:
// etcd upgrades one minor version at a time.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { manifestImage, upgradeFinding } from '../src/etcd-profile.js';
import { runCli, tempDir, writeFile, minimalCluster } from './support/fixtures.js';

function snapshot(dir: string): Record<string, string> {
  return Object.fromEntries(readdirSync(dir).sort().map((name) => [name, readFileSync(join(dir, name), 'utf8')]));
}

test("a manifest's image is read from either profile's manifest", () => {
  assert.is(manifestImage('spec:\n  containers:\n  - name: etcd\n    image: quay.io/coreos/etcd:v3.3.5\n'), 'quay.io/coreos/etcd:v3.3.5');
  assert.is(manifestImage('  - command:\n    - etcd\n    image: "registry.k8s.io/etcd:3.5.21-0"\n'), 'registry.k8s.io/etcd:3.5.21-0');
  assert.is(manifestImage('no image here\n'), undefined);
});

test('one minor version up (or none, or down) passes; two at once is refused, pointing at what sets the version', () => {
  const previous = [{ shown: 'out/master1-etcd.manifest', content: '    image: quay.io/coreos/etcd:v3.3.5\n' }];
  assert.is(upgradeFinding(previous, { profile: 'tutorial', image: 'quay.io/coreos/etcd:v3.4.22' }), undefined);
  assert.is(upgradeFinding(previous, { profile: 'tutorial', image: 'quay.io/coreos/etcd:v3.3.25' }), undefined);
  const jump = upgradeFinding(previous, { profile: 'kubeadm', image: 'registry.k8s.io/etcd:3.5.21-0' });
  assert.is(jump?.pointer, '/etcd/image');
  assert.match(jump?.message ?? '', /^raises etcd from 3.3.5 \(out\/master1-etcd.manifest\) to 3.5.21, 2 minor versions at once: etcd upgrades one minor version at a time/);
  assert.match(jump?.message ?? '', /generate with an etcd 3.4 image first/);
  assert.is(upgradeFinding(previous, { profile: 'kubeadm', image: undefined })?.pointer, '/etcd/profile', "the kubeadm profile's default image is 3.5");
});

test('generate refuses to replace 3.3 manifests with 3.5 ones, located in cluster.json, and leaves out/ as it was', () => {
  const dir = tempDir('upgrade');
  try {
    const config = join(dir.path, 'cluster.json');
    const out = join(dir.path, 'out');
    writeFile(config, JSON.stringify(minimalCluster(1), null, 2));
    assert.is(runCli(['generate', '--config', config]).code, 0);
    const before = snapshot(out);
    writeFile(config, JSON.stringify({ ...minimalCluster(1), etcd: { profile: 'kubeadm', image: 'registry.k8s.io/etcd:3.5.21-0' } }, null, 2));
    const run = runCli(['generate', '--config', config]);
    assert.is(run.code, 1, `expected exit 1; stderr:\n${run.err.join('\n')}`);
    assert.match(run.err[0] ?? '', new RegExp(`^${config.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:11:14 {2}/etcd/image {2}raises etcd from 3.3.5 \\(.*/master1-etcd.manifest\\) to 3.5.21`));
    assert.equal(snapshot(out), before, 'out/ is unchanged');
    writeFile(config, JSON.stringify({ ...minimalCluster(1), etcd: { image: 'quay.io/coreos/etcd:v3.4.22' } }, null, 2));
    assert.is(runCli(['generate', '--config', config]).code, 0, 'one step, 3.3 to 3.4, is fine');
    writeFile(config, JSON.stringify({ ...minimalCluster(1), etcd: { profile: 'kubeadm', image: 'registry.k8s.io/etcd:3.5.21-0' } }, null, 2));
    assert.is(runCli(['generate', '--config', config]).code, 0, 'then 3.4 to 3.5');
  } finally {
    dir.remove();
  }
});

test.run();
