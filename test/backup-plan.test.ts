// plan.ts, backup part: what backup.sh, restore.sh and the backup timer place, computed once and checked here.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { backupPlan, etcdctlOnMaster, plan, snapshotTool } from '../src/plan.js';
import { etcdVersion } from '../src/etcd-profile.js';
import { parseCluster } from '../src/load.js';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadCluster, minimalCluster, runCli, tempDir, writeFile } from './support/fixtures.js';
import { requireTools } from './support/tools.js';

const context = { configName: 'cluster.json', configDirFromOut: '..', outDirFromConfig: 'out' };

const load = loadCluster;

test('the backup defaults: snapshots come to the operator, into backups/ beside cluster.json, the newest 7 kept, daily', () => {
  const b = backupPlan(load(minimalCluster(3)), context);
  assert.is(b.onOperator, true);
  assert.is(b.dir, 'backups');
  assert.is(b.dirFromOut, '../backups', 'the scripts find the directory relative to themselves, in out/');
  assert.is(b.keep, '7');
  assert.is(b.namePrefix, 'etcd-cluster-0-', 'a snapshot is named after the cluster token');
  assert.is(b.schedule, 'daily');
  assert.is(b.timerScript, '/opt/etcd-bootstrap/out/backup.sh');
  assert.is(b.timerWorkingDirectory, '/opt/etcd-bootstrap', "the timer runs backup.sh from cluster.json's directory, where vagrant looks");
});

test('backup.where "master" keeps the snapshots in backup.masterDir; an absolute backup.dir stays as it is', () => {
  const b = backupPlan(load({ ...minimalCluster(3), backup: { where: 'master', masterDir: '/srv/etcd-snapshots', dir: '/mnt/backups', keep: 3 } }), context);
  assert.is(b.onOperator, false);
  assert.is(b.masterDir, '/srv/etcd-snapshots');
  assert.is(b.dirFromOut, '/mnt/backups');
  assert.is(b.keep, '3');
});

test('backup.keep below 1 is refused: the newest good snapshot must always stay', () => {
  const result = parseCluster(JSON.stringify({ ...minimalCluster(3), backup: { keep: 0 } }), 'cluster.json');
  assert.is(result.ok, false);
  if (!result.ok) assert.ok(result.problems.some((p) => p.pointer === '/backup/keep'), result.problems.map((p) => `${p.pointer} ${p.message}`).join('\n'));
});

test('quorum is more than half the members: what the README says a lost member leaves', () => {
  assert.equal([1, 2, 3, 4, 5, 7].map((n) => backupPlan(load(minimalCluster(n)), context).quorum), ['1', '2', '2', '3', '3', '4']);
});

test("the etcd version comes from the image's tag; etcdutl reads and restores snapshots from 3.5, etcdctl before", () => {
  const tool = (image: string, version?: string) => snapshotTool(etcdVersion({ profile: 'tutorial', image, ...(version ? { version } : {}) }));
  assert.is(tool('quay.io/coreos/etcd:v3.3.5'), 'etcdctl');
  assert.is(tool('quay.io/coreos/etcd:v3.4.23'), 'etcdctl');
  assert.is(tool('registry.k8s.io/etcd:3.5.21-0'), 'etcdutl');
  assert.is(tool('gcr.io/etcd-development/etcd:v3.6.1'), 'etcdutl');
  assert.is(tool(`registry.example.com/etcd@sha256:${'a'.repeat(64)}`, '3.5.21'), 'etcdutl', 'etcd.version speaks for a digest');
  assert.is(tool('registry.example.com/etcd'), 'etcdctl', 'a tag without a version gets the tool every 3.x has');
  const b = backupPlan(load({ ...minimalCluster(3), etcd: { profile: 'kubeadm', image: 'registry.k8s.io/etcd:3.5.21-0' } }), context);
  assert.is(b.snapshotToolPath, '/usr/local/bin/etcdutl');
});

test('verify.sh and backup.sh reach etcdctl on a master the same way: one value in the plan', () => {
  const cluster = load(minimalCluster(3));
  const shared = etcdctlOnMaster(cluster);
  assert.equal(shared.run, ['sudo', 'docker', 'run', '--rm', '--net=host', '-v', '/etc/etcd:/etc/etcd:ro', '-e', 'ETCDCTL_API=3']);
  assert.is(shared.image, 'quay.io/coreos/etcd:v3.3.5');
  assert.equal(plan(cluster, context).etcdctlOnMaster, shared);
});

test("restore.sh judges a member stopped by its own address, and puts its manifest aside outside kubelet's directory", () => {
  const b = backupPlan(load({ ...minimalCluster(2), masters: [{ name: 'm1', ip: 'FD00:0:0::11', host: 'm1.example' }] }), context);
  assert.equal(b.memberIps, ['fd00::11'], 'the address as /dev/tcp and ip(8) write it');
  assert.is(b.manifestAsidePrefix, '/etc/kubernetes/etcd.manifest.restore-');
  assert.not.ok(b.manifestAsidePrefix.startsWith('/etc/kubernetes/manifests/'), 'kubelet loads every file in its manifest directory');
});

test('the backup timer and its service pass systemd-analyze verify, run backup.sh from timerOutDir on the schedule', () => {
  if (!requireTools('backup timer', 'systemd-analyze')) return;
  const dir = tempDir('backup-timer');
  try {
    const out = join(dir.path, 'out');
    const config = writeFile(join(dir.path, 'cluster.json'), JSON.stringify({ ...minimalCluster(3), backup: { schedule: '*-*-* 02:30:00', timerOutDir: out } }));
    const generated = runCli(['generate', '--config', config, '--out', out]);
    assert.is(generated.code, 0, generated.err.join('\n'));
    const units = ['etcd-backup.service', 'etcd-backup.timer'].map((unit) => join(out, unit));
    const verified = spawnSync('systemd-analyze', ['verify', '--man=no', ...units], { encoding: 'utf8' });
    assert.is(verified.status, 0, `systemd-analyze verify: ${verified.stdout}${verified.stderr}`);
    assert.is(`${verified.stdout}${verified.stderr}`.trim(), '', 'systemd-analyze verify has no complaint');
    assert.ok(readFileSync(units[1]!, 'utf8').includes('\nOnCalendar=*-*-* 02:30:00\n'), 'the timer runs on backup.schedule');
    const service = readFileSync(units[0]!, 'utf8');
    assert.ok(service.includes(`\nExecStart=${out}/backup.sh\n`), service);
    assert.ok(service.includes(`\nWorkingDirectory=${dir.path}\n`), "the service runs from cluster.json's directory");
  } finally {
    dir.remove();
  }
});

test.run();
