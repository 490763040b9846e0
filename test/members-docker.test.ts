// members.sh through docker (verify.via "docker", the tutorial profile's default: etcdctl in the etcd image with
// `docker run` on a master), live on Debian's etcd 3.4.23 in the tutorial profile.
//
// Four fake masters of the stand-in transport (test/support/transport.ts), the kubelet stand-in running the real
// etcd from each placed manifest (test/support/kubelet.ts), and a docker stand-in that runs the real etcdctl as the
// image would, seeing only the -v mounts (test/support/docker.ts); every docker command line it saw is then given to
// the real docker client, which parses every flag before it looks for a daemon. etcdctl anywhere else fails and is
// logged. The story: three members from distribute.sh; a dry run of adding master4 (the plan and every command,
// nothing changed); --apply adds it as a learner and promotes it; --apply removes it again.
import { suite } from 'uvu';
import { spawnSync } from 'node:child_process';
import { check, explain, indent } from './support/live-cluster.js';
import { makeLiveWorld, type LiveWorld } from './support/kubelet.js';
import { installDocker } from './support/docker.js';
import { bootstrap, dryRunPrints, etcdctlOutside, forbidEtcdctlOutside, memberList, observe, unchangedSince } from './support/membership-checks.js';
import { clearLogs, remoteLog, type ClusterDoc } from './support/transport.js';
import { needing, requireTools } from './support/tools.js';

const IMAGE = 'quay.io/coreos/etcd:v3.4.23';
type Master = ClusterDoc['masters'][number] & { joinedWith?: string[]; removed?: boolean };

interface State {
  live?: LiveWorld;
  /** Every docker command line a master saw, for the real docker client at the end. */
  dockerCalls: string[][];
  failure?: string;
}

const s = needing(suite<State>('members.sh through docker run, tutorial profile, etcd 3.4', { dockerCalls: [] }), ['etcd', 'etcdctl', 'openssl', 'bash', 'docker']);

s.after(async (state) => {
  await state.live?.close();
});

function live(state: State): LiveWorld {
  if (!state.live) throw new Error(`not checked: the cluster did not start (${(state.failure ?? 'the first test did not run').split('\n')[0]})`);
  return state.live;
}

/** The docker calls the masters saw since the logs were cleared, as "HOST docker ARGS"; kept for the last test. */
function dockerCalls(state: State): string[] {
  const calls = remoteLog(live(state).world).filter((f) => f[1] === 'docker');
  state.dockerCalls.push(...calls.map(([, , ...words]) => words));
  return calls.map((f) => f.join(' '));
}

const members = (l: LiveWorld) => memberList(l, ['master1', 'master2', 'master3', 'master4']);

s('three etcd 3.4 members from distribute.sh, in the tutorial profile with verify.via "docker"', async (state) => {
  if (!requireTools('members.sh through docker', 'etcd', 'etcdctl', 'openssl', 'bash', 'docker')) return;
  try {
    const l = (state.live = await makeLiveWorld({
      machines: 4,
      initial: 3,
      subnet: 58,
      edit: (c) => {
        c.etcd = { ...c.etcd, image: IMAGE };
        c['verify'] = { via: 'docker' };
      },
    }));
    installDocker(l.world, { etcdBin: '/usr/bin', image: IMAGE });
    forbidEtcdctlOutside(l);
    await bootstrap(l, ['master1', 'master2', 'master3']);
  } catch (error) {
    state.failure = (error as Error).message;
    throw error;
  }
});

s('members.sh --dry-run of adding master4 reads the live members through docker run and prints every command, changing nothing', async (state) => {
  const l = live(state);
  l.regenerate((c) => c.masters.push({ name: 'master4', ip: '127.0.58.4', host: '127.0.58.4', joinedWith: ['master1', 'master2', 'master3'] } as Master));
  const before = await observe(l, () => members(l));
  clearLogs(l.world);
  const dry = await l.script('members.sh', ['--dry-run']);
  dryRunPrints(dry, 'a dry run of adding master4', [
    /1\. add master4: cluster\.json says it joins with master1 master2 master3; it is not a member/,
    /\[master1\] would run, through vagrant ssh master1:\n\s+\| \{ exec <\/dev\/null\n\s+\| sudo docker run --rm --net=host -v \S+:\S+:ro -e ETCDCTL_API=3 quay\.io\/coreos\/etcd:v3\.4\.23 \/usr\/local\/bin\/etcdctl [^\n]* member add master4 --peer-urls=https:\/\/127\.0\.58\.4:\d+ --learner /,
    /\| place "\$stage"\/etcd\.manifest \S+\/etc\/kubernetes\/manifests\/etcd\.manifest 0644 /,
    /\/usr\/local\/bin\/etcdctl [^\n]* member promote NEW_ID /,
  ]);
  await unchangedSince(l, before, () => members(l), 'a dry run of adding master4');
  const calls = dockerCalls(state);
  check(calls.some((c) => / \/usr\/local\/bin\/etcdctl .* member list /.test(c)), () => `the dry run should read member list through docker run:\n${indent(calls.join('\n'), 2)}`);
  check(!calls.some((c) => / member (add|remove|promote) /.test(c)), () => `the dry run should change no member:\n${indent(calls.join('\n'), 2)}`);
  check(etcdctlOutside(l) === '', () => `no etcdctl should run outside docker run:\n${etcdctlOutside(l)}`);
});

s('members.sh --apply adds master4 as a learner and promotes it, then removes it again, every etcdctl through docker run', async (state) => {
  const l = live(state);
  const pids = l.kubelet.pids();
  clearLogs(l.world);
  const add = await l.script('members.sh', ['--apply']);
  check(add.code === 0, () => `members.sh --apply (add master4): ${explain(add)}\n${l.kubelet.history()}`);
  let list = await members(l);
  check(list.length === 4 && list.every((m) => m.status === 'started' && !m.learner), () => `four started voting members: ${JSON.stringify(list)}`);
  l.regenerate((c) => ((c.masters as Master[]).find((m) => m.name === 'master4')!.removed = true));
  const remove = await l.script('members.sh', ['--apply']);
  check(remove.code === 0, () => `members.sh --apply (remove master4): ${explain(remove)}\n${l.kubelet.history()}`);
  list = await members(l);
  check(JSON.stringify(list.map((m) => m.name).sort()) === JSON.stringify(['master1', 'master2', 'master3']), () => `master4 removed: ${JSON.stringify(list)}`);
  const calls = dockerCalls(state);
  for (const wanted of [/ member add master4 --peer-urls=\S+ --learner /, / member promote [0-9a-f]+ /, / member remove [0-9a-f]+ /, / endpoint status -w json /].map((args) => new RegExp(` ${IMAGE.replace(/[.]/g, '\\.')} \\/usr\\/local\\/bin\\/etcdctl .*${args.source}`))) {
    check(calls.some((c) => wanted.test(c)), () => `members.sh should run ${wanted} through docker run:\n${indent(calls.join('\n'), 2)}`);
  }
  check(etcdctlOutside(l) === '', () => `no etcdctl should run outside docker run:\n${etcdctlOutside(l)}`);
  for (const n of ['master1', 'master2', 'master3']) check(l.kubelet.pids()[n] === pids[n], () => `${n} should not restart:\n${l.kubelet.history()}`);
  console.log(`  master4 added and removed: ${calls.length} docker runs of etcdctl`);
});

s('master1 unreachable through the transport (its sshd down), its etcd healthy: distribute.sh rolls master2 and master3, etcdctl runs on the next master and says so', async (state) => {
  const l = live(state);
  // Issue 19, item 1: etcdctl ran on the first master in cluster.json; with master1 out of reach the rolling apply
  // found "no member answers" and advised --all-at-once, which restarts the two healthy members together.
  l.regenerate((c) => (c.etcd = { ...c.etcd, extraArgs: { 'heartbeat-interval': '190' } }));
  const pids = l.kubelet.pids();
  const from = l.kubelet.events.length;
  clearLogs(l.world);
  const result = await l.script('distribute.sh', ['--only', 'master2,master3', '--timeout', '60'], { STANDIN_FAIL: 'master1 ssh' });
  dockerCalls(state);
  check(result.code === 0, () => `distribute.sh rolls master2 and master3: ${explain(result)}\nkubelet:\n${l.kubelet.history()}`);
  check(/\[master1\] not reached through vagrant ssh master1 \(exit status 255\): etcdctl runs on the next master/.test(result.stderr), () => `says master1 was not reached, and that the next master ran etcdctl:\n${result.stderr}`);
  const notes = (result.stderr.match(/\[master1\] not reached/g) ?? []).length;
  check(notes <= 4, () => `says so a few times, not at every poll (${notes}):\n${result.stderr}`);
  const stops = l.kubelet.events.slice(from).filter((e) => e.what === 'stop').map((e) => e.master);
  check(JSON.stringify([...stops].sort()) === JSON.stringify(['master2', 'master3']), () => `master2 and master3 restarted once each:\n${l.kubelet.history()}`);
  check(JSON.stringify(l.kubelet.pids()['master1']) === JSON.stringify(pids['master1']), "master1's etcd did not restart");
  console.log(`  master1 unreachable: master2 and master3 rolled, "${/\[master1\] not reached[^\n]*/.exec(result.stderr)?.[0]}" said ${notes} time(s)`);
});

s('every docker command line members.sh and distribute.sh sent is one the real docker client accepts', (state) => {
  live(state);
  const lines = [...new Map(state.dockerCalls.map((words) => [words.join(' '), words])).values()];
  check(lines.length >= 5, `members.sh should have run docker several times, but ran: ${lines.length}`);
  for (const words of lines) {
    const real = spawnSync('docker', words, { encoding: 'utf8', env: { ...process.env, DOCKER_HOST: 'unix:///nonexistent/etcd-bootstrap-test.sock' } });
    check(/Cannot connect to the Docker daemon/.test(real.stderr) && !/unknown (flag|shorthand)|invalid argument/.test(real.stderr), () => `the real docker should accept docker ${words.join(' ')}, but said:\n${real.stderr}`);
  }
});

s.run();
