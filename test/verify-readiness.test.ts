// verify.sh in the kubeadm profile reads every member's readiness on its own master, at the readiness probe's URL:
// /readyz where the etcd version has it (3.5.11 on), /health before. The live proof is test/live-kubeadm.test.ts.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseCluster } from '../src/load.js';
import { plan } from '../src/plan.js';
import { render } from '../src/render.js';
import type { Cluster } from '../src/cluster.generated.js';
import { minimalCluster } from './support/fixtures.js';

const context = { configName: 'cluster.json', configDirFromOut: '..', outDirFromConfig: 'out' };

function load(document: unknown): Cluster {
  const result = parseCluster(JSON.stringify(document, null, 2), 'cluster.json');
  if (!result.ok) throw new Error(`expected a valid cluster, got:\n${JSON.stringify(result.problems, null, 2)}`);
  return result.cluster;
}

const kubeadm = (etcd: Record<string, unknown>) => ({ ...minimalCluster(3), etcd: { profile: 'kubeadm', ...etcd } });

test('the readiness URL is the readiness probe\'s: /readyz on 3.5.11 and later, /health on 3.4, on the metrics listener', () => {
  const v35 = plan(load(kubeadm({ image: 'registry.k8s.io/etcd:3.5.21-0' })), context);
  assert.equal(v35.verify.readiness, { host: '127.0.0.1', port: '2381', path: '/readyz', url: 'http://127.0.0.1:2381/readyz' });
  assert.is(v35.verify.readiness.path, v35.kubeadm?.probe.readiness, 'the path kubelet\'s readiness probe asks');
  const v34 = plan(load(kubeadm({ image: 'registry.k8s.io/etcd:3.4.23-0', metricsListener: { address: '::1', port: 12381 } })), context);
  assert.equal(v34.verify.readiness, { host: '::1', port: '12381', path: '/health', url: 'http://[::1]:12381/health' });
});

test('the tutorial profile has no metrics listener, so verify.sh reads no readiness there', () => {
  const tutorial = plan(load(minimalCluster(3)), context);
  assert.equal(tutorial.verify.readiness, { host: '', port: '', path: '', url: '' });
  const script = render(tutorial).find((f) => f.path === 'verify.sh')?.content ?? '';
  assert.not.ok(script.includes('read_readiness'), 'the tutorial verify.sh has no readiness check');
});

test('kubeadm verify.sh: one GET per member on its own master, through bash\'s /dev/tcp (no curl needed), and a member not answering 200 is a problem', () => {
  const script = render(plan(load(kubeadm({ image: 'registry.k8s.io/etcd:3.5.21-0' })), context)).find((f) => f.path === 'verify.sh')?.content ?? '';
  assert.ok(script.includes(`/dev/tcp/$1/$2`) && script.includes(' readiness 127.0.0.1 2381 /readyz '), 'the request is made with bash on the master');
  const code = script.split('\n').filter((line) => !/^\s*#/.test(line)).join('\n');
  assert.not.ok(/\bcurl\b|\bwget\b/.test(code), 'no curl or wget is run');
  assert.ok(script.includes(`problems+=("not ready: $name: http://127.0.0.1:2381/readyz on the master answered '$status_line'")`), 'a member not ready is reported by name');
});

test.run();
