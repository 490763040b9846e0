// Live: verify.sh in the kubeadm profile fails on an etcd alarm. A one-member kubeadm-profile cluster on this
// machine's etcd 3.4 gets a tiny --quota-backend-bytes (etcd.extraArgs), is written past it until etcd raises its
// NOSPACE alarm (the member still answers health checks: the alarm is what says writes fail), and verify.sh must
// name the alarm and exit 1. Before the writes it passes, so the check can tell the two apart.
import { suite } from 'uvu';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { needing, requireTools } from './support/tools.js';
import {
  check,
  etcdctl,
  explain,
  LiveFailure,
  prepareCluster,
  removeCluster,
  startMember,
  stopAll,
  verify,
  waitHealthy,
  type LiveCluster,
} from './support/live-cluster.js';

const s = needing(suite<{ cluster?: LiveCluster }>('verify.sh and an etcd alarm (kubeadm profile, etcd 3.4)', {}), ['openssl', 'bash', 'etcd', 'etcdctl']);

s.after(async (state) => {
  await stopAll(state.cluster);
  removeCluster(state.cluster);
});

s('a NOSPACE alarm makes verify.sh exit 1 and name it; before it, verify.sh passes', async (state) => {
  if (!requireTools('live: verify.sh and an alarm', 'openssl', 'bash', 'etcd', 'etcdctl')) return;
  const etcd = spawnSync('sh', ['-c', 'command -v etcd'], { encoding: 'utf8' }).stdout.trim();
  const version = /^etcd Version: (3\.4\.\d+)$/m.exec(spawnSync(etcd, ['--version'], { encoding: 'utf8' }).stdout ?? '')?.[1];
  if (!version) {
    if (process.env['CI'] === 'true') throw new LiveFailure(`${etcd} is not etcd 3.4; CI must have it`);
    console.error(`\n!!!! SKIPPED live alarm test: ${etcd} is not etcd 3.4 !!!!\n`);
    return;
  }
  const cluster = await prepareCluster({
    label: 'alarm',
    slug: 'alarm',
    masters: [{ name: 'master1', ip: '127.0.0.2', host: '127.0.0.2' }],
    kubeadm: { version, extraArgs: { 'quota-backend-bytes': '262144' } },
    etcdBin: dirname(etcd),
  });
  state.cluster = cluster;
  cluster.members.forEach(startMember);
  await waitHealthy(cluster, 25_000);
  const etcdctlPath = join(dirname(etcd), 'etcdctl');
  const before = await verify(cluster, ['--local', '--etcdctl', etcdctlPath]);
  check(before.code === 0, () => `before any alarm verify.sh --local should pass, but ${explain(before)}`);
  const value = 'x'.repeat(16_384);
  let refused = false;
  for (let i = 0; i < 64 && !refused; i++) {
    const put = await etcdctl(cluster, ['put', `key${i}`, value]);
    refused = put.code !== 0 && /database space exceeded/.test(put.stderr);
  }
  check(refused, 'etcd should refuse a write past --quota-backend-bytes with "database space exceeded"');
  const after = await verify(cluster, ['--local', '--etcdctl', etcdctlPath]);
  check(after.code === 1, () => `with the NOSPACE alarm raised verify.sh should exit 1, but ${explain(after)}`);
  check(/^ {2}alarm: memberID:\d+ alarm:NOSPACE *$/m.test(after.stderr), () => `verify.sh should name the alarm ("alarm: memberID:… alarm:NOSPACE"), but ${explain(after)}`);
  check(!/not answering/.test(after.stderr), () => `the member still answers; only the alarm is the problem, but ${explain(after)}`);
});

s.run();
