// Live: backup.sh and restore.sh in the kubeadm profile on etcd 3.5, where masters have crictl and no Docker
// (verify.via "crictl"): etcdctl and etcdutl run in the running etcd container with `crictl exec`, which sees only
// the pod's mounts (the certificates and the data directory), and, with no container running, the master's own
// etcdutl restores.
//
// Three fake masters of the stand-in transport (test/support/transport.ts), each with the kubelet stand-in running
// the real etcd 3.5 from the manifest in its manifest directory (test/support/kubelet.ts), and a crictl stand-in
// backed by it (test/support/crictl.ts). The scenario: 10,000 keys, backup.sh, 100 later keys, every data directory
// lost and the members restarted on empty ones, restore.sh --apply: exactly the snapshot's keys are back. Then every
// member down (its data directory unusable, kubelet unable to start it), and restore.sh --apply again, now with the
// master's own etcdutl. Then backup.where "master": the snapshot moves from the data directory, where the container
// wrote it, to backup.masterDir, and nothing stays behind in the data directory.
import { suite } from 'uvu';
import { existsSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ETCD_35, ETCD_35_BIN, needing, requireEtcd35, requireTools } from './support/tools.js';
import { check, explain, indent, sleep } from './support/live-cluster.js';
import { makeLiveWorld, type LiveWorld } from './support/kubelet.js';
import { installCrictl } from './support/crictl.js';
import { Gateway, keyOf, valueOf } from './support/gateway.js';
import { clearLogs, remoteLog } from './support/transport.js';

const KEYS = 10_000;
const LATER = 100;
const NAMES = ['master1', 'master2', 'master3'];

interface State {
  live?: LiveWorld;
  gateway?: Gateway;
  snapshot?: string;
  revision?: number;
  failure?: string;
}

const s = needing(suite<State>('backup and restore, kubeadm profile, crictl, etcd 3.5'), ['etcdctl', 'openssl', 'bash', ETCD_35]);

s.after(async (state) => {
  state.gateway?.close();
  await state.live?.close();
});

function live(state: State): LiveWorld {
  if (!state.live) throw new Error(`not checked: the cluster did not start (${(state.failure ?? 'the first test did not run').split('\n')[0]})`);
  return state.live;
}

/** What this machine's scripts need on PATH besides the stand-ins: etcd 3.5's etcdutl, which reads the snapshot first. */
const env = () => ({ PATH: `${ETCD_35_BIN}:${process.env['PATH'] ?? '/usr/bin:/bin'}` });

async function waitHealthy(l: LiveWorld, what: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while ((await l.etcdctl(['endpoint', 'health'])).code !== 0) {
    check(Date.now() < deadline, () => `${what}: no healthy cluster within 30 s:\n${l.kubelet.history()}`);
    await sleep(300);
  }
}

/** The crictl calls the masters saw, as "HOST crictl ARGS". */
const crictlCalls = (l: LiveWorld) => remoteLog(l.world).filter((f) => f[1] === 'crictl').map((f) => f.join(' '));

function snapshots(l: LiveWorld): string[] {
  const dir = join(l.world.project, 'backups');
  return existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.db') && !f.startsWith('.')).sort() : [];
}

s('three etcd 3.5 members in the kubeadm profile, verify.sh through crictl exec passes', async (state) => {
  if (!requireTools('kubeadm backup and restore', 'etcdctl', 'openssl', 'bash')) return;
  const version = requireEtcd35('kubeadm backup and restore');
  if (!version) return;
  try {
    const l = (state.live = await makeLiveWorld({
      machines: 3,
      initial: 3,
      subnet: 46,
      etcdBin: ETCD_35_BIN,
      ownLoopbacks: true,
      edit: (c) => {
        c.etcd = { ...c.etcd, profile: 'kubeadm', image: `registry.k8s.io/etcd:${version}-0` };
        c['verify'] = { via: 'crictl' };
        c['backup'] = { dir: 'backups', keep: 3 };
      },
    }));
    installCrictl(l.world, { etcdBin: ETCD_35_BIN, mounts: ['etc/etcd', 'var/lib/etcd'] });
    const boot = await l.script('distribute.sh', [], env());
    check(boot.code === 0, () => `distribute.sh: ${explain(boot)}`);
    await waitHealthy(l, 'after distribute.sh');
    const verify = await l.script('verify.sh', [], env());
    check(verify.code === 0, () => `verify.sh (through crictl exec) should pass, but ${explain(verify)}\n${l.kubelet.history()}`);
    check(crictlCalls(l).some((c) => / crictl exec \S+ etcdctl /.test(c)), () => `verify.sh should have run etcdctl with crictl exec: ${crictlCalls(l).join('\n')}`);
    state.gateway = new Gateway(l.clientUrl('master1'), { ca: join(l.world.project, 'ca.pem'), cert: join(l.world.project, 'kubernetes.pem'), key: join(l.world.project, 'kubernetes-key.pem') });
  } catch (error) {
    state.failure = (error as Error).message;
    throw error;
  }
});

s(`backup.sh saves the snapshot of ${KEYS} keys with crictl exec inside the data directory and brings it here, checked`, async (state) => {
  const l = live(state);
  await state.gateway!.putKeys('/before/', KEYS);
  clearLogs(l.world);
  const result = await l.script('backup.sh', [], env());
  check(result.code === 0, () => `backup.sh should succeed through crictl, but ${explain(result)}\n${l.kubelet.history()}`);
  const calls = crictlCalls(l);
  for (const wanted of [/ crictl exec \S+ etcdctl .* snapshot save \S*\/var\/lib\/etcd\/\.etcd-bootstrap-backup-\d{14}\//, / crictl exec \S+ etcdutl snapshot status /]) {
    check(calls.some((c) => wanted.test(c)), () => `backup.sh should run ${wanted} on a master:\n${indent(calls.join('\n'), 2)}`);
  }
  const made = snapshots(l);
  check(made.length === 1, `one snapshot should have come to backups/, found: ${made.join(', ') || 'none'}`);
  const match = /-rev(\d+)\.db$/.exec(made[0]!);
  check(match, `the snapshot's name should end in -rev<revision>.db: ${made[0]}`);
  for (const name of NAMES) {
    const left = readdirSync(l.world.fs(name, 'var', 'lib', 'etcd')).filter((f) => f !== 'member');
    check(left.length === 0, `${name}: backup.sh should leave nothing of its own in the data directory, found ${left.join(', ')}`);
  }
  state.snapshot = join(l.world.project, 'backups', made[0]!);
  state.revision = Number(match[1]);
});

s("backup.sh with master1's etcd down takes the snapshot through another master's container (crictl exec needs a running one)", async (state) => {
  const l = live(state);
  const before = snapshots(l).length;
  await l.kubelet.pause('master1');
  try {
    const result = await l.script('backup.sh', [], env());
    check(result.code === 0, () => `backup.sh should succeed with master1's etcd down, through another master, but ${explain(result)}`);
    check(result.stdout.includes('[master1] no etcd container runs there; trying the next master'), () => `backup.sh should say it passes master1 by, having no running etcd container there:\n${indent(result.stdout, 2)}`);
    check(/^\[master2\] etcdctl snapshot save from /m.test(result.stdout), () => `backup.sh should save the snapshot through master2:\n${indent(result.stdout, 2)}`);
    check(snapshots(l).length === before + 1, `a new snapshot should be in backups/: ${snapshots(l).join(', ')}`);
    const verify = await l.script('verify.sh', ['--only', 'master2,master3'], env());
    check(verify.code === 0, () => `verify.sh --only master2,master3 should pass through master2's container with master1 down, but ${explain(verify)}`);
  } finally {
    l.kubelet.resume('master1');
    await waitHealthy(l, 'master1 back');
  }
});

s(`after ${LATER} more keys and every data directory lost, restore.sh --apply restores in the running containers (crictl exec) and brings back exactly the snapshot's keys`, async (state) => {
  const l = live(state);
  check(state.snapshot && state.revision !== undefined, 'not checked: no snapshot from the test before');
  await state.gateway!.putKeys('/later/', LATER);
  for (const name of NAMES) await l.kubelet.pause(name);
  for (const name of NAMES) rmSync(l.world.fs(name, 'var', 'lib', 'etcd'), { recursive: true, force: true });
  for (const name of NAMES) l.kubelet.resume(name);
  await waitHealthy(l, 'the members restarted on empty data directories');
  check((await state.gateway!.range('/before/')).kvs.size === 0, 'the members restarted on empty data directories should hold no key');
  clearLogs(l.world);
  const started = Date.now();
  const result = await l.script('restore.sh', [state.snapshot, '--apply'], env());
  console.log(`\n  restore.sh --apply (kubeadm, crictl, etcd 3.5) of ${KEYS} keys on 3 members took ${((Date.now() - started) / 1000).toFixed(1)} s`);
  if (process.env['ETCD_BOOTSTRAP_SHOW_RESTORE']) console.log(result.stdout, result.stderr, l.kubelet.history());
  check(result.code === 0, () => `restore.sh --apply should restore the cluster, but ${explain(result)}\n${l.kubelet.history()}`);
  const calls = crictlCalls(l);
  check(calls.filter((c) => / crictl exec \S+ etcdutl snapshot restore \S*\/var\/lib\/etcd\/\.etcd-bootstrap-restore-\d{14}\/snapshot\.db /.test(c)).length === 3, () => `each master should restore with etcdutl in its running container, inside the data directory:\n${indent(calls.join('\n'), 2)}`);
  const { revision, kvs } = await state.gateway!.range('/before/');
  check(kvs.size === KEYS, `every one of the ${KEYS} keys should be back, but ${kvs.size} are`);
  const wrong = [...Array(KEYS).keys()].filter((i) => kvs.get(keyOf('/before/', i)) !== valueOf('/before/', i));
  check(wrong.length === 0, `every key should have its value again; ${wrong.length} do not`);
  check((await state.gateway!.range('/later/')).kvs.size === 0, `the ${LATER} keys written after the backup should not be back`);
  check(revision >= state.revision, `the restored cluster's revision (${revision}) should be at least the snapshot's (${state.revision})`);
  for (const name of NAMES) {
    const varLib = l.world.fs(name, 'var', 'lib');
    const aside = readdirSync(varLib).filter((f) => /^etcd\.\d{14}$/.test(f));
    check(aside.length === 1, `${name}: the data directory of before should be kept aside as etcd.<UTC time>, found: ${readdirSync(varLib).join(', ')}`);
    const inside = readdirSync(join(varLib, 'etcd'));
    check(JSON.stringify(inside) === '["member"]', `${name}: the restored data directory should hold member/ only, holds ${inside.join(', ')}`);
    check((statSync(join(varLib, 'etcd')).mode & 0o777) === 0o700, `${name}: the restored data directory should have mode 0700`);
  }
});

s("with every member down (no container to exec in), restore.sh --apply restores with the master's own etcdutl", async (state) => {
  const l = live(state);
  check(state.snapshot, 'not checked: no snapshot from the test before');
  for (const name of NAMES) await l.kubelet.pause(name);
  for (const name of NAMES) {
    const dataDir = l.world.fs(name, 'var', 'lib', 'etcd');
    rmSync(dataDir, { recursive: true, force: true });
    writeFileSync(dataDir, 'not a data directory\n');
  }
  for (const name of NAMES) l.kubelet.resume(name);
  await sleep(1_000);
  check(NAMES.every((n) => l.kubelet.pids()[n] === undefined), () => `no etcd should run with its data directory unusable:\n${l.kubelet.history()}`);
  // Without etcdutl on the masters, restore.sh refuses before it stops anything.
  const refused = await l.script('restore.sh', [state.snapshot, '--apply'], env());
  check(refused.code === 1 && /etcdutl is not on this master's PATH, and no etcd container runs/.test(refused.stdout + refused.stderr), () => `without a container and without etcdutl on the masters, restore.sh should say what is missing, but ${explain(refused)}`);
  check(refused.stderr.includes('restore.sh stopped before stopping any member'), () => `and it should stop before stopping any member:\n${indent(refused.stderr, 2)}`);
  // The operator installs etcd 3.5's etcdutl on the masters.
  symlinkSync(join(ETCD_35_BIN, 'etcdutl'), join(l.world.dir, 'remote-bin', 'etcdutl'));
  await sleep(1_100);
  const result = await l.script('restore.sh', [state.snapshot, '--apply'], env());
  check(result.code === 0, () => `restore.sh --apply should restore with the masters' own etcdutl, but ${explain(result)}\n${l.kubelet.history()}`);
  check((result.stdout.match(/no etcd container runs on this master: restoring with its own etcdutl/g) ?? []).length === 3, () => `each master should say it restores with its own etcdutl:\n${indent(result.stdout, 2)}`);
  const { kvs } = await state.gateway!.range('/before/');
  check(kvs.size === KEYS, `every one of the ${KEYS} keys should be back, but ${kvs.size} are`);
  for (const name of NAMES) {
    const kept = readdirSync(l.world.fs(name, 'var', 'lib')).filter((f) => /^etcd\.\d{14}$/.test(f) && statSync(l.world.fs(name, 'var', 'lib', f)).isFile());
    check(kept.length === 1, `${name}: the file that stood at the data directory's place should be kept aside`);
  }
});

s('backup.where "master": the snapshot the container wrote in the data directory moves to backup.masterDir, whole, and nothing stays behind', async (state) => {
  const l = live(state);
  const masterDir = `${l.world.dir}/remote/var/backups/etcd`;
  l.regenerate((c) => (c['backup'] = { where: 'master', masterDir, keep: 2 }));
  const before = snapshots(l).length;
  clearLogs(l.world);
  for (let i = 0; i < 3; i++) {
    await state.gateway!.put(`/on-master/${i}`, String(i));
    const result = await l.script('backup.sh', [], env());
    check(result.code === 0, () => `backup.sh (where "master") run ${i + 1} should succeed, but ${explain(result)}`);
  }
  const holders = NAMES.filter((n) => existsSync(l.world.fs(n, 'var', 'backups', 'etcd')));
  check(holders.length >= 1, `a master should hold the snapshots in ${masterDir}, but none does`);
  check(snapshots(l).length === before, `with where "master", no snapshot should come to this machine: ${snapshots(l).join(', ')}`);
  const kept = holders.flatMap((n) => readdirSync(l.world.fs(n, 'var', 'backups', 'etcd')).map((f) => `${n}/${f}`)).sort();
  check(kept.filter((f) => f.endsWith('.db')).length === 2 && kept.length === 4, `backup.keep is 2: two snapshots, each with its digest, and nothing else: ${kept.join(', ')}`);
  for (const name of NAMES) {
    const left = readdirSync(l.world.fs(name, 'var', 'lib', 'etcd')).filter((f) => f !== 'member');
    check(left.length === 0, `${name}: nothing of backup.sh's should stay in the data directory, found ${left.join(', ')}`);
  }
});

s.run();
