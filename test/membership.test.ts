// Membership as code, the pure part (issue 12, item 2): what cluster.json says about a cluster that already exists
// (founding members, masters that join later, replaced and removed ones), the initial cluster each manifest gets from
// it, and the promise that adding, removing or replacing a member changes no other master's manifest bytes.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseCluster } from '../src/load.js';
import { foundingMembers, memberStart, membershipPlan, plan } from '../src/plan.js';
import { render } from '../src/render.js';
import type { Cluster } from '../src/cluster.generated.js';

type Entry = { name: string; joinedWith?: string[]; rejoinedWith?: string[]; removed?: boolean };
const master = (e: Entry, i: number) => ({ ip: `192.168.56.${11 + i}`, host: `m${i + 1}.example`, ...e });
const document = (entries: Entry[], etcd: Record<string, unknown> = {}) => JSON.stringify({ masters: entries.map(master), etcd }, null, 2);

function load(entries: Entry[], etcd: Record<string, unknown> = {}): Cluster {
  const loaded = parseCluster(document(entries, etcd), 'cluster.json');
  if (!loaded.ok) throw new Error(`cluster.json refused:\n${loaded.problems.map((p) => `${p.pointer} ${p.message}`).join('\n')}`);
  return loaded.cluster;
}
const context = { configName: 'cluster.json', configDirFromOut: '..', outDirFromConfig: 'out' };
function manifests(cluster: Cluster): Record<string, string> {
  return Object.fromEntries(render(plan(cluster, context)).filter((f) => f.path.endsWith('-etcd.manifest')).map((f) => [f.path, f.content]));
}

const founders: Entry[] = [{ name: 'master1' }, { name: 'master2' }, { name: 'master3' }];
const peer = (i: number) => `https://m${i}.example:2380`;

test('a founding member bootstraps with every founding member; one that joins starts "existing" with the members it names plus itself', () => {
  const cluster = load([...founders, { name: 'master4', joinedWith: ['master1', 'master2', 'master3'] }]);
  assert.equal(foundingMembers(cluster.masters).map((m) => m.name), ['master1', 'master2', 'master3']);
  assert.equal(memberStart(cluster, cluster.masters[0]), { initialCluster: `master1=${peer(1)},master2=${peer(2)},master3=${peer(3)}`, state: 'new' });
  assert.equal(memberStart(cluster, cluster.masters[3]!), { initialCluster: `master1=${peer(1)},master2=${peer(2)},master3=${peer(3)},master4=${peer(4)}`, state: 'existing' });
  const tutorial = manifests(cluster)['master4-etcd.manifest']!;
  assert.ok(tutorial.includes('value: existing'), `master4's manifest joins:\n${tutorial}`);
  const kubeadm = manifests(load([...founders, { name: 'master4', joinedWith: ['master1', 'master2', 'master3'] }], { profile: 'kubeadm' }))['master4-etcd.manifest']!;
  assert.ok(kubeadm.includes('--initial-cluster-state=existing'), `in the kubeadm profile too:\n${kubeadm}`);
});

test('a replaced member (rejoinedWith) starts "existing" with the members it names; for the others it stays a founding member', () => {
  const cluster = load([...founders.slice(0, 2), { name: 'master3', rejoinedWith: ['master1', 'master2'] }]);
  assert.equal(memberStart(cluster, cluster.masters[2]!), { initialCluster: `master1=${peer(1)},master2=${peer(2)},master3=${peer(3)}`, state: 'existing' });
  assert.equal(memberStart(cluster, cluster.masters[0]).initialCluster, `master1=${peer(1)},master2=${peer(2)},master3=${peer(3)}`);
});

test('adding master4 and master5, removing master2, replacing master3: at each step no other master\'s manifest changes a byte', () => {
  const day1 = manifests(load(founders));
  const added = manifests(load([...founders, { name: 'master4', joinedWith: ['master1', 'master2', 'master3'] }, { name: 'master5', joinedWith: ['master1', 'master2', 'master3', 'master4'] }]));
  for (const file of Object.keys(day1)) assert.is(added[file], day1[file], `${file} unchanged by the additions`);
  const removed = manifests(load([founders[0]!, { name: 'master2', removed: true }, founders[2]!, { name: 'master4', joinedWith: ['master1', 'master2', 'master3'] }, { name: 'master5', joinedWith: ['master1', 'master2', 'master3', 'master4'] }]));
  assert.not.ok('master2-etcd.manifest' in removed, 'a removed master gets no manifest');
  for (const file of Object.keys(removed)) assert.is(removed[file], added[file], `${file} unchanged by the removal`);
  const replaced = manifests(load([founders[0]!, { name: 'master2', removed: true }, { name: 'master3', rejoinedWith: ['master1', 'master4', 'master5'] }, { name: 'master4', joinedWith: ['master1', 'master2', 'master3'] }, { name: 'master5', joinedWith: ['master1', 'master2', 'master3', 'master4'] }]));
  for (const file of Object.keys(replaced).filter((f) => f !== 'master3-etcd.manifest')) assert.is(replaced[file], removed[file], `${file} unchanged by the replacement`);
  assert.is.not(replaced['master3-etcd.manifest'], removed['master3-etcd.manifest'], 'the replaced member\'s own manifest changes');
});

test('restore.sh restores the members there are now: the founding ones, less those removed, with those that joined or rejoined, each under its own name and peer URL', () => {
  const cluster = load([founders[0]!, { name: 'master2', removed: true }, { name: 'master3', rejoinedWith: ['master1', 'master4'] }, { name: 'master4', joinedWith: ['master1', 'master2', 'master3'] }]);
  const p = plan(cluster, context);
  assert.is(p.restoreInitialCluster, `master1=${peer(1)},master3=${peer(3)},master4=${peer(4)}`, 'master2 (removed) is not restored; master4 (joined) is');
  assert.is(p.initialCluster, `master1=${peer(1)},master2=${peer(2)},master3=${peer(3)}`, 'the founding set is what the founders bootstrapped with');
  const restore = render(p).find((f) => f.path === 'restore.sh')!.content;
  assert.ok(restore.includes(`initial_cluster='${p.restoreInitialCluster}'`) || restore.includes(`initial_cluster=${p.restoreInitialCluster}`), `restore.sh restores with the members there are now:\n${restore.split('\n').filter((l) => l.includes('initial_cluster=')).join('\n')}`);
  assert.is(plan(load(founders), context).restoreInitialCluster, plan(load(founders), context).initialCluster, 'with no join or removal, the restore\'s initial cluster is the founding one (the tutorial\'s restore.sh does not change)');
});

test('members.sh gets every master cluster.json knows, with what it says of each; learners from etcd 3.4', () => {
  const cluster = load([founders[0]!, { name: 'master2', removed: true }, { name: 'master3', rejoinedWith: ['master1'] }, { name: 'master4', joinedWith: ['master1', 'master3'] }], { image: 'quay.io/coreos/etcd:v3.4.23' });
  const m = plan(cluster, context).membership;
  assert.equal(m.names, ['master1', 'master2', 'master3', 'master4']);
  assert.equal(m.roles, ['founding', 'removed', 'rejoins', 'joins']);
  assert.equal(m.joinsWith, ['', '', 'master1', 'master1 master3']);
  assert.is(m.learners, true);
  assert.is(membershipPlan(load(founders), false).learners, false);
  assert.is(plan(load(founders), context).membership.learners, false, 'the tutorial\'s etcd 3.3.5 has no learners: members.sh adds with a plain member add');
  assert.equal(plan(cluster, context).memberNames, ['master1', 'master3', 'master4'], 'the other scripts work on the members that are not removed');
});

test('cluster.json that names a master joining with itself or with an unknown master, or removes every master, is refused at the field', () => {
  const refused = (entries: Entry[]) => {
    const loaded = parseCluster(document(entries), 'cluster.json');
    return loaded.ok ? [] : loaded.problems.map((p) => `${p.pointer}  ${p.message}`);
  };
  assert.ok(refused([...founders, { name: 'master4', joinedWith: ['master4'] }]).some((p) => p.startsWith('/masters/3/joinedWith/0  names this master itself')));
  assert.ok(refused([...founders, { name: 'master4', joinedWith: ['master9'] }]).some((p) => p.startsWith('/masters/3/joinedWith/0  names no master of cluster.json ("master9")')));
  assert.ok(refused([{ name: 'master1', rejoinedWith: ['nobody'] }, ...founders.slice(1)]).some((p) => p.startsWith('/masters/0/rejoinedWith/0  names no master')));
  assert.ok(refused(founders.map((f) => ({ ...f, removed: true }))).some((p) => p.startsWith('/masters  marks every master removed')));
  assert.ok(refused([{ name: 'master1', joinedWith: ['master2'] }, { name: 'master2', joinedWith: ['master1'] }]).some((p) => p.startsWith('/masters  gives every master joinedWith')));
});

test.run();
