// The rolling apply and a member added, in the kubeadm profile on etcd 3.5 (issue 12, item 5's "also etcd 3.5"):
// the kubelet stand-in runs the container's command and args of each manifest (flags, no env), with 127.0.0.1 mapped
// to each master's own loopback address. distribute.sh bootstraps three members; a changed flag reaches them one at a
// time with a client writing every 50 ms to every client URL (at least 95% succeed, none acknowledged is lost); then
// members.sh --apply adds master4 as a learner and promotes it, restarting no other member.
import { suite } from 'uvu';
import { join } from 'node:path';
import { ETCD_35, ETCD_35_BIN, needing, requireEtcd35, requireTools } from './support/tools.js';
import { check, explain, sleep } from './support/live-cluster.js';
import { makeLiveWorld, type LiveWorld } from './support/kubelet.js';
import { Writer, describe, successRate } from './support/writer.js';

const kubeadm = needing(suite<{ live?: LiveWorld; writer?: Writer }>('rolling apply and membership, kubeadm profile, etcd 3.5'), ['etcdctl', 'openssl', 'bash', ETCD_35]);

kubeadm.after(async (context) => {
  await context.writer?.stop();
  await context.live?.close();
});

kubeadm('bootstrap, a flag changed one master at a time, master4 added as a learner: writes go on, nothing lost, no other member restarts', async (context) => {
  if (!requireTools('kubeadm rolling apply', 'etcdctl', 'openssl', 'bash')) return;
  const version = requireEtcd35('kubeadm rolling apply');
  if (!version) return;
  const live = (context.live = await makeLiveWorld({
    machines: 4,
    initial: 3,
    subnet: 44,
    etcdBin: ETCD_35_BIN,
    edit: (c) => (c.etcd = { ...c.etcd, profile: 'kubeadm', image: `registry.k8s.io/etcd:${version}-0` }),
  }));
  const env = { PATH: `${ETCD_35_BIN}:${process.env['PATH'] ?? '/usr/bin:/bin'}` };
  const boot = await live.script('distribute.sh', [], env);
  check(boot.code === 0, () => `distribute.sh: ${explain(boot)}`);
  const deadline = Date.now() + 30_000;
  while ((await live.etcdctl(['endpoint', 'health'])).code !== 0) {
    check(Date.now() < deadline, () => `no healthy cluster within 30 s:\n${live.kubelet.history()}`);
    await sleep(300);
  }
  const names = ['master1', 'master2', 'master3'];
  const tls = { ca: join(live.world.project, 'ca.pem'), cert: join(live.world.project, 'kubernetes.pem'), key: join(live.world.project, 'kubernetes-key.pem') };
  const writer = (context.writer = new Writer(names.map(live.clientUrl), tls));
  writer.start();
  await sleep(500);
  live.regenerate((c) => (c.etcd = { ...c.etcd, extraArgs: { 'heartbeat-interval': '150' } }));
  writer.phase(`rolling apply on etcd ${version}, kubeadm profile`);
  const run = await live.script('distribute.sh', [], env);
  const stats = writer.phase('after');
  console.log(`  ${describe(stats)}`);
  check(run.code === 0, () => `distribute.sh (rolling): ${explain(run)}\n${live.kubelet.history()}`);
  check(run.stdout.includes('rolling apply: 3 replaced one at a time'), () => `one master at a time:\n${run.stdout}`);
  check(successRate(stats) >= 0.95, () => `at least 95% of writes succeed: ${describe(stats)}`);
  const pids = live.kubelet.pids();
  live.regenerate((c) => c.masters.push({ name: 'master4', ip: '127.0.44.4', host: '127.0.44.4', joinedWith: names } as (typeof c.masters)[number]));
  writer.phase(`add master4 on etcd ${version}`);
  const add = await live.script('members.sh', ['--apply'], env);
  console.log(`  ${describe(writer.phase('after'))}`);
  check(add.code === 0, () => `members.sh --apply: ${explain(add)}\n${live.kubelet.history()}`);
  check(add.stdout.includes('--learner') && add.stdout.includes('member promote'), () => `a learner, then promoted:\n${add.stdout}`);
  for (const n of names) check(live.kubelet.pids()[n] === pids[n], () => `${n} did not restart:\n${live.kubelet.history()}`);
  await writer.stop();
  const got = await live.etcdctl(['get', '--prefix', 'writer/'], [...names, 'master4'].map(live.clientUrl).join(','));
  const lines = got.stdout.split('\n');
  const stored = new Map<string, string>();
  for (let i = 0; i + 1 < lines.length; i += 2) stored.set(lines[i]!, lines[i + 1]!);
  const missing = [...writer.acknowledged].filter(([k, v]) => stored.get(k) !== v);
  check(missing.length === 0, () => `${missing.length} acknowledged writes missing`);
});

kubeadm.run();
