// members.sh through crictl (verify.via "crictl": etcdctl runs in a master's running etcd container with
// `crictl exec`), live in the kubeadm profile on etcd 3.5, and what its --dry-run does (issue: members.sh --dry-run
// read no member list through the transport, so it refused, listing every master as missing).
//
// Four fake masters of the stand-in transport (test/support/transport.ts), the kubelet stand-in running the real
// etcd 3.5 from each placed manifest (test/support/kubelet.ts), and the crictl stand-in backed by it
// (test/support/crictl.ts). etcdctl anywhere else, on this machine or on a master, is a stand-in that fails and is
// logged: every etcdctl call of members.sh must go through crictl exec. The story: three members from
// distribute.sh; a dry run of adding master4 (the plan and every command, nothing changed); --apply adds it as a
// learner and promotes it; a dry run of removing master4 while it leads (move-leader first); master1's disk dies
// (its kubelet cannot start etcd: no container on the first master, where etcdctl used to be run), and
// "rejoinedWith" replaces it, dry run first, then --apply. Then restore.sh --apply of a fresh backup restores the
// members there are: all four after master4's join, and the three left after its removal.
import { suite } from 'uvu';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ETCD_35, ETCD_35_BIN, needing, requireEtcd35, requireTools } from './support/tools.js';
import { check, explain, indent, sleep, type RunResult } from './support/live-cluster.js';
import { makeLiveWorld, type LiveWorld } from './support/kubelet.js';
import { installCrictl } from './support/crictl.js';
import { clearLogs, remoteLog, type ClusterDoc } from './support/transport.js';
import { bootstrap, dryRunPrints, etcdctlOutside, forbidEtcdctlOutside, memberList, observe, unchangedSince, type Observed } from './support/membership-checks.js';

const NAMES = ['master1', 'master2', 'master3', 'master4'];
type Master = ClusterDoc['masters'][number] & { joinedWith?: string[]; rejoinedWith?: string[]; removed?: boolean };

interface State {
  live?: LiveWorld;
  failure?: string;
}

const s = needing(suite<State>('members.sh through crictl exec, and its --dry-run, kubeadm profile, etcd 3.5'), ['etcdctl', 'openssl', 'bash', ETCD_35]);

s.after(async (state) => {
  await state.live?.close();
});

function live(state: State): LiveWorld {
  if (!state.live) throw new Error(`not checked: the cluster did not start (${(state.failure ?? 'the first test did not run').split('\n')[0]})`);
  return state.live;
}

/** The crictl calls the masters saw, as "HOST crictl ARGS". */
const crictlCalls = (l: LiveWorld) => remoteLog(l.world).filter((f) => f[1] === 'crictl').map((f) => f.join(' '));
const members = (l: LiveWorld) => memberList(l, ['master1', 'master2', 'master3', 'master4']);

async function changedNothing(l: LiveWorld, before: Observed, what: string): Promise<void> {
  await unchangedSince(l, before, () => members(l), what);
  const changes = crictlCalls(l).filter((c) => / etcdctl .*(member (add|remove|promote)|move-leader)/.test(c));
  check(changes.length === 0, () => `${what}: no etcdctl change should run, but:\n${indent(changes.join('\n'), 2)}`);
}

/** A dry run's output: the plan and every command (dryRunPrints), with no key bytes. */
function dryRunSays(l: LiveWorld, run: RunResult, what: string, wanted: RegExp[]): void {
  dryRunPrints(run, what, wanted);
  const key = readFileSync(join(l.world.project, 'kubernetes-key.pem'), 'utf8').split('\n')[1]!;
  check(!run.stdout.includes(key), `${what}: a dry run must not print the private key's bytes`);
}

s('three etcd 3.5 members from distribute.sh, in the kubeadm profile with verify.via "crictl"', async (state) => {
  if (!requireTools('members.sh through crictl', 'openssl', 'bash')) return;
  const version = requireEtcd35('members.sh through crictl');
  if (!version) return;
  try {
    const l = (state.live = await makeLiveWorld({
      machines: 4,
      initial: 3,
      subnet: 57,
      etcdBin: ETCD_35_BIN,
      ownLoopbacks: true,
      edit: (c) => {
        c.etcd = { ...c.etcd, profile: 'kubeadm', image: `registry.k8s.io/etcd:${version}-0` };
        c['verify'] = { via: 'crictl' };
      },
    }));
    installCrictl(l.world, { etcdBin: ETCD_35_BIN, mounts: ['etc/etcd', 'var/lib/etcd'] });
    forbidEtcdctlOutside(l);
    await bootstrap(l, ['master1', 'master2', 'master3']);
  } catch (error) {
    state.failure = (error as Error).message;
    throw error;
  }
});

s('members.sh --dry-run of adding master4 reads the live members through crictl exec, prints the plan and every command, and changes nothing', async (state) => {
  const l = live(state);
  l.regenerate((c) => c.masters.push({ name: 'master4', ip: '127.0.57.4', host: '127.0.57.4', joinedWith: ['master1', 'master2', 'master3'] } as Master));
  const before = await observe(l, () => members(l));
  clearLogs(l.world);
  const dry = await l.script('members.sh', ['--dry-run']);
  dryRunSays(l, dry, 'dry run of an add', [
    /1\. add master4: cluster\.json says it joins with master1 master2 master3; it is not a member/,
    /\[master1\] would run, through [^\n]*:\n(\s+\| [^\n]*\n)*\s+\| sudo crictl exec "\$id" etcdctl [^\n]* member add master4 --peer-urls=https:\/\/127\.0\.57\.4:\d+ --learner/,
    /\[master4\] would run, through [^\n]*:\n(\s+\| [^\n]*\n)*\s+\| # \(dry run: here would follow the bytes of [^\n]*master4-etcd\.manifest/,
    /\| place "\$stage"\/etcd\.manifest \S+\/etc\/kubernetes\/manifests\/etcd\.manifest 0644 /,
    /sudo crictl exec "\$id" etcdctl [^\n]* member promote NEW_ID /,
  ]);
  await changedNothing(l, before, 'dry run of an add');
  check(crictlCalls(l).some((c) => / crictl exec \S+ etcdctl .* member list /.test(c)), () => `the dry run should read member list through crictl exec:\n${indent(crictlCalls(l).join('\n'), 2)}`);
  check(etcdctlOutside(l) === '', () => `no etcdctl should run outside crictl exec:\n${etcdctlOutside(l)}`);
});

s('members.sh --apply adds master4 as a learner and promotes it, every etcdctl through crictl exec; no other member restarts', async (state) => {
  const l = live(state);
  const pids = l.kubelet.pids();
  clearLogs(l.world);
  const run = await l.script('members.sh', ['--apply']);
  check(run.code === 0, () => `members.sh --apply: ${explain(run)}\n${l.kubelet.history()}`);
  const calls = crictlCalls(l);
  for (const wanted of [/ crictl exec \S+ etcdctl .* member add master4 --peer-urls=\S+ --learner /, / crictl exec \S+ etcdctl .* member promote [0-9a-f]+ /, / crictl exec \S+ etcdctl .* endpoint status -w json /]) {
    check(calls.some((c) => wanted.test(c)), () => `members.sh should run ${wanted} through crictl exec:\n${indent(calls.join('\n'), 2)}`);
  }
  check(calls.every((c) => !c.startsWith('master4 ')), () => `etcdctl should not run on master4, the master being added:\n${indent(calls.join('\n'), 2)}`);
  check(etcdctlOutside(l) === '', () => `no etcdctl should run outside crictl exec:\n${etcdctlOutside(l)}`);
  const list = await members(l);
  check(list.length === 4 && list.every((m) => m.status === 'started' && !m.learner), () => `four started voting members: ${JSON.stringify(list)}`);
  for (const n of ['master1', 'master2', 'master3']) check(l.kubelet.pids()[n] === pids[n], () => `${n} should not restart:\n${l.kubelet.history()}`);
  console.log(`  master4 added: ${calls.length} crictl calls, ${calls.filter((c) => / crictl exec /.test(c)).length} of them etcdctl in a container`);
});

s('members.sh --dry-run of removing master4 while it leads prints move-leader, member remove and the script that moves its manifest aside, and changes nothing', async (state) => {
  const l = live(state);
  const id = (await members(l)).find((m) => m.name === 'master4')?.id ?? '';
  const moved = await l.etcdctl(['move-leader', id], NAMES.map(l.clientUrl).join(','));
  check(moved.code === 0, () => `make master4 the leader: ${explain(moved)}`);
  const saved = JSON.stringify(l.cluster);
  l.regenerate((c) => ((c.masters as Master[]).find((m) => m.name === 'master4')!.removed = true));
  try {
    const before = await observe(l, () => members(l));
    clearLogs(l.world);
    const dry = await l.script('members.sh', ['--apply', '--dry-run']);
    dryRunSays(l, dry, 'dry run of a removal', [
      /1\. remove master4: cluster\.json marks it removed; it is a member \(healthy\)/,
      /\[master4\] etcdctl move-leader [0-9a-f]+: master4 leads/,
      new RegExp(`sudo crictl exec "\\$id" etcdctl [^\\n]* member remove ${id} `),
      /\| +sudo mv \S+\/etc\/kubernetes\/manifests\/etcd\.manifest \S+"\$stamp"/,
    ]);
    await changedNothing(l, before, 'dry run of a removal');
    check(etcdctlOutside(l) === '', () => `no etcdctl should run outside crictl exec:\n${etcdctlOutside(l)}`);
  } finally {
    l.regenerate((c) => Object.assign(c, JSON.parse(saved) as ClusterDoc));
  }
});

s('master1\'s disk dies and its etcd cannot start (no container where etcdctl ran first): rejoinedWith replaces it, dry run then --apply, every etcdctl through crictl exec on another master', async (state) => {
  const l = live(state);
  await l.kubelet.pause('master1');
  const dataDir = l.world.fs('master1', 'var', 'lib', 'etcd');
  rmSync(dataDir, { recursive: true, force: true });
  writeFileSync(dataDir, 'the disk that held the data directory died\n'); // kubelet cannot start etcd on it
  l.kubelet.resume('master1');
  await sleep(600);
  check(l.kubelet.pids()['master1'] === undefined, () => `master1's etcd should not run:\n${l.kubelet.history()}`);
  l.regenerate((c) => ((c.masters as Master[]).find((m) => m.name === 'master1')!.rejoinedWith = ['master2', 'master3', 'master4']));
  const before = await observe(l, () => members(l));
  clearLogs(l.world);
  const dry = await l.script('members.sh', ['--dry-run']);
  dryRunSays(l, dry, 'dry run of a replacement', [
    /1\. replace master1: cluster\.json says it rejoins \(its data is lost\) with master2 master3 master4, and the member does not answer \(unhealthy\)/,
    /\[master2\] would run, through [^\n]*:\n(\s+\| [^\n]*\n)*\s+\| sudo crictl exec "\$id" etcdctl [^\n]* member remove [0-9a-f]+ /,
    /sudo crictl exec "\$id" etcdctl [^\n]* member add master1 --peer-urls=\S+ --learner/,
  ]);
  await changedNothing(l, before, 'dry run of a replacement');
  const pids = l.kubelet.pids();
  clearLogs(l.world);
  const run = await l.script('members.sh', ['--apply']);
  check(run.code === 0, () => `members.sh --apply (replace master1): ${explain(run)}\n${l.kubelet.history()}`);
  const calls = crictlCalls(l);
  for (const wanted of [/^master1 crictl ps /, /^master2 crictl exec \S+ etcdctl .* member list /, / crictl exec \S+ etcdctl .* member remove [0-9a-f]+ /, / crictl exec \S+ etcdctl .* member add master1 /, / crictl exec \S+ etcdctl .* member promote /]) {
    check(calls.some((c) => wanted.test(c)), () => `members.sh should run ${wanted}:\n${indent(calls.join('\n'), 2)}`);
  }
  check(!calls.some((c) => c.startsWith('master1 crictl exec ')), () => `nothing can run in master1's container, which is not running:\n${indent(calls.join('\n'), 2)}`);
  check(etcdctlOutside(l) === '', () => `no etcdctl should run outside crictl exec:\n${etcdctlOutside(l)}`);
  const list = await members(l);
  check(list.length === 4 && list.every((m) => m.status === 'started' && !m.learner) && list.some((m) => m.name === 'master1'), () => `master1 is a started voting member again: ${JSON.stringify(list)}`);
  for (const n of ['master2', 'master3', 'master4']) check(l.kubelet.pids()[n] === pids[n], () => `${n} should not restart:\n${l.kubelet.history()}`);
  console.log(`  master1 replaced: ${calls.filter((c) => / crictl exec /.test(c)).length} etcdctl calls in a container, none on master1`);
});

/** backup.sh through crictl, then restore.sh --apply of that snapshot; fails with what they said. */
async function backupAndRestore(l: LiveWorld, what: string): Promise<void> {
  const backup = await l.script('backup.sh');
  check(backup.code === 0, () => `${what}: backup.sh: ${explain(backup)}`);
  const dir = join(l.world.project, 'backups');
  const snapshot = readdirSync(dir).filter((f) => f.endsWith('.db') && !f.startsWith('.')).sort().at(-1);
  check(snapshot !== undefined, `${what}: backup.sh left a snapshot in ${dir}`);
  const restore = await l.script('restore.sh', [join(dir, snapshot), '--apply']);
  check(restore.code === 0, () => `${what}: restore.sh --apply: ${explain(restore)}\n${l.kubelet.history()}`);
}

s('restore.sh after a join: master4 joined with joinedWith, and the restored cluster is all four members, each under its own name (before, the restore failed on master4: not in the initial cluster)', async (state) => {
  const l = live(state);
  await backupAndRestore(l, 'restore after master4 joined');
  const list = await members(l);
  const names = list.map((m) => m.name).sort();
  check(JSON.stringify(names) === JSON.stringify(['master1', 'master2', 'master3', 'master4']) && list.every((m) => m.status === 'started' && !m.learner), () => `the restored cluster should be master1 to master4, all started voters: ${JSON.stringify(list)}`);
});

s('restore.sh after a removal: members.sh --apply removes master4, and the restored cluster is the three members there are, with no unstarted member left (before, master4 came back as one)', async (state) => {
  const l = live(state);
  l.regenerate((c) => ((c.masters as Master[]).find((m) => m.name === 'master4')!.removed = true));
  const removal = await l.script('members.sh', ['--apply']);
  check(removal.code === 0, () => `members.sh --apply (remove master4): ${explain(removal)}\n${l.kubelet.history()}`);
  await backupAndRestore(l, 'restore after master4 was removed');
  const list = await members(l);
  const names = list.map((m) => m.name).sort();
  check(JSON.stringify(names) === JSON.stringify(['master1', 'master2', 'master3']) && list.every((m) => m.status === 'started' && !m.learner), () => `the restored cluster should be master1 to master3, all started voters, and no master4: ${JSON.stringify(list)}`);
});

s.run();
