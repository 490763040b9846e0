// Rolling apply (issue 12, item 1), run for real: distribute.sh through the stand-in transport against three fake
// masters whose manifest directories a kubelet stand-in watches (test/support/kubelet.ts), each running the real
// etcd its manifest says. First bootstrap starts every member together; a changed manifest reaches the running
// members one at a time, each gated on the other members' health, the leader last; a member broken by its manifest
// is repaired that way; a member that is not healthy stops the others' changes, naming the member; a cluster that
// does not answer at all is not guessed at.
import { suite } from 'uvu';
import { spawnSync } from 'node:child_process';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { needing, requireTools } from './support/tools.js';
import { check, explain, parseMemberList, run, sleep } from './support/live-cluster.js';
import { makeLiveWorld, type LiveWorld } from './support/kubelet.js';
import { scriptLaunch } from './support/transport.js';
import { Writer, describe, successRate } from './support/writer.js';

const TOOLS = ['etcd', 'etcdctl', 'openssl', 'bash'] as const;
const MANIFEST = ['etc', 'kubernetes', 'manifests', 'etcd.manifest'];
const NAMES = ['master1', 'master2', 'master3'];

const rolling = needing(suite<{ live?: LiveWorld; ready?: boolean }>('rolling apply'), TOOLS);

rolling.after(async (context) => {
  await context.live?.close();
});

async function healthy(live: LiveWorld, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const health = await live.etcdctl(['endpoint', 'health']);
    if (health.code === 0) return;
    if (Date.now() > deadline) throw new Error(`the cluster is not healthy within ${timeoutMs / 1000} s: ${explain(health)}\nkubelet:\n${live.kubelet.history()}`);
    await sleep(300);
  }
}

const manifests = (live: LiveWorld) => Object.fromEntries(NAMES.map((n) => [n, readFileSync(live.world.fs(n, ...MANIFEST), 'utf8')]));

rolling('first bootstrap: distribute.sh places every manifest at once, kubelet starts every etcd, and they form the cluster cluster.json describes', async (context) => {
  if (!requireTools('rolling apply', ...TOOLS)) return;
  const live = (context.live = await makeLiveWorld({ machines: 3, initial: 3, subnet: 41 }));
  const run = await live.script('distribute.sh');
  check(run.code === 0, () => `distribute.sh (first bootstrap) failed: ${explain(run)}`);
  check(!run.stdout.includes('rolling apply'), () => `a first bootstrap is no rolling apply:\n${run.stdout}`);
  await healthy(live);
  const starts = live.kubelet.events.filter((e) => e.what === 'start').map((e) => e.master).sort();
  check(JSON.stringify(starts) === JSON.stringify(NAMES), () => `kubelet started each master's etcd once:\n${live.kubelet.history()}`);
  const list = parseMemberList((await live.etcdctl(['member', 'list'])).stdout);
  check(JSON.stringify(list.map((m) => m.name).sort()) === JSON.stringify(NAMES), () => `member list names the three masters: ${JSON.stringify(list)}`);
  context.ready = true;
});

rolling('a second run of the same out/ touches no master: no etcd restarts', async (context) => {
  if (!context.ready || !context.live) return;
  const live = context.live;
  const before = live.kubelet.pids();
  const events = live.kubelet.events.length;
  const run = await live.script('distribute.sh');
  check(run.code === 0, () => `distribute.sh again failed: ${explain(run)}`);
  await sleep(600); // three kubelet polls
  check(JSON.stringify(live.kubelet.pids()) === JSON.stringify(before), () => `no etcd was restarted:\n${live.kubelet.history()}`);
  check(live.kubelet.events.length === events, () => `kubelet saw nothing new:\n${live.kubelet.history()}`);
});

rolling('a flag changed in every manifest: one master at a time, every member healthy before each, the leader last after move-leader; writes go on', async (context) => {
  if (!context.ready || !context.live) return;
  const live = context.live;
  const leaderBefore = (await live.etcdctl(['endpoint', 'status'])).stdout.split('\n').map((l) => l.split(', ')).find((f) => f[4] === 'true')?.[0];
  const leaderName = NAMES.find((n) => live.clientUrl(n) === leaderBefore);
  check(leaderName, () => `a leader among ${NAMES.join(', ')}: ${leaderBefore}`);
  const tls = { ca: join(live.world.project, 'ca.pem'), cert: join(live.world.project, 'kubernetes.pem'), key: join(live.world.project, 'kubernetes-key.pem') };
  const writer = new Writer(NAMES.map(live.clientUrl), tls);
  writer.start();
  await sleep(1_000);
  writer.phase('rolling apply of ETCD_HEARTBEAT_INTERVAL=150');
  live.regenerate((c) => (c.etcd = { ...c.etcd, extraArgs: { 'heartbeat-interval': '150' } }));
  const firstEvent = live.kubelet.events.length;
  const run = await live.script('distribute.sh');
  const stats = writer.phase('after');
  await sleep(500);
  await writer.stop();
  console.log(`  rolling apply: ${describe(stats)}`);
  check(run.code === 0, () => `distribute.sh (rolling) failed: ${explain(run)}\nkubelet:\n${live.kubelet.history()}`);
  for (const n of NAMES) check(manifests(live)[n]!.includes('ETCD_HEARTBEAT_INTERVAL'), `${n}'s manifest has the new flag`);
  // Each master restarted once, one after the other: a master's stop comes after the previous one's etcd was up again.
  const events = live.kubelet.events.slice(firstEvent);
  const stops = events.filter((e) => e.what === 'stop').map((e) => e.master);
  check(stops.length === 3 && new Set(stops).size === 3, () => `each master's etcd was replaced once:\n${live.kubelet.history()}`);
  check(stops[2] === leaderName, () => `the leader (${leaderName}) goes last: ${stops.join(', ')}\n${run.stdout}`);
  check(run.stdout.includes(`[${leaderName}] etcdctl move-leader`), () => `leadership is handed over before the leader is replaced:\n${run.stdout}`);
  const order = run.stdout.split('\n').filter((l) => /\] replace its manifest/.test(l)).map((l) => l.slice(1, l.indexOf(']')));
  check(JSON.stringify(order) === JSON.stringify(stops), () => `the script replaced them in the order kubelet saw: ${order.join(', ')} vs ${stops.join(', ')}`);
  const gates = run.stdout.split('\n').filter((l) => l.includes('etcdctl endpoint health, every member, before changing'));
  check(gates.length === 3, () => `a health gate before each master:\n${run.stdout}`);
  check((run.stdout.match(/healthy, raft index \d+, the leader's \d+/g) ?? []).length === 3, () => `each member waited for until caught up:\n${run.stdout}`);
  check(successRate(stats) >= 0.95, () => `at least 95% of writes succeed during a rolling apply: ${describe(stats)}`);
  // Every acknowledged write is there.
  const got = await live.etcdctl(['get', '--prefix', 'writer/']);
  const lines = got.stdout.split('\n');
  const stored = new Map<string, string>();
  for (let i = 0; i + 1 < lines.length; i += 2) stored.set(lines[i]!, lines[i + 1]!);
  const missing = [...writer.acknowledged].filter(([k, v]) => stored.get(k) !== v);
  check(missing.length === 0, () => `acknowledged writes missing: ${missing.slice(0, 5).map(([k]) => k).join(', ')} (${missing.length})`);
});

rolling('a member broken by its manifest is repaired by the rolling apply: the others healthy, its fixed manifest goes out, no other member restarts', async (context) => {
  if (!context.ready || !context.live) return;
  const live = context.live;
  await healthy(live);
  // Issue 19, item 6: the gate used to want every member healthy, the broken one included, so the fix could only go
  // out with --all-at-once (every member restarted together). master2's manifest gets a value etcd refuses at start.
  const good = manifests(live)['master2']!;
  const broken = good.replace(/\n    env:\n/, '\n    env:\n    - name: ETCD_SNAPSHOT_COUNT\n      value: not-a-number\n');
  check(broken !== good, 'the broken manifest differs');
  writeFileSync(live.world.fs('master2', ...MANIFEST), broken);
  const deadline = Date.now() + 20_000;
  while ((await live.etcdctl(['endpoint', 'health'], live.clientUrl('master2'))).code === 0) {
    check(Date.now() < deadline, () => `master2's etcd should stop answering on its broken manifest:\n${live.kubelet.history()}`);
    await sleep(300);
  }
  const pids = live.kubelet.pids();
  const run = await live.script('distribute.sh', ['--timeout', '30']);
  check(run.code === 0, () => `distribute.sh repairs master2: ${explain(run)}\nkubelet:\n${live.kubelet.history()}`);
  check(run.stdout.includes('master2 does not answer a health check: its new manifest goes out as a repair'), () => `says it repairs master2:\n${run.stdout}`);
  check(manifests(live)['master2'] === good, "master2's manifest is cluster.json's again");
  await healthy(live);
  const now = live.kubelet.pids();
  for (const n of ['master1', 'master3']) check(JSON.stringify(now[n]) === JSON.stringify(pids[n]), () => `${n}'s etcd did not restart:\n${live.kubelet.history()}`);
});

rolling('--all-at-once is refused while etcd runs on a master, naming it: every member restarting together is an outage', async (context) => {
  if (!context.ready || !context.live) return;
  const live = context.live;
  await healthy(live);
  const before = manifests(live);
  const pids = live.kubelet.pids();
  live.regenerate((c) => (c.etcd = { ...c.etcd, extraArgs: { 'heartbeat-interval': '180' } }));
  const run = await live.script('distribute.sh', ['--all-at-once']);
  live.regenerate((c) => (c.etcd = { ...c.etcd, extraArgs: { 'heartbeat-interval': '150' } }));
  check(run.code === 1, () => `distribute.sh --all-at-once refuses: ${explain(run)}`);
  check(/yet etcd runs on master1 \(pid \d+\) master2 \(pid \d+\) master3 \(pid \d+\): run distribute\.sh without --all-at-once/.test(run.stderr), () => `names every master where etcd runs, and the way:\n${run.stderr}`);
  check(JSON.stringify(manifests(live)) === JSON.stringify(before), 'no manifest changed');
  check(JSON.stringify(live.kubelet.pids()) === JSON.stringify(pids), () => `no etcd restarted:\n${live.kubelet.history()}`);
});

rolling('a member that is down stops the rolling apply of the others before anything changes, naming the member and the remedy', async (context) => {
  if (!context.ready || !context.live) return;
  const live = context.live;
  await healthy(live);
  // master2's node goes down (its kubelet stops, and with it etcd); cluster.json changes every manifest meanwhile,
  // and the operator sends them to master1 and master3 only: every other member must be healthy before each.
  await live.kubelet.pause('master2');
  const before = manifests(live);
  const pids = live.kubelet.pids();
  live.regenerate((c) => (c.etcd = { ...c.etcd, extraArgs: { 'heartbeat-interval': '200' } }));
  const run = await live.script('distribute.sh', ['--only', 'master1,master3', '--timeout', '20']);
  check(run.code === 1, () => `distribute.sh refuses: ${explain(run)}`);
  check(/not every other member is healthy, so master[13] is left as it was: master2 \(https:\/\/[^)]+\): does not answer a health check\. Bring that member back/.test(run.stderr), () => `names master2 and the remedy:\n${run.stderr}`);
  check(JSON.stringify(manifests(live)) === JSON.stringify(before), 'no manifest changed');
  check(JSON.stringify(live.kubelet.pids()) === JSON.stringify(pids), () => `no etcd restarted:\n${live.kubelet.history()}`);
  live.kubelet.resume('master2');
});

/** The stops kubelet saw since event `from`, master by master. */
const stopsSince = (live: LiveWorld, from: number) => live.kubelet.events.slice(from).filter((e) => e.what === 'stop').map((e) => e.master);

rolling('two operators at once: one rolling apply runs, the other refuses naming its holder (user, machine, pid, command); never two members down', async (context) => {
  if (!context.ready || !context.live) return;
  const live = context.live;
  await healthy(live);
  live.regenerate((c) => (c.etcd = { ...c.etcd, extraArgs: { 'heartbeat-interval': '160' } }));
  // The second operator has a copy of out/ of their own (another machine, or another clone): this directory's lock
  // does not stop them; the lock on the cluster must.
  const theirs = join(live.world.project, 'out-of-another-operator');
  cpSync(live.world.out, theirs, { recursive: true });
  const launch = scriptLaunch(live.world, 'distribute.sh', {}, { invoked: join(theirs, 'distribute.sh') });
  const from = live.kubelet.events.length;
  const [mine, other] = await Promise.all([
    live.script('distribute.sh', ['--timeout', '60']),
    sleep(300).then(() => run(launch.file, ['--timeout', '60'], { env: launch.env, cwd: launch.cwd, timeoutMs: 240_000 })),
  ]);
  const runs = [mine, other];
  const done = runs.filter((r) => r.code === 0);
  const refused = runs.filter((r) => r.code !== 0);
  check(done.length === 1 && refused.length === 1, () => `one run rolls, one refuses:\n${runs.map(explain).join('\n')}`);
  const refusal = refused[0]!.stderr;
  check(new RegExp(`the cluster is being changed by another run: [^@\\s]+@${hostname().replace(/[.]/g, '\\.')} pid \\d+: distribute\\.sh --timeout 60, since \\d{4}-\\d\\d-\\d\\dT[\\d:]+Z \\(its lock in etcd: /etcd-bootstrap/lock/[0-9a-f]+\\)\\. Nothing was changed`).test(refusal), () => `names the holder:\n${refusal}`);
  check(/the lock on the cluster \(\/etcd-bootstrap\/lock\/[0-9a-f]+\) is this run's/.test(done[0]!.stdout), () => `the run that rolled says it holds the lock:\n${done[0]!.stdout}`);
  const stops = stopsSince(live, from);
  check(stops.length === 3 && new Set(stops).size === 3, () => `each member restarted once, by the one run:\n${live.kubelet.history()}`);
  // The lock is gone with its run: nothing is left under the prefix.
  const left = await live.etcdctl(['get', '--prefix', '/etcd-bootstrap/lock/', '--keys-only']);
  check(left.code === 0 && left.stdout.trim() === '', () => `no lock is left after the run: ${explain(left)}`);
});

rolling("a lock left by a run that died on this machine is taken over at once; one held on another machine is refused, naming it", async (context) => {
  if (!context.ready || !context.live) return;
  const live = context.live;
  await healthy(live);
  const lockOf = async (holder: string) => {
    const granted = await live.etcdctl(['lease', 'grant', '600']);
    const lease = /lease ([0-9a-f]+) granted/.exec(granted.stdout)?.[1];
    check(lease, () => `a lease: ${explain(granted)}`);
    const put = await live.etcdctl(['put', `--lease=${lease}`, `/etcd-bootstrap/lock/${lease}`, holder]);
    check(put.code === 0, () => explain(put));
    return lease;
  };
  // Another machine's run: its process cannot be asked, so it is waited for (its lease).
  const elsewhere = await lockOf('alice@bastion-2 pid 4242: members.sh --apply, since 2026-12-06T05:00:00Z');
  live.regenerate((c) => (c.etcd = { ...c.etcd, extraArgs: { 'heartbeat-interval': '170' } }));
  const pids = live.kubelet.pids();
  const refused = await live.script('distribute.sh', ['--timeout', '60']);
  check(refused.code === 1, () => `refused: ${explain(refused)}`);
  check(refused.stderr.includes(`the cluster is being changed by another run: alice@bastion-2 pid 4242: members.sh --apply, since 2026-12-06T05:00:00Z (its lock in etcd: /etcd-bootstrap/lock/${elsewhere})`), () => `names the holder:\n${refused.stderr}`);
  check(JSON.stringify(live.kubelet.pids()) === JSON.stringify(pids), () => `no etcd restarted:\n${live.kubelet.history()}`);
  await live.etcdctl(['lease', 'revoke', elsewhere]);
  // A run on this machine whose process is gone (a pid no process has: above the kernel's pid_max).
  await lockOf(`root@${hostname()} pid 99999999: distribute.sh, since 2026-12-06T05:00:00Z`);
  const from = live.kubelet.events.length;
  const taken = await live.script('distribute.sh', ['--timeout', '60']);
  check(taken.code === 0, () => `takes over the dead run's lock: ${explain(taken)}`);
  check(taken.stdout.includes(`held by a run on this machine that has ended, now taken over: root@${hostname()} pid 99999999: distribute.sh`), () => `says so:\n${taken.stdout}`);
  check(stopsSince(live, from).length === 3, () => `and rolls every member:\n${live.kubelet.history()}`);
});

rolling('a certificate re-issued (same CA and key, a new serial) goes out one master at a time behind the health gate, as a manifest does; no etcd restarts', async (context) => {
  if (!context.ready || !context.live) return;
  const live = context.live;
  await healthy(live);
  // Issue 19, item 7: the first pass installed certificates on every master at once, and etcd reads its certificate
  // again for every new connection, so one bad certificate broke every member together.
  const work = join(live.world.dir, 'pki-work');
  const cert = join(live.world.project, 'kubernetes.pem');
  const signed = spawnSync('openssl', ['x509', '-req', '-in', 'server.csr', '-CA', join(live.world.project, 'ca.pem'), '-CAkey', join(work, 'ca.pem.key'), '-set_serial', '77', '-days', '2', '-extfile', 'ext.cnf', '-out', cert], { cwd: work, encoding: 'utf8' });
  check(signed.status === 0, () => `re-signed: ${signed.stderr}`);
  const pids = live.kubelet.pids();
  const run = await live.script('distribute.sh', ['--timeout', '60']);
  check(run.code === 0, () => `distribute.sh: ${explain(run)}\nkubelet:\n${live.kubelet.history()}`);
  const left = run.stdout.match(/kubernetes\.pem: differs from the one in place: replaced after this pass, one master at a time/g) ?? [];
  check(left.length === 3, () => `the first pass leaves the certificate of each running member for the rolling apply:\n${run.stdout}`);
  const lines = run.stdout.split('\n');
  const gates = lines.filter((l) => l.includes('etcdctl endpoint health, every member, before changing')).length;
  const noRestart = lines.filter((l) => l.includes('already in place: certificates only, which etcd reads for every new connection (no restart)')).length;
  check(gates === 3 && noRestart === 3, () => `one master at a time, each behind the health gate, none restarted (${gates} gates, ${noRestart} without restart):\n${run.stdout}`);
  check(/rolling apply: 3 replaced one at a time/.test(run.stdout), () => run.stdout);
  for (const n of NAMES) check(readFileSync(live.world.fs(n, 'etc', 'etcd', 'kubernetes.pem'), 'utf8') === readFileSync(cert, 'utf8'), `${n} has the new certificate`);
  check(JSON.stringify(live.kubelet.pids()) === JSON.stringify(pids), () => `no etcd restarted:\n${live.kubelet.history()}`);
  await healthy(live);
});

rolling('no member answers while manifests in place differ: distribute.sh cannot tell down from unreachable, says so, changes nothing', async (context) => {
  if (!context.ready || !context.live) return;
  const live = context.live;
  await live.kubelet.stop();
  const before = manifests(live);
  live.regenerate((c) => (c.etcd = { ...c.etcd, extraArgs: { 'heartbeat-interval': '250' } }));
  const run = await live.script('distribute.sh');
  check(run.code === 1, () => `distribute.sh refuses: ${explain(run)}`);
  check(run.stderr.includes('cannot tell a cluster that is down from one it cannot reach from here') && run.stderr.includes('distribute.sh --all-at-once'), () => `says why and what to do:\n${run.stderr}`);
  check(JSON.stringify(manifests(live)) === JSON.stringify(before), 'no manifest changed');
});

rolling.run();
