// Every README names the ports preflight.sh finds free, from the same list: the kubeadm profile's metrics port too.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { inEnglish, plan } from '../src/plan.js';
import { parseCluster } from '../src/load.js';
import { examples } from './support/examples.js';

test('inEnglish lists words as a sentence does', () => {
  assert.is(inEnglish([]), '');
  assert.is(inEnglish(['2379']), '2379');
  assert.is(inEnglish(['2379', '2380']), '2379 and 2380');
  assert.is(inEnglish(['2379', '2380', '2381']), '2379, 2380 and 2381');
});

for (const example of examples()) {
  test(`${example.name}: out/README.md names every port preflight.sh checks is free`, () => {
    const loaded = parseCluster(readFileSync(example.config, 'utf8'), example.config);
    if (!loaded.ok) throw new Error(`${example.config} does not load`);
    const ports = plan(loaded.cluster, { configName: 'cluster.json', configDirFromOut: '..', outDirFromConfig: 'out' }).etcd.hostPorts;
    const readme = readFileSync(join(example.out, 'README.md'), 'utf8');
    const said = /free ports ([0-9, and]+),/.exec(readme)?.[1];
    assert.is(said, inEnglish(ports), `${example.name}/out/README.md should say "free ports ${inEnglish(ports)}"`);
    const preflight = readFileSync(join(example.out, 'preflight.sh'), 'utf8');
    assert.ok(preflight.includes(`for port in ${ports.join(' ')}; do`), `preflight.sh checks ${ports.join(' ')}`);
  });
}

test('the kubeadm example says its metrics port: 2379, 2380 and 2381', () => {
  const readme = readFileSync(join(examples().find((e) => e.name === 'examples/kubeadm')!.out, 'README.md'), 'utf8');
  assert.ok(readme.includes('free ports 2379, 2380 and 2381,'), readme.split('\n').find((l) => l.includes('free ports')));
});

test.run();
