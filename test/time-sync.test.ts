// ntp.sh on any node: it finds the node's package manager (apt-get, dnf, yum, zypper), installs the chosen service
// with it unless the node has it, starts it where the package does not, and writes timeSync.servers into the
// service's own configuration, restarting it only when that changed. The stand-in transport (support/transport.ts)
// runs the script on simulated Debian, RHEL-like and SUSE nodes; the Debian package names are checked against the
// real apt-get (--simulate), the dnf and zypper stand-ins against those tools' documented answers.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { parseCluster } from '../src/load.js';
import { plan } from '../src/plan.js';
import { BLOCK_BEGIN, BLOCK_END, PROVISIONS, timeSyncService } from '../src/time-sync.js';
import type { Cluster } from '../src/cluster.generated.js';
import { minimalCluster } from './support/fixtures.js';
import { requireTools } from './support/tools.js';
import { assertSummary } from './support/output.js';
import {
  clearLogs,
  hostsSnapshot,
  makeFamilyNode,
  MASTERS,
  NODES,
  remoteLog,
  runScript,
  withWorld,
  type ClusterDoc,
  type World,
} from './support/transport.js';

const context = { configName: 'cluster.json', configDirFromOut: '..', outDirFromConfig: 'out' };

function load(document: unknown): Cluster {
  const result = parseCluster(JSON.stringify(document, null, 2), 'cluster.json');
  if (!result.ok) throw new Error(`expected a valid cluster, got:\n${JSON.stringify(result.problems, null, 2)}`);
  return result.cluster;
}

const SERVERS = ['ntp1.example.com', '10.0.0.1'];
const timeSync = (settings: Record<string, unknown>) => (cluster: ClusterDoc) => (cluster['timeSync'] = settings);

/** The remote-log entries of one stand-in tool on one host, its words after the tool's name. */
const callsOf = (world: World, host: string, tool: string) => remoteLog(world).filter(([h, word]) => h === host && word === tool).map((w) => w.slice(2).join(' '));

// ---------------------------------------------------------------------------------------------------------------
// The plan

test('the service: ntp in the tutorial profile (as today), chrony in the kubeadm profile, and cluster.json\'s when it names one', () => {
  assert.is(plan(load(minimalCluster(1)), context).timeSync.service, 'ntp');
  assert.is(plan(load({ ...minimalCluster(1), etcd: { profile: 'kubeadm' } }), context).timeSync.service, 'chrony');
  assert.is(plan(load({ ...minimalCluster(1), etcd: { profile: 'kubeadm' }, timeSync: { service: 'systemd-timesyncd' } }), context).timeSync.service, 'systemd-timesyncd');
  assert.is(timeSyncService('tutorial', 'chrony'), 'chrony');
});

test('the servers, in each service\'s own syntax: a drop-in file\'s content, and the marked block for a shared file', () => {
  const chrony = plan(load({ ...minimalCluster(1), timeSync: { service: 'chrony', servers: SERVERS } }), context).timeSync;
  assert.equal(chrony.servers, SERVERS);
  assert.is(chrony.dropIn, "# Written by etcd-bootstrap's ntp.sh: timeSync.servers from cluster.json.\nserver ntp1.example.com iburst\nserver 10.0.0.1 iburst\n");
  assert.is(chrony.block, `${BLOCK_BEGIN}\nserver ntp1.example.com iburst\nserver 10.0.0.1 iburst\n${BLOCK_END}\n`);
  const timesyncd = plan(load({ ...minimalCluster(1), timeSync: { service: 'systemd-timesyncd', servers: SERVERS } }), context).timeSync;
  assert.ok(timesyncd.dropIn.endsWith('\n[Time]\nNTP=ntp1.example.com 10.0.0.1\n'), timesyncd.dropIn);
  assert.equal(plan(load(minimalCluster(1)), context).timeSync.servers, [], 'none unless cluster.json names them');
  // ntp with fewer than three servers: Debian's ntpsec.conf (tos minsane 3) would leave the clock running free.
  const ntp = plan(load({ ...minimalCluster(1), timeSync: { servers: SERVERS } }), context).timeSync;
  assert.is(ntp.block, `${BLOCK_BEGIN}\nserver ntp1.example.com iburst\nserver 10.0.0.1 iburst\ntos minsane 1\n${BLOCK_END}\n`);
  const three = plan(load({ ...minimalCluster(1), timeSync: { servers: ['a.example', 'b.example', 'c.example'] } }), context).timeSync;
  assert.not.ok(three.block.includes('tos minsane'), 'three servers or more: the distribution\'s setting stands');
});

test('without servers only the unit is chosen on the node; with servers, where they go too (Debian\'s chrony: conf.d where chrony.conf reads it)', () => {
  const debian = (document: unknown) => plan(load(document), context).timeSync.families.find((f) => f.managers === 'apt-get')!;
  assert.equal(debian({ ...minimalCluster(1), etcd: { profile: 'kubeadm' } }).setups.map((s) => s.unit), ['chrony']);
  assert.equal(debian({ ...minimalCluster(1), etcd: { profile: 'kubeadm' }, timeSync: { servers: SERVERS } }).setups.map((s) => s.serversFile), ['/etc/chrony/chrony.conf', '/etc/chrony/conf.d/etcd-bootstrap.conf']);
  assert.equal(debian(minimalCluster(1)).setups.map((s) => s.unit), ['ntp', 'ntpsec'], 'ntp: the unit differs (classic ntp or ntpsec)');
});

test('timeSync.servers must be host names or addresses, each once: a located error otherwise', () => {
  const result = parseCluster(JSON.stringify({ ...minimalCluster(1), timeSync: { servers: ['ntp1.example.com', 'x; reboot'] } }, null, 2), 'cluster.json');
  assert.not.ok(result.ok);
  const twice = parseCluster(JSON.stringify({ ...minimalCluster(1), timeSync: { servers: ['a.example', 'a.example'] } }, null, 2), 'cluster.json');
  assert.not.ok(twice.ok, 'a server named twice is refused');
});

test('the package data: chrony is packaged everywhere; ntp only on Debian; systemd-timesyncd a package on Debian, part of systemd elsewhere; each refusal names the remedy', () => {
  for (const family of ['debian', 'rhel', 'suse'] as const) assert.is(PROVISIONS.chrony[family].package, 'chrony', family);
  assert.is(PROVISIONS.ntp.debian.package, 'ntp');
  assert.is(PROVISIONS['systemd-timesyncd'].debian.package, 'systemd-timesyncd');
  for (const [service, family] of [['ntp', 'rhel'], ['ntp', 'suse'], ['systemd-timesyncd', 'rhel'], ['systemd-timesyncd', 'suse']] as const) {
    assert.is(PROVISIONS[service][family].package, '', `${service} on ${family}: nothing to install`);
    assert.match(PROVISIONS[service][family].missing, /set timeSync\.service to "chrony" in cluster\.json/, `${service} on ${family}: the remedy`);
  }
});

// ---------------------------------------------------------------------------------------------------------------
// The real apt-get: every Debian package name in the data is one apt-get would install.

const aptGet = (args: string[]) => {
  const result = spawnSync('apt-get', args, { encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' } });
  return { status: result.status, said: `${result.stdout}${result.stderr}` };
};

test('the Debian package names are real: apt-get --simulate install -y installs each, with its companions where apt knows them (this machine\'s apt lists)', () => {
  if (!requireTools('apt-get --simulate', 'apt-get', 'apt-cache', 'dpkg-query')) return;
  const rows = Object.values(PROVISIONS).map((p) => p.debian).filter((row) => row.package);
  assert.equal(rows.map((row) => row.package).sort(), ['chrony', 'ntp', 'systemd-timesyncd']);
  for (const row of rows) {
    const known = (row.companions ?? []).filter((name) => spawnSync('apt-cache', ['show', name]).status === 0);
    const run = aptGet(['--simulate', 'install', '-y', row.package, ...known]);
    assert.is(run.status, 0, `apt-get --simulate install -y ${row.package} ${known.join(' ')}:\n${run.said}`);
    assert.ok(new RegExp(`^Inst ${row.package} |^${row.package} is already the newest version`, 'm').test(run.said), `apt-get would install ${row.package}:\n${run.said}`);
  }
  assert.is.not(aptGet(['--simulate', 'install', '-y', 'etcd-bootstrap-no-such-package']).status, 0, 'an unknown name fails, so the check above can fail');
  // Why ntp has a companion: with systemd-timesyncd installed (bookworm's default), `apt-get install ntp` alone
  // failed on one machine here ("ntpsec : Conflicts: time-daemon") and, on another with other packages installed,
  // resolved by removing systemd-timesyncd. Which one apt does depends on the machine; naming ntpsec as well installs
  // on both, which the loop above shows for this machine.
});

withWorld('the apt-cache stand-in answers as the real apt-cache show does: 0 for a package the lists have, 100 and "E: No packages found" otherwise', (world) => {
  if (!requireTools('apt-cache', 'apt-cache')) return;
  const env = { ...process.env, STANDIN_DIR: world.dir, STANDIN_HOST: 'master1', LC_ALL: 'C' };
  for (const name of ['ntpsec', 'etcd-bootstrap-no-such-package']) {
    const real = spawnSync('apt-cache', ['show', name], { env, encoding: 'utf8' });
    const standIn = spawnSync(join(world.dir, 'remote-bin', 'apt-cache'), ['show', name], { env, encoding: 'utf8' });
    assert.is(standIn.status, real.status, `apt-cache show ${name}: the stand-in's exit status is the real one's`);
    if (real.status !== 0) assert.is(standIn.stderr.trim(), real.stderr.trim().split('\n').at(-1), 'and its message');
  }
});

// ---------------------------------------------------------------------------------------------------------------
// The stand-ins for dnf, zypper, rpm and systemctl answer as the real tools document.

withWorld('the dnf, zypper, rpm and systemctl stand-ins answer as dnf(8), zypper(8), rpm(8) and systemctl(1) document', (world) => {
  makeFamilyNode(world, 'master1', { family: 'rhel' });
  makeFamilyNode(world, 'master2', { family: 'suse' });
  const tool = (family: string, name: string, args: string[], sudo = true, host = 'master1') => {
    const bin = join(world.dir, `remote-bin-${family}`);
    const command = sudo ? [join(world.dir, 'remote-bin', 'sudo'), join(bin, name), ...args] : [join(bin, name), ...args];
    const result = spawnSync(command[0]!, command.slice(1), { env: { ...process.env, STANDIN_DIR: world.dir, STANDIN_HOST: host }, input: '', encoding: 'utf8' });
    return { status: result.status, said: `${result.stdout}${result.stderr}` };
  };
  const noYes = tool('rhel', 'dnf', ['install', 'chrony']);
  assert.is(noYes.status, 1, noYes.said);
  assert.match(noYes.said, /Is this ok \[y\/N\]: Operation aborted\./);
  const ntp = tool('rhel', 'dnf', ['install', '-y', 'ntp']);
  assert.is(ntp.status, 1, ntp.said);
  assert.match(ntp.said, /Error: Unable to find a match: ntp/);
  assert.is(tool('rhel', 'dnf', ['install', '-y', 'chrony'], false).status, 1, 'dnf install off root fails');
  assert.is(tool('rhel', 'rpm', ['-q', 'chrony'], false).status, 1, 'rpm -q: not installed yet');
  assert.is(tool('rhel', 'dnf', ['install', '-y', 'chrony']).status, 0);
  assert.is(tool('rhel', 'rpm', ['-q', 'chrony'], false).status, 0, 'rpm -q: installed now');
  assert.match(tool('rhel', 'dnf', ['install', '-y', 'chrony']).said, /Package chrony is already installed\.\nDependencies resolved\.\nNothing to do\.\nComplete!/);
  assert.is(tool('suse', 'zypper', ['--non-interactive', 'install', 'ntp'], true, 'master2').status, 104, 'zypper: no provider, ZYPPER_EXIT_INF_CAP_NOT_FOUND');
  assert.is(tool('suse', 'zypper', ['install', 'chrony'], true, 'master2').status, 1, 'zypper without --non-interactive waits for an answer');
  assert.is(tool('suse', 'zypper', ['--non-interactive', 'install', 'chrony'], false, 'master2').status, 5, 'zypper off root: ZYPPER_EXIT_ERR_PRIVILEGES');
  assert.is(tool('suse', 'zypper', ['--non-interactive', 'install', 'chrony'], true, 'master2').status, 0);
  const systemctl = (args: string[], sudo: boolean) => tool('rhel', '../remote-bin/systemctl', args, sudo);
  assert.is(systemctl(['is-active', '--quiet', 'chronyd'], false).status, 3, 'installed by dnf, not started');
  assert.is(systemctl(['enable', '--now', 'chronyd'], false).status, 1, 'enable needs root');
  assert.is(systemctl(['restart', 'ntpd'], true).status, 5, 'restart of a unit that is not there');
  assert.is(systemctl(['enable', '--now', 'chronyd'], true).status, 0);
  assert.is(systemctl(['is-active', '--quiet', 'chronyd'], false).status, 0, 'running now');
  assert.is(systemctl(['cat', 'systemd-timesyncd'], false).status, 1, 'no timesyncd unit on this RHEL node');
});

// ---------------------------------------------------------------------------------------------------------------
// Debian nodes

withWorld('chrony with timeSync.servers on Debian: installed with apt-get, the servers in /etc/chrony/conf.d (which Debian\'s chrony.conf reads), restarted once; a second run changes nothing', (world) => {
  const run = runScript(world, 'ntp.sh');
  assert.is(run.status, 0, run.shown);
  for (const node of NODES) {
    const dropIn = world.fs(node, 'etc/chrony/conf.d/etcd-bootstrap.conf');
    assert.ok(existsSync(dropIn), `${node}: ${dropIn}\n${run.shown}`);
    assert.match(readFileSync(dropIn, 'utf8'), /^server ntp1\.example\.com iburst\nserver 10\.0\.0\.1 iburst\n$/m);
    assert.ok(readFileSync(world.fs(node, 'etc/chrony/chrony.conf'), 'utf8').includes('confdir /etc/chrony/conf.d\n'), 'the directory is one chrony reads');
    assert.equal(callsOf(world, node, 'systemctl').filter((c) => !c.startsWith('is-active')), ['restart chrony'], `${node}: one restart`);
  }
  const before = hostsSnapshot(world);
  clearLogs(world);
  const again = runScript(world, 'ntp.sh');
  assert.is(again.status, 0, again.shown);
  assert.equal(hostsSnapshot(world), before, 'the second run changed no file on any node');
  for (const node of NODES) {
    assert.equal(callsOf(world, node, 'apt-get'), [], `${node}: no apt-get the second time`);
    assert.equal(callsOf(world, node, 'systemctl').filter((c) => !c.startsWith('is-active')), [], `${node}: no restart the second time`);
  }
  assert.ok(again.stdout.includes('  chrony is already installed') && again.stdout.includes('etc/chrony/conf.d/etcd-bootstrap.conf already names the servers'), again.shown);
}, { edit: timeSync({ service: 'chrony', servers: SERVERS }) });

withWorld('ntp with timeSync.servers on Debian bookworm: a marked block at the end of /etc/ntpsec/ntp.conf, the rest kept; new servers replace the block, never add a second', (world) => {
  const run = runScript(world, 'ntp.sh', {}, ['--only', 'master1']);
  assert.is(run.status, 0, run.shown);
  const conf = world.fs('master1', 'etc/ntpsec/ntp.conf');
  const first = readFileSync(conf, 'utf8');
  assert.ok(first.startsWith('driftfile /var/lib/ntpsec/ntp.drift\n') && first.includes('pool 0.debian.pool.ntp.org iburst\n'), `the package's lines stay:\n${first}`);
  assert.ok(first.endsWith(`${BLOCK_BEGIN}\nserver ntp1.example.com iburst\nserver 10.0.0.1 iburst\ntos minsane 1\n${BLOCK_END}\n`), first);
  assert.equal(callsOf(world, 'master1', 'systemctl').filter((c) => !c.startsWith('is-active')), ['restart ntpsec']);
  // Other servers: the block is replaced where it was; the file holds one block.
  const cluster = JSON.parse(readFileSync(world.config, 'utf8')) as ClusterDoc;
  cluster['timeSync'] = { servers: ['10.9.9.9'] };
  regenerate(world, cluster);
  clearLogs(world);
  const changed = runScript(world, 'ntp.sh', {}, ['--only', 'master1']);
  assert.is(changed.status, 0, changed.shown);
  const second = readFileSync(conf, 'utf8');
  assert.is(second.split(BLOCK_BEGIN).length, 2, `one block:\n${second}`);
  assert.ok(second.endsWith(`${BLOCK_BEGIN}\nserver 10.9.9.9 iburst\ntos minsane 1\n${BLOCK_END}\n`), second);
  assert.is(second.slice(0, second.indexOf(BLOCK_BEGIN)), first.slice(0, first.indexOf(BLOCK_BEGIN)), 'everything else unchanged');
  assert.equal(callsOf(world, 'master1', 'systemctl').filter((c) => !c.startsWith('is-active')), ['restart ntpsec']);
}, { edit: timeSync({ servers: SERVERS }) });

withWorld('systemd-timesyncd with timeSync.servers on Debian: NTP= in /etc/systemd/timesyncd.conf.d/etcd-bootstrap.conf', (world) => {
  const run = runScript(world, 'ntp.sh', {}, ['--only', 'worker1']);
  assert.is(run.status, 0, run.shown);
  assert.is(readFileSync(world.fs('worker1', 'etc/systemd/timesyncd.conf.d/etcd-bootstrap.conf'), 'utf8'), "# Written by etcd-bootstrap's ntp.sh: timeSync.servers from cluster.json.\n[Time]\nNTP=ntp1.example.com 10.0.0.1\n");
  assert.ok(callsOf(world, 'worker1', 'systemctl').includes('restart systemd-timesyncd'), run.shown);
}, { edit: timeSync({ service: 'systemd-timesyncd', servers: SERVERS }) });

withWorld('without timeSync.servers, ntp.sh writes no configuration and restarts nothing (the tutorial\'s default)', (world) => {
  const run = runScript(world, 'ntp.sh');
  assert.is(run.status, 0, run.shown);
  for (const node of NODES) {
    assert.not.ok(existsSync(world.fs(node, 'etc/ntpsec/ntp.conf')) && readFileSync(world.fs(node, 'etc/ntpsec/ntp.conf'), 'utf8').includes(BLOCK_BEGIN), `${node}: no block`);
    assert.equal(callsOf(world, node, 'systemctl').filter((c) => !c.startsWith('is-active')), [], `${node}: no restart, no enable (the package started it)`);
  }
});

// ---------------------------------------------------------------------------------------------------------------
// RHEL-like and SUSE nodes

const RHEL9_CHRONY = { family: 'rhel', packages: ['chrony'], units: ['chronyd'], active: ['chronyd'], files: { 'etc/chrony.conf': 'pool 2.rhel.pool.ntp.org iburst\ndriftfile /var/lib/chrony/drift\n' } } as const;

withWorld('a Rocky/RHEL 9 master with chrony running passes as it is: no dnf, no restart, no enable', (world) => {
  makeFamilyNode(world, 'master1', { ...RHEL9_CHRONY, packages: [...RHEL9_CHRONY.packages], units: [...RHEL9_CHRONY.units], active: [...RHEL9_CHRONY.active] });
  const before = hostsSnapshot(world);
  const run = runScript(world, 'ntp.sh', {}, ['--only', 'master1']);
  assert.is(run.status, 0, run.shown);
  assert.ok(run.stdout.includes('  chrony is already installed'), run.shown);
  assert.equal(callsOf(world, 'master1', 'dnf'), [], 'no dnf');
  assert.equal(callsOf(world, 'master1', 'apt-get'), [], 'no apt-get: it has none');
  assert.equal(callsOf(world, 'master1', 'systemctl'), ['is-active --quiet chronyd'], 'only asked whether chronyd runs');
  assert.equal(hostsSnapshot(world), before, 'nothing on the node changed');
}, { edit: timeSync({ service: 'chrony' }) });

withWorld('a RHEL-like node without chrony: dnf install -y chrony as root, then systemctl enable --now chronyd (RHEL\'s packages do not start it); the servers in a block of /etc/chrony.conf', (world) => {
  makeFamilyNode(world, 'master2', { family: 'rhel' });
  const run = runScript(world, 'ntp.sh', {}, ['--only', 'master2']);
  assert.is(run.status, 0, run.shown);
  assert.equal(callsOf(world, 'master2', 'dnf'), ['install -y chrony']);
  assert.ok(remoteLog(world).some(([h, word, command]) => h === 'master2' && word === 'sudo' && command === 'dnf'), 'under sudo');
  assert.equal(callsOf(world, 'master2', 'systemctl').filter((c) => !c.startsWith('is-active')), ['restart chronyd'], 'the restart after the servers starts it');
  const conf = readFileSync(world.fs('master2', 'etc/chrony.conf'), 'utf8');
  assert.ok(conf.startsWith('# Use public servers from the pool.ntp.org project.\npool 2.rhel.pool.ntp.org iburst\n'), conf);
  assert.ok(conf.endsWith(`${BLOCK_BEGIN}\nserver ntp1.example.com iburst\nserver 10.0.0.1 iburst\n${BLOCK_END}\n`), conf);
  clearLogs(world);
  const before = hostsSnapshot(world);
  const again = runScript(world, 'ntp.sh', {}, ['--only', 'master2']);
  assert.is(again.status, 0, again.shown);
  assert.equal(hostsSnapshot(world), before, 'the second run changed nothing');
  assert.equal(callsOf(world, 'master2', 'dnf'), []);
}, { edit: timeSync({ service: 'chrony', servers: SERVERS }) });

withWorld('a RHEL-like node without chrony and no servers: dnf installs it and systemctl enable --now starts it', (world) => {
  makeFamilyNode(world, 'worker1', { family: 'rhel' });
  const run = runScript(world, 'ntp.sh', {}, ['--only', 'worker1']);
  assert.is(run.status, 0, run.shown);
  assert.equal(callsOf(world, 'worker1', 'systemctl'), ['is-active --quiet chronyd', 'enable --now chronyd']);
}, { edit: timeSync({ service: 'chrony' }) });

withWorld('a SUSE node: zypper --non-interactive install chrony, the servers in /etc/chrony.conf', (world) => {
  makeFamilyNode(world, 'worker2', { family: 'suse' });
  const run = runScript(world, 'ntp.sh', {}, ['--only', 'worker2']);
  assert.is(run.status, 0, run.shown);
  assert.equal(callsOf(world, 'worker2', 'zypper'), ['--non-interactive install chrony']);
  assert.ok(readFileSync(world.fs('worker2', 'etc/chrony.conf'), 'utf8').includes(`${BLOCK_BEGIN}\nserver ntp1.example.com iburst\n`));
}, { edit: timeSync({ service: 'chrony', servers: SERVERS }) });

// zypper(8), EXIT CODES: "Codes below 100 denote an error, codes above 100 provide a specific information". 100 and
// 101 say patches are available, 102 and 103 come "after a successful installation" of a patch that needs a reboot or a
// restart of zypper: the package is installed. 106 says a repository failed to refresh and was skipped: whether the
// package came from another one, rpm -q tells. 104 (no provider) and 107 (a %post script failed) stay failures.
withWorld('a SUSE node whose zypper install ends with 100, 101, 102 or 103 (information after an install) carries on to start chronyd; 106 does when rpm -q finds chrony installed', (world) => {
  const codes = { master1: 100, master2: 101, master3: 102, worker1: 103, worker2: 106 } as const;
  for (const [host, status] of Object.entries(codes)) makeFamilyNode(world, host, { family: 'suse', zypperExit: { status, installs: true } });
  const run = runScript(world, 'ntp.sh');
  assert.is(run.status, 0, run.shown);
  for (const host of NODES) {
    assert.equal(callsOf(world, host, 'zypper'), ['--non-interactive install chrony'], host);
    assert.equal(callsOf(world, host, 'systemctl'), ['is-active --quiet chronyd', 'enable --now chronyd'], `${host}: chronyd started after zypper's ${codes[host as keyof typeof codes]}`);
  }
  assert.match(run.stdout, /zypper skipped a repository that failed to refresh \(exit status 106\); chrony is installed: check the repositories \(zypper refresh\)/, run.shown);
  assertSummary(run, NODES, NODES.length);
}, { edit: timeSync({ service: 'chrony' }) });

withWorld('a SUSE node whose zypper install ends with 106 and chrony not installed, or with 107 or 104, fails naming the status', (world) => {
  makeFamilyNode(world, 'master1', { family: 'suse', zypperExit: { status: 106, installs: false } });
  makeFamilyNode(world, 'master2', { family: 'suse', zypperExit: { status: 107, installs: true } });
  makeFamilyNode(world, 'master3', { family: 'suse', zypperExit: { status: 104, installs: false } });
  const run = runScript(world, 'ntp.sh', {}, ['--only', 'master1,master2,master3']);
  assert.is(run.status, 1, run.shown);
  assert.match(run.stderr, /^ {2}master1: install chrony and read the clock \(exit status 106\): zypper skipped a repository that failed to refresh \(exit status 106\) and chrony is not installed: check the repositories \(zypper refresh\)$/m, run.shown);
  assert.match(run.stderr, /^ {2}master2: install chrony and read the clock \(exit status 107\)/m, run.shown);
  assert.match(run.stderr, /^ {2}master3: install chrony and read the clock \(exit status 104\)/m, run.shown);
  for (const host of MASTERS) assert.equal(callsOf(world, host, 'systemctl'), [], `${host}: nothing started`);
}, { edit: timeSync({ service: 'chrony' }) });

withWorld('ntp on a RHEL-like node is refused with the remedy (choose chrony); the Debian nodes carry on', (world) => {
  makeFamilyNode(world, 'master3', { family: 'rhel' });
  const run = runScript(world, 'ntp.sh');
  assert.is(run.status, 1, run.shown);
  assert.match(run.stderr, /^ {2}master3: install ntp and read the clock \(exit status 1\): ntp is not packaged for RHEL 8 or later \(nor Rocky, Alma or Fedora\): chrony replaced it; set timeSync.service to "chrony" in cluster.json and generate again$/m, run.shown);
  assert.equal(callsOf(world, 'master3', 'dnf'), [], 'no install tried');
  assertSummary(run, NODES.filter((n) => n !== 'master3'), NODES.length);
});

withWorld('systemd-timesyncd on a RHEL-like node (RHEL builds systemd without it) is refused with the remedy', (world) => {
  makeFamilyNode(world, 'master1', { family: 'rhel' });
  const run = runScript(world, 'ntp.sh', {}, ['--only', 'master1']);
  assert.is(run.status, 1, run.shown);
  assert.ok(run.stderr.includes('systemd-timesyncd is not on this node: RHEL and its rebuilds build systemd without it; set timeSync.service to "chrony"'), run.shown);
}, { edit: timeSync({ service: 'systemd-timesyncd' }) });

// ---------------------------------------------------------------------------------------------------------------
// The remote script itself

withWorld('the remote script ntp.sh sends (servers, every family) passes shellcheck', (world) => {
  if (!requireTools('shellcheck of the remote script', 'shellcheck')) return;
  const run = runScript(world, 'ntp.sh', {}, ['--dry-run', '--only', 'master1']);
  assert.is(run.status, 0, run.shown);
  const script = run.stdout.split('\n').filter((line) => line.startsWith('    |')).map((line) => line.slice(6)).join('\n');
  const checked = spawnSync('shellcheck', ['-s', 'bash', '-'], { input: `#!/usr/bin/env bash\n${script}\n`, encoding: 'utf8' });
  assert.is(checked.status, 0, `shellcheck of the remote script:\n${checked.stdout}${checked.stderr}\n${script}`);
}, { edit: timeSync({ service: 'chrony', servers: SERVERS }) });

/** Writes cluster.json and generates out/ again. */
function regenerate(world: World, cluster: ClusterDoc): void {
  writeFileSync(world.config, JSON.stringify(cluster, null, 2));
  const generated = world.generate();
  assert.is(generated.code, 0, generated.err.join('\n'));
}

test.run();
