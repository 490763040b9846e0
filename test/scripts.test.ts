// ntp.sh and distribute.sh, run for real against a stand-in `vagrant` (test/support/transport.ts describes it).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { requireTools } from './support/tools.js';
import {
  MASTERS, NODES, TLS, WORKERS, callLines, calls, clearLogs, dummy, hostsSnapshot as snapshot, makeWorld, remoteLog, runScript, type World,
} from './support/transport.js';

const isRoot = process.getuid?.() === 0;

const mode = (path: string) => `0${(statSync(path).mode & 0o777).toString(8)}`;
const list = (path: string) => (existsSync(path) ? readdirSync(path).sort() : []);

function withWorld(name: string, body: (world: World) => void): void {
  test(name, () => {
    if (!requireTools(name, 'bash')) return;
    const world = makeWorld();
    try {
      body(world);
    } finally {
      world.remove();
    }
  });
}

/** The vagrant calls distribute.sh should make for one master, in order. */
function expectedDistributeCalls(world: World, master: string): string[] {
  return [
    `scp ${join(world.project, TLS.cert)} ${master}:${TLS.cert}`,
    `scp ${join(world.project, TLS.key)} ${master}:${TLS.key}`,
    `scp ${join(world.project, TLS.ca)} ${master}:${TLS.ca}`,
    `scp ${join(world.out, `${master}-etcd.manifest`)} ${master}:etcd.manifest`,
    `ssh ${master} -- bash -euo pipefail -s`,
  ];
}

/** Checks one master's files after a successful distribute.sh. */
function assertDistributed(world: World, master: string): void {
  const certDir = world.fs(master, 'etc', 'etcd');
  assert.equal(list(certDir), [TLS.ca, TLS.key, TLS.cert].sort(), `${master}: files in etcd.certDir (${certDir})`);
  for (const file of Object.values(TLS)) {
    const path = join(certDir, file);
    assert.is(readFileSync(path, 'utf8'), dummy(file), `${master}: ${file} in etcd.certDir is the local ${file}`);
    const expected = file === TLS.key ? '0600' : '0644';
    assert.is(mode(path), expected, `${master}: expected ${file} with mode ${expected}; got ${mode(path)}`);
    if (isRoot) assert.is(statSync(path).uid, 0, `${master}: ${file} is owned by root`);
  }
  const manifestDir = world.fs(master, 'etc', 'kubernetes', 'manifests');
  assert.equal(list(manifestDir), ['etcd.manifest'], `${master}: etcd.manifestDir holds the manifest and nothing else`);
  const manifest = join(manifestDir, 'etcd.manifest');
  assert.is(readFileSync(manifest, 'utf8'), readFileSync(join(world.out, `${master}-etcd.manifest`), 'utf8'), `${master}: the manifest placed is out/${master}-etcd.manifest`);
  assert.is(mode(manifest), '0644', `${master}: expected the manifest with mode 0644; got ${mode(manifest)}`);
  if (isRoot) assert.is(statSync(manifest).uid, 0, `${master}: the manifest is owned by root`);
  assert.equal(list(world.fs(master, 'etc', 'kubernetes')), ['manifests'], `${master}: no temporary file is left beside the manifest directory`);
  assert.equal(list(world.home(master)), [], `${master}: nothing (least of all the key) is left in the login user's home`);
}

// ---------------------------------------------------------------------------------------------------------------
// distribute.sh

withWorld('distribute.sh copies cert, key, CA and manifest to each master in turn, then moves them in with one ssh; no worker is contacted', (world) => {
  const run = runScript(world, 'distribute.sh');
  assert.is(run.status, 0, `expected distribute.sh to succeed:\n${run.shown}`);
  const expected = MASTERS.flatMap((m) => expectedDistributeCalls(world, m));
  assert.equal(callLines(calls(world)), expected, 'the vagrant calls, in order');
});

withWorld('distribute.sh leaves on every master the certificates in certDir (key 0600, others 0644, root-owned) and its own manifest (0644) in manifestDir', (world) => {
  const run = runScript(world, 'distribute.sh');
  assert.is(run.status, 0, `expected distribute.sh to succeed:\n${run.shown}`);
  for (const master of MASTERS) assertDistributed(world, master);
  for (const worker of WORKERS) assert.equal(list(join(world.dir, 'hosts', worker)), ['home'], `${worker} is untouched`);
});

withWorld('distribute.sh sends each master a script naming the configured certDir and manifestDir, and runs every root action through sudo', (world) => {
  const run = runScript(world, 'distribute.sh');
  assert.is(run.status, 0, `expected distribute.sh to succeed:\n${run.shown}`);
  const scripts = calls(world).filter((c) => c.argv[0] === 'ssh');
  assert.is(scripts.length, MASTERS.length, 'one ssh per master');
  for (const { argv, stdin } of scripts) {
    assert.ok(stdin.includes(`${world.dir}/remote/etc/etcd/${TLS.key}`), `${argv[1]}: expected the script to name the key's place in certDir; script:\n${stdin}`);
    assert.ok(stdin.includes(`${world.dir}/remote/etc/kubernetes/manifests/etcd.manifest`), `${argv[1]}: expected the script to name the manifest's place; script:\n${stdin}`);
    const unprivileged = stdin.split('\n').filter((line) => line.trim() && !line.startsWith('sudo '));
    assert.equal(unprivileged, [], `${argv[1]}: every line of the remote script runs under sudo`);
  }
});

withWorld('distribute.sh never lets kubelet see anything in manifestDir but the complete etcd.manifest', (world) => {
  const run = runScript(world, 'distribute.sh');
  assert.is(run.status, 0, `expected distribute.sh to succeed:\n${run.shown}`);
  for (const master of MASTERS) {
    const states = remoteLog(world).filter(([host, word]) => host === master && word === 'manifests').map(([, , listing]) => listing ?? '');
    assert.ok(states.length > 0, `${master}: the stand-in sudo saw the manifest directory`);
    const unexpected = states.filter((s) => s !== '' && s !== 'etcd.manifest');
    assert.equal(unexpected, [], `${master}: manifestDir after each sudo command held only etcd.manifest, if anything; saw ${JSON.stringify(states)}`);
  }
});

withWorld('distribute.sh announces "[master] step" before each master\'s copy and move, in order', (world) => {
  const run = runScript(world, 'distribute.sh');
  assert.is(run.status, 0, `expected distribute.sh to succeed:\n${run.shown}`);
  const steps = run.stdout.split('\n').filter((line) => line.startsWith('['));
  const expected = MASTERS.flatMap((m) => [
    `[${m}] copy ${TLS.cert}, ${TLS.key}, ${TLS.ca} and ${m}-etcd.manifest`,
    `[${m}] move them into ${world.dir}/remote/etc/etcd and ${world.dir}/remote/etc/kubernetes/manifests`,
  ]);
  assert.equal(steps, expected, `the [host] step lines of distribute.sh's output:\n${run.stdout}`);
});

withWorld('distribute.sh run twice: the second run succeeds, makes the same calls, and leaves every host exactly as the first did', (world) => {
  const first = runScript(world, 'distribute.sh');
  assert.is(first.status, 0, `expected the first run to succeed:\n${first.shown}`);
  const afterFirst = snapshot(world);
  const firstCalls = callLines(calls(world));
  clearLogs(world);
  const second = runScript(world, 'distribute.sh');
  assert.is(second.status, 0, `expected the second run to succeed:\n${second.shown}`);
  assert.equal(callLines(calls(world)), firstCalls, 'the second run makes the same vagrant calls');
  assert.equal(snapshot(world), afterFirst, 'every file, mode and owner on every host is as after the first run');
  for (const master of MASTERS) assertDistributed(world, master);
});

withWorld('distribute.sh stops at the first failing copy: master2\'s scp fails → non-zero exit, "[master2] copy" in the error, master3 never contacted', (world) => {
  const run = runScript(world, 'distribute.sh', { STANDIN_FAIL: 'master2 scp' });
  assert.is.not(run.status, 0, `expected a non-zero exit:\n${run.shown}`);
  assert.match(run.stderr, /error: \[master2\] copy [^\n]* failed \(exit status 1\)/, `expected stderr to name master2 and the copy step:\n${run.shown}`);
  const lines = callLines(calls(world));
  assert.equal(lines, [...expectedDistributeCalls(world, 'master1'), expectedDistributeCalls(world, 'master2')[0]], 'calls up to and including the failing one, none after');
  assertDistributed(world, 'master1');
  assert.equal(list(world.fs('master2', 'etc', 'kubernetes', 'manifests')), [], 'master2 got no manifest');
  assert.ok(!existsSync(world.fs('master3', 'etc', 'etcd')), 'master3 got nothing');
});

withWorld('distribute.sh stops when the move fails: master2\'s ssh fails → non-zero exit, "[master2] move them into" in the error, master3 never contacted', (world) => {
  const run = runScript(world, 'distribute.sh', { STANDIN_FAIL: 'master2 ssh' });
  assert.is.not(run.status, 0, `expected a non-zero exit:\n${run.shown}`);
  assert.match(run.stderr, /error: \[master2\] move them into [^\n]* failed \(exit status 1\)/, `expected stderr to name master2 and the move step:\n${run.shown}`);
  const lines = callLines(calls(world));
  assert.equal(lines, [...expectedDistributeCalls(world, 'master1'), ...expectedDistributeCalls(world, 'master2')], 'calls up to and including the failing ssh, none after');
  assert.not.ok(lines.some((line) => line.includes('master3')), `master3 is never contacted:\n${lines.join('\n')}`);
});

withWorld('distribute.sh stops when a command on the master fails (kubelet\'s manifest directory missing on master2), naming master2 and the step', (world) => {
  rmSync(world.fs('master2', 'etc', 'kubernetes', 'manifests'), { recursive: true });
  const run = runScript(world, 'distribute.sh');
  assert.is.not(run.status, 0, `expected a non-zero exit:\n${run.shown}`);
  assert.match(run.stderr, /error: \[master2\] move them into [^\n]* failed/, `expected stderr to name master2 and the move step:\n${run.shown}`);
  assert.not.ok(callLines(calls(world)).some((line) => line.includes('master3')), 'master3 is never contacted');
  assertDistributed(world, 'master1');
});

withWorld('distribute.sh refuses to start when a certificate file is missing, before contacting any host', (world) => {
  rmSync(join(world.project, TLS.key));
  const run = runScript(world, 'distribute.sh');
  assert.is.not(run.status, 0, `expected a non-zero exit:\n${run.shown}`);
  assert.match(run.stderr, new RegExp(`cannot read [^\\n]*${TLS.key}`), `expected stderr to name the missing key:\n${run.shown}`);
  assert.equal(calls(world), [], 'no vagrant call was made');
});

// ---------------------------------------------------------------------------------------------------------------
// ntp.sh

withWorld('ntp.sh installs ntp on every master and worker, then checks every clock, one ssh each, in cluster.json\'s order', (world) => {
  const run = runScript(world, 'ntp.sh');
  assert.is(run.status, 0, `expected ntp.sh to succeed:\n${run.shown}`);
  const expected = [...NODES, ...NODES].map((node) => `ssh ${node} -- bash -euo pipefail -s`);
  assert.equal(callLines(calls(world)), expected, 'the vagrant calls, in order');
});

withWorld('ntp.sh runs apt-get update, then apt-get install -y ntp with DEBIAN_FRONTEND=noninteractive, then date -R, on every node', (world) => {
  const run = runScript(world, 'ntp.sh');
  assert.is(run.status, 0, `expected ntp.sh to succeed:\n${run.shown}`);
  const log = remoteLog(world);
  for (const node of NODES) {
    const mine = log.filter(([host, word]) => host === node && (word === 'apt-get' || word === 'date')).map((words) => words.slice(1).join(' '));
    const shown = `remote commands on ${node}:\n${mine.join('\n')}`;
    const update = mine.findIndex((line) => /^apt-get DEBIAN_FRONTEND=\S* update$/.test(line));
    const install = mine.findIndex((line) => line.startsWith('apt-get ') && / install( |$)/.test(line));
    const date = mine.indexOf('date -R');
    assert.ok(update >= 0, `${node}: expected apt-get update; ${shown}`);
    assert.ok(install >= 0, `${node}: expected apt-get install; ${shown}`);
    const installLine = mine[install] ?? '';
    assert.ok(installLine.split(' ').includes('-y'), `${node}: expected apt-get install with -y; got ${installLine}`);
    assert.ok(installLine.split(' ').includes('ntp'), `${node}: expected apt-get install ntp; got ${installLine}`);
    assert.ok(installLine.startsWith('apt-get DEBIAN_FRONTEND=noninteractive '), `${node}: expected apt-get install to see DEBIAN_FRONTEND=noninteractive; got ${installLine}`);
    assert.ok(date >= 0, `${node}: expected date -R to run; ${shown}`);
    assert.ok(update < install && install < date, `${node}: expected update, then install, then date -R; ${shown}`);
  }
});

withWorld('ntp.sh announces each node\'s clock check and prints its date -R answer under it', (world) => {
  const run = runScript(world, 'ntp.sh');
  assert.is(run.status, 0, `expected ntp.sh to succeed:\n${run.shown}`);
  const lines = run.stdout.split('\n');
  for (const node of NODES) {
    const at = lines.findIndex((line) => line.startsWith(`[${node}] check the clock`));
    assert.ok(at >= 0, `expected a "[${node}] check the clock" line:\n${run.stdout}`);
    assert.match(lines[at + 1] ?? '', /^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} [+-]\d{4}$/, `expected ${node}'s date -R (RFC 5322) after its step line:\n${run.stdout}`);
  }
});

withWorld('ntp.sh stops at the first failing node: master2 unreachable → non-zero exit, "[master2] install ntp" in the error, nothing after', (world) => {
  const run = runScript(world, 'ntp.sh', { STANDIN_FAIL: 'master2 ssh' });
  assert.is.not(run.status, 0, `expected a non-zero exit:\n${run.shown}`);
  assert.match(run.stderr, /error: \[master2\] install ntp failed \(exit status 1\)/, `expected stderr to name master2 and the step:\n${run.shown}`);
  assert.equal(callLines(calls(world)), ['master1', 'master2'].map((n) => `ssh ${n} -- bash -euo pipefail -s`), 'calls up to and including the failing one');
});

withWorld('the stand-ins behave like the real tools where the test relies on it: apt-get install without -y aborts, sudo drops DEBIAN_FRONTEND, unknown machines fail', (world) => {
  const env = { ...process.env, STANDIN_DIR: world.dir, STANDIN_HOST: 'master1', DEBIAN_FRONTEND: 'noninteractive' };
  const bin = join(world.dir, 'remote-bin');
  const noYes = spawnSync(join(bin, 'apt-get'), ['install', 'ntp'], { env, input: '', encoding: 'utf8' });
  assert.is.not(noYes.status, 0, `apt-get install without -y and no answer must abort:\n${noYes.stdout}${noYes.stderr}`);
  spawnSync(join(bin, 'sudo'), [join(bin, 'apt-get'), 'install', '-y', 'ntp'], { env, encoding: 'utf8' });
  const seen = remoteLog(world).filter(([, word]) => word === 'apt-get').map((w) => w[2]);
  assert.equal(seen, ['DEBIAN_FRONTEND=noninteractive', 'DEBIAN_FRONTEND='], 'apt-get saw DEBIAN_FRONTEND directly, and not through sudo');
  const unknown = spawnSync(join(world.dir, 'bin', 'vagrant'), ['ssh', 'master9', '--', 'true'], { env, input: '', encoding: 'utf8' });
  assert.is.not(unknown.status, 0, 'vagrant ssh to an unknown machine fails');
  writeFileSync(join(world.dir, 'probe'), 'x');
  const copied = spawnSync(join(world.dir, 'bin', 'vagrant'), ['scp', join(world.dir, 'probe'), 'worker1:probe'], { env, encoding: 'utf8' });
  assert.is(copied.status, 0, copied.stderr);
  assert.is(readFileSync(join(world.home('worker1'), 'probe'), 'utf8'), 'x', 'vagrant scp FILE HOST:NAME lands in HOST\'s home as NAME');
});

test.run();
