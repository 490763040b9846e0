// ntp.sh and distribute.sh, run for real against a stand-in `vagrant` (test/support/transport.ts describes it):
// one connection per host, hosts in parallel, each host's output in one block, a failure on one host leaving the
// others to finish, a summary, and a second run that changes nothing.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { requireTools } from './support/tools.js';
import { assertBlocks, assertSummary, concurrency, parseOutput } from './support/output.js';
import {
  MASTERS, NODES, TLS, WORKERS, callLines, calls, clearLogs, dummy, hostsSnapshot as snapshot, makeWorld, remoteLog, runScript, scriptLaunch, vagrantCall, withWorld,
  type World,
} from './support/transport.js';

const isRoot = process.getuid?.() === 0;

const mode = (path: string) => `0${(statSync(path).mode & 0o777).toString(8)}`;
const list = (path: string) => (existsSync(path) ? readdirSync(path).sort() : []);
const sorted = (values: string[]) => [...values].sort();

// ---------------------------------------------------------------------------------------------------------------
// distribute.sh

const distributeStep = (master: string) => `copy ${TLS.cert}, ${TLS.key}, ${TLS.ca} and ${master}-etcd.manifest, move them into place`;

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
  assert.equal(list(world.tmp(master)), [], `${master}: the remote stage (mktemp -d) is removed`);
}

withWorld('distribute.sh makes exactly one transport call per master (vagrant ssh MASTER -- bash -euo pipefail -s), none to a worker, and no vagrant scp', (world) => {
  const run = runScript(world, 'distribute.sh');
  assert.is(run.status, 0, `expected distribute.sh to succeed:\n${run.shown}`);
  assert.equal(sorted(callLines(calls(world))), sorted(MASTERS.map(vagrantCall)), 'the vagrant calls (in any order: masters run in parallel)');
});

withWorld('distribute.sh leaves on every master the certificates in certDir (key 0600, others 0644, root-owned) and its own manifest (0644) in manifestDir', (world) => {
  const run = runScript(world, 'distribute.sh');
  assert.is(run.status, 0, `expected distribute.sh to succeed:\n${run.shown}`);
  for (const master of MASTERS) assertDistributed(world, master);
  for (const worker of WORKERS) assert.equal(list(join(world.dir, 'hosts', worker)), ['home'], `${worker} is untouched`);
});

withWorld('distribute.sh sends each master its files base64-encoded inside the one script, stages them in a 0700 mktemp -d, and installs each as root:root with its mode through sudo', (world) => {
  const run = runScript(world, 'distribute.sh');
  assert.is(run.status, 0, `expected distribute.sh to succeed:\n${run.shown}`);
  const scripts = calls(world);
  for (const { argv, stdin } of scripts) {
    const master = argv[1]!;
    for (const [file, content] of [[TLS.cert, dummy(TLS.cert)], [TLS.key, dummy(TLS.key)], [TLS.ca, dummy(TLS.ca)], ['etcd.manifest', readFileSync(join(world.out, `${master}-etcd.manifest`), 'utf8')]] as const) {
      assert.ok(stdin.includes(Buffer.from(content).toString('base64').slice(0, 60)), `${master}: expected ${file} base64-encoded in the script`);
    }
    assert.not.ok(stdin.includes(dummy(TLS.key)), `${master}: the key never travels as plain text`);
    assert.ok(stdin.includes(`${world.dir}/remote/etc/etcd/${TLS.key}`), `${master}: expected the script to name the key's place in certDir; script:\n${stdin}`);
    assert.ok(stdin.includes(`${world.dir}/remote/etc/kubernetes/manifests/etcd.manifest`), `${master}: expected the script to name the manifest's place`);
    // Outside the payloads, every command that writes beyond the stage runs under sudo.
    const code = stdin.replace(/<<'END_OF_PAYLOAD'\n[\s\S]*?\nEND_OF_PAYLOAD\n/g, "<<'END_OF_PAYLOAD'\n");
    const unprivileged = code.split('\n').map((line) => line.replace(/(^|\s)#.*$/, '')).filter((line) => /(^|[\s;&|(])(install|mv|mkdir|cp|chmod|chown|ln|tee)\s/.test(line) && !/\bsudo (install|mv|mkdir)\b/.test(line));
    assert.equal(unprivileged, [], `${master}: every install, mv and mkdir runs under sudo`);
  }
  for (const master of MASTERS) {
    const sudo = remoteLog(world).filter(([host, word]) => host === master && word === 'sudo').map((w) => w.slice(2));
    const installs = sudo.filter((w) => w[0] === 'install');
    const target = (w: string[]) => w.at(-1)!;
    const fs = world.fs(master);
    // Each file is installed beside its place under another name, then renamed into it: no moment without the file
    // (etcd reads its certificate again for every new connection; kubelet reads every file in manifestDir).
    const expected = [
      [`${fs}/etc/etcd/.${TLS.cert}.etcd-bootstrap`, '0644', `${fs}/etc/etcd/${TLS.cert}`],
      [`${fs}/etc/etcd/.${TLS.key}.etcd-bootstrap`, '0600', `${fs}/etc/etcd/${TLS.key}`],
      [`${fs}/etc/etcd/.${TLS.ca}.etcd-bootstrap`, '0644', `${fs}/etc/etcd/${TLS.ca}`],
      [`${fs}/etc/kubernetes/.etcd.manifest.etcd-bootstrap`, '0644', `${fs}/etc/kubernetes/manifests/etcd.manifest`],
    ];
    assert.equal(installs.map((w) => [target(w), w.slice(1, 7).join(' ')]), expected.map(([path, m]) => [path, `-o root -g root -m ${m}`]), `${master}: sudo install -o root -g root -m MODE, once per file:\n${JSON.stringify(installs)}`);
    for (const [staged, , final] of expected) {
      assert.ok(sudo.some((w) => w[0] === 'mv' && w.at(-2) === staged && w.at(-1) === final), `${master}: ${final} is renamed into place with sudo mv`);
    }
    const stages = remoteLog(world).filter(([host, word]) => host === master && word === 'stage');
    assert.is(stages.length, 4, `${master}: each install came from the stage`);
    for (const [, , stageMode, source] of stages) assert.is(stageMode, '700', `${master}: the stage holding ${source} is mode 0700 (mktemp -d): nobody else can read the key on its way`);
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

withWorld('distribute.sh prints each master\'s output as one block, starting with "[master] copy …, move them into place", listing each file written, then the summary', (world) => {
  // Slow connections, all at once: unbuffered output would interleave.
  const run = runScript(world, 'distribute.sh', { STANDIN_SLEEP: '0.3' }, ['-j', '3']);
  assert.is(run.status, 0, `expected distribute.sh to succeed:\n${run.shown}`);
  const output = assertBlocks(run, MASTERS, distributeStep);
  for (const block of output.blocks) {
    const placed = block.lines.filter((line) => /^ {2}\/\S+: written, mode 0[0-7]{3}$/.test(line));
    assert.is(placed.length, 4, `${block.host}: one "written" line per file:\n${block.lines.join('\n')}`);
    // The stand-in maps each host's remote paths onto hosts/HOST/fs, so a line tells which host printed it.
    assert.ok(placed.every((line) => line.includes(`/hosts/${block.host}/fs/`)), `${block.host}'s block holds only its own lines:\n${run.shown}`);
  }
  assertSummary(run, MASTERS, MASTERS.length);
  assert.is(run.stderr, '', 'nothing on stderr');
});

test('Ctrl-C (SIGINT to the process group, as a terminal sends it) and SIGTERM stop the work on every host, not only the script: it exits at once, says what was done, stopped and not started, and nothing is placed afterwards', async () => {
  if (!requireTools('interrupting distribute.sh', 'bash')) return;
  // Issue 19, item 5: the hosts' workers are background jobs, which bash has ignore Ctrl-C; distribute.sh placed a
  // manifest about 5 s after the operator's Ctrl-C, with nothing printed.
  for (const [signal, status, toGroup] of [['SIGINT', 130, true], ['SIGTERM', 143, false]] as const) {
    const world = makeWorld();
    try {
      // Each connection takes 2 s before the master runs anything; two at a time, so master3 waits its turn.
      const launch = scriptLaunch(world, 'distribute.sh', { STANDIN_SLEEP: '2' });
      const child = spawn(launch.file, ['-j', '2'], { cwd: launch.cwd, env: launch.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk) => (stdout += chunk));
      child.stderr.on('data', (chunk) => (stderr += chunk));
      const ended = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
      await new Promise((resolve) => setTimeout(resolve, 800));
      const sent = Date.now();
      process.kill(toGroup ? -child.pid! : child.pid!, signal);
      const code = await ended;
      const took = Date.now() - sent;
      const shown = `exit ${code} after ${took} ms\nstdout:\n${stdout}\nstderr:\n${stderr}`;
      assert.is(code, status, `${signal}: exit status ${status}:\n${shown}`);
      assert.ok(took < 1_500, `${signal}: the script ends at once, not when the hosts' work would have:\n${shown}`);
      assert.ok(stderr.includes(`interrupted (${signal}): the work on every host was stopped before this script ended`), `${signal}: says so:\n${shown}`);
      assert.match(stderr, /stopped while at work: master1 \(at: copy [^)]*\) master2 \(at: copy [^)]*\)\n/, `${signal}: names the hosts stopped, and where:\n${shown}`);
      assert.ok(stderr.includes('not started: master3'), `${signal}: names the host not started:\n${shown}`);
      // The connections would have run their scripts 2 s after they started: nothing may land after the exit.
      await new Promise((resolve) => setTimeout(resolve, 2_500));
      for (const master of MASTERS) {
        assert.equal(list(world.fs(master, 'etc', 'kubernetes', 'manifests')), [], `${signal}: no manifest placed on ${master} after the script ended`);
        assert.equal(list(world.fs(master, 'etc', 'etcd')), [], `${signal}: no certificate placed on ${master} after the script ended`);
      }
    } finally {
      world.remove();
    }
  }
});

withWorld('distribute.sh run twice: the second run says "already in place" for every file, changes nothing (content, mode, owner, inode, mtime) and succeeds', (world) => {
  const first = runScript(world, 'distribute.sh');
  assert.is(first.status, 0, `expected the first run to succeed:\n${first.shown}`);
  const afterFirst = snapshot(world);
  const firstCalls = sorted(callLines(calls(world)));
  clearLogs(world);
  const second = runScript(world, 'distribute.sh');
  assert.is(second.status, 0, `expected the second run to succeed:\n${second.shown}`);
  assert.equal(sorted(callLines(calls(world))), firstCalls, 'the second run makes the same vagrant calls');
  const output = assertBlocks(second, MASTERS, distributeStep);
  for (const block of output.blocks) {
    const already = block.lines.filter((line) => line.endsWith(': already in place'));
    assert.is(already.length, 4, `${block.host}: every file is "already in place":\n${second.shown}`);
    assert.not.ok(block.lines.some((line) => line.includes('written')), `${block.host}: nothing written:\n${second.shown}`);
  }
  assert.equal(snapshot(world), afterFirst, 'every file and directory on every host is as after the first run, down to inode and mtime');
  const writes = remoteLog(world).filter(([, word, command]) => word === 'sudo' && ['install', 'mv', 'chmod', 'chown', 'cp'].includes(command ?? ''));
  assert.equal(writes, [], 'the second run runs no install, mv, chmod, chown or cp');
  for (const master of MASTERS) assertDistributed(world, master);
  assertSummary(second, MASTERS, MASTERS.length);
});

withWorld('distribute.sh with master2 unreachable: exit 1, stderr names master2 and its step, master1 and master3 still get everything, the summary names them', (world) => {
  const run = runScript(world, 'distribute.sh', { STANDIN_FAIL: 'master2 ssh' });
  assert.is(run.status, 1, `expected exit status 1:\n${run.shown}`);
  assert.match(run.stderr, /^failed:\n {2}master2: copy [^\n]*, move them into place \(exit status 255\): stand-in vagrant: ssh to master2 failed \(simulated\)$/m, `expected the summary line to name master2, the step, and what the transport said:\n${run.shown}`);
  assert.not.ok(/master[13]/.test(run.stderr), `stderr names no host that succeeded:\n${run.shown}`);
  assert.equal(sorted(callLines(calls(world))), sorted(MASTERS.map(vagrantCall)), 'every master was contacted once, master2 included');
  assertDistributed(world, 'master1');
  assertDistributed(world, 'master3');
  assert.equal(list(world.fs('master2', 'etc', 'kubernetes', 'manifests')), [], 'master2 got no manifest');
  assert.ok(!existsSync(world.fs('master2', 'etc', 'etcd')), 'master2 got nothing');
  assertBlocks(run, MASTERS, distributeStep);
  assertSummary(run, ['master1', 'master3'], 3);

  // Run again once master2 is back: master2 gets its files; master1 and master3 are already in place.
  clearLogs(world);
  const again = runScript(world, 'distribute.sh');
  assert.is(again.status, 0, `expected the run after the repair to succeed:\n${again.shown}`);
  for (const block of parseOutput(again.stdout).blocks) {
    const expected = block.host === 'master2' ? 'written' : 'already in place';
    assert.is(block.lines.filter((line) => line.includes(`: ${expected}`)).length, 4, `${block.host}: every file ${expected}:\n${again.shown}`);
  }
  for (const master of MASTERS) assertDistributed(world, master);
});

withWorld('distribute.sh to a master without kubelet\'s manifest directory: checked first, nothing installed there, the summary says what to create (staticPodPath); the others complete', (world) => {
  rmSync(world.fs('master2', 'etc', 'kubernetes', 'manifests'), { recursive: true });
  const run = runScript(world, 'distribute.sh');
  assert.is(run.status, 1, `expected exit status 1:\n${run.shown}`);
  const manifestDir = `${world.fs('master2')}/etc/kubernetes/manifests`;
  const said = `${manifestDir} does not exist on this master: it is where kubelet looks for static pods (staticPodPath in its configuration, or --pod-manifest-path). Install and configure kubelet first, or set etcd.manifestDir in cluster.json to the staticPodPath kubelet uses.`;
  assert.ok(run.stderr.includes(`\n  master2: ${distributeStep('master2')} (exit status 1): ${said}\n`), `expected the summary line to name master2, the step, and the directory to create:\n${run.shown}`);
  assert.not.ok(/cannot move|mv: /.test(run.stdout + run.stderr), `no raw mv error:\n${run.shown}`);
  const output = assertBlocks(run, MASTERS, distributeStep);
  const master2 = output.blocks.find((b) => b.host === 'master2')!.lines.join('\n');
  assert.match(master2, /error: \[master2\] copy [^\n]* failed \(exit status 1\)/, `master2's block says where it failed:\n${run.shown}`);
  assert.ok(!existsSync(world.fs('master2', 'etc', 'etcd')), 'master2: no certificate was installed before the check failed');
  assert.not.ok(remoteLog(world).some(([host, word, command]) => host === 'master2' && word === 'sudo' && command === 'install'), 'master2: no sudo install ran');
  assertDistributed(world, 'master1');
  assertDistributed(world, 'master3');
  assert.equal(list(world.fs('master2', 'etc', 'kubernetes')), [], 'master2: no temporary manifest is left behind');
  assert.equal(list(world.tmp('master2')), [], 'master2: the stage is removed even after the failure');
  assertSummary(run, ['master1', 'master3'], 3);
});

withWorld('distribute.sh refuses to start when a certificate file is missing, before contacting any host', (world) => {
  rmSync(join(world.project, TLS.key));
  const run = runScript(world, 'distribute.sh');
  assert.is.not(run.status, 0, `expected a non-zero exit:\n${run.shown}`);
  assert.match(run.stderr, new RegExp(`cannot read [^\\n]*${TLS.key}`), `expected stderr to name the missing key:\n${run.shown}`);
  assert.equal(calls(world), [], 'no vagrant call was made');
});

// ---------------------------------------------------------------------------------------------------------------
// Parallelism: at most -j hosts at a time, all of them with a large enough -j.

withWorld('distribute.sh -j 3 works on the 3 masters at once; -j 1 one after another (from the stand-in\'s call times)', (world) => {
  const SLEEP = 0.5;
  const parallel = runScript(world, 'distribute.sh', { STANDIN_SLEEP: String(SLEEP) }, ['-j', '3']);
  assert.is(parallel.status, 0, parallel.shown);
  const overlapping = calls(world);
  assert.is(overlapping.length, 3, 'one call per master');
  const latestStart = Math.max(...overlapping.map((c) => c.start));
  const earliestEnd = Math.min(...overlapping.map((c) => c.end));
  assert.ok(latestStart < earliestEnd, `with -j 3 all three calls are in flight at once: the last started at ${latestStart}, before the first ended at ${earliestEnd}`);

  clearLogs(world);
  const serial = runScript(world, 'distribute.sh', { STANDIN_SLEEP: String(SLEEP) }, ['-j1']);
  assert.is(serial.status, 0, serial.shown);
  const oneByOne = calls(world);
  assert.is(oneByOne.length, 3, 'one call per master');
  assert.is(concurrency(oneByOne), 1, `with -j 1 no two calls overlap: ${JSON.stringify(oneByOne.map((c) => [c.start, c.end]))}`);
  assert.ok(serial.ms >= 3 * SLEEP * 1000, `with -j 1 the run takes at least 3 × ${SLEEP} s; took ${serial.ms} ms`);
  // The wall times are printed, not compared: on a loaded machine the start-up of the scripts outweighs the stand-in's
  // sleeps (CI saw -j 3 take 4.65 s and -j 1 4.49 s); the call times above prove the overlap.
  console.log(`  distribute.sh, ${SLEEP} s per connection: -j 3 took ${Math.round(parallel.ms)} ms, -j 1 ${Math.round(serial.ms)} ms`);
});

withWorld('ntp.sh -j 2 over 5 nodes never has more than 2 connections open, and does have 2; by default all 5 at once', (world) => {
  const two = runScript(world, 'ntp.sh', { STANDIN_SLEEP: '0.4' }, ['--jobs', '2']);
  assert.is(two.status, 0, two.shown);
  assert.is(calls(world).length, NODES.length, 'one call per node');
  assert.is(concurrency(calls(world)), 2, `at most and at least 2 at a time: ${JSON.stringify(calls(world).map((c) => [c.start, c.end]))}`);
  clearLogs(world);
  const all = runScript(world, 'ntp.sh', { STANDIN_SLEEP: '0.4' });
  assert.is(all.status, 0, all.shown);
  assert.is(concurrency(calls(world)), NODES.length, 'the default (-j 8) opens every node\'s connection at once');
});

// ---------------------------------------------------------------------------------------------------------------
// ntp.sh

const ntpStep = () => 'install ntp and read the clock';

withWorld('ntp.sh makes exactly one transport call per node, masters and workers', (world) => {
  const run = runScript(world, 'ntp.sh');
  assert.is(run.status, 0, `expected ntp.sh to succeed:\n${run.shown}`);
  assert.equal(sorted(callLines(calls(world))), sorted(NODES.map(vagrantCall)), 'the vagrant calls');
});

withWorld('ntp.sh runs apt-get update, then apt-get install -y ntp with DEBIAN_FRONTEND=noninteractive, then date -R and reads the clock, on every node', (world) => {
  const run = runScript(world, 'ntp.sh');
  assert.is(run.status, 0, `expected ntp.sh to succeed:\n${run.shown}`);
  const log = remoteLog(world);
  for (const node of NODES) {
    const mine = log.filter(([host, word]) => host === node && (word === 'apt-get' || word === 'date')).map((words) => words.slice(1).join(' '));
    const shown = `remote commands on ${node}:\n${mine.join('\n')}`;
    const update = mine.findIndex((line) => /^apt-get DEBIAN_FRONTEND=\S* update$/.test(line));
    const install = mine.findIndex((line) => line.startsWith('apt-get ') && / install( |$)/.test(line));
    const date = mine.indexOf('date -R');
    const clock = mine.indexOf('date +%s.%N');
    assert.ok(update >= 0, `${node}: expected apt-get update; ${shown}`);
    assert.ok(install >= 0, `${node}: expected apt-get install; ${shown}`);
    const installLine = mine[install] ?? '';
    assert.ok(installLine.split(' ').includes('-y'), `${node}: expected apt-get install with -y; got ${installLine}`);
    assert.ok(installLine.split(' ').includes('ntp'), `${node}: expected apt-get install ntp; got ${installLine}`);
    assert.ok(installLine.startsWith('apt-get DEBIAN_FRONTEND=noninteractive '), `${node}: expected apt-get install to see DEBIAN_FRONTEND=noninteractive; got ${installLine}`);
    assert.ok(date >= 0, `${node}: expected date -R to run; ${shown}`);
    assert.ok(clock >= 0, `${node}: expected date +%s.%N (the clock check's reading); ${shown}`);
    assert.ok(update < install && install < date && date < clock, `${node}: expected update, install, date -R, then the reading; ${shown}`);
  }
});

withWorld('ntp.sh: apt-get on the node reads /dev/null, never the rest of the remote script (bash -s reads the script from the same standard input)', (world) => {
  const run = runScript(world, 'ntp.sh');
  assert.is(run.status, 0, `expected ntp.sh to succeed:\n${run.shown}`);
  const inputs = remoteLog(world).filter(([, word]) => word === 'apt-get-stdin');
  assert.is(inputs.length, 2 * NODES.length, `apt-get ran twice (update, install) on every node: ${JSON.stringify(inputs)}`);
  for (const [host, , input] of inputs) assert.is(input, '/dev/null', `${host}: apt-get's standard input is /dev/null, not ${input}`);
});

withWorld('ntp.sh prints each node\'s output as one block: its step, date -R, "[node] check the clock", "[node] clock: ±N s"; then the summary', (world) => {
  const run = runScript(world, 'ntp.sh', { STANDIN_SLEEP: '0.2' });
  assert.is(run.status, 0, `expected ntp.sh to succeed:\n${run.shown}`);
  const output = assertBlocks(run, NODES, ntpStep);
  for (const { host, lines } of output.blocks) {
    const check = lines.indexOf(`[${host}] check the clock: within 1 s of this machine's`);
    assert.ok(check > 0, `expected a "[${host}] check the clock" line:\n${run.shown}`);
    assert.match(lines[check - 1] ?? '', /^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} [+-]\d{4}$/, `expected ${host}'s date -R (RFC 5322) just before its clock check:\n${run.shown}`);
    assert.match(lines[check + 1] ?? '', new RegExp(`^\\[${host}\\] clock: [+-]\\d+\\.\\d{3} s from this machine's$`), `expected ${host}'s measured skew after the check:\n${run.shown}`);
    assert.not.ok(lines.some((line) => line.startsWith('clock: ')), `the raw clock reading is not shown:\n${run.shown}`);
  }
  assertSummary(run, NODES, NODES.length);
});

withWorld('ntp.sh run twice: the second run finds ntp installed on every node, runs no apt-get, and succeeds', (world) => {
  const first = runScript(world, 'ntp.sh');
  assert.is(first.status, 0, first.shown);
  clearLogs(world);
  const second = runScript(world, 'ntp.sh');
  assert.is(second.status, 0, second.shown);
  for (const { host, lines } of assertBlocks(second, NODES, ntpStep).blocks) {
    assert.ok(lines.includes('  ntp is already installed'), `${host}: "ntp is already installed":\n${second.shown}`);
  }
  assert.equal(remoteLog(world).filter(([, word, command]) => word === 'apt-get' || command === 'apt-get' || (word === 'sudo' && command === 'env')), [], 'no apt-get on the second run');
  assertSummary(second, NODES, NODES.length);
});

withWorld('ntp.sh with master2 unreachable: exit 1, stderr names master2 and its step, every other node still gets ntp and its clock checked', (world) => {
  const run = runScript(world, 'ntp.sh', { STANDIN_FAIL: 'master2 ssh' });
  assert.is(run.status, 1, `expected exit status 1:\n${run.shown}`);
  assert.match(run.stderr, /^failed:\n {2}master2: install ntp and read the clock \(exit status 255\): stand-in vagrant: ssh to master2 failed \(simulated\)$/m, `expected the summary line to name master2, the step, and what the transport said:\n${run.shown}`);
  const others = NODES.filter((n) => n !== 'master2');
  const output = assertBlocks(run, NODES, ntpStep);
  for (const { host, lines } of output.blocks.filter((b) => b.host !== 'master2')) {
    assert.ok(lines.some((line) => line.startsWith(`[${host}] clock: `)), `${host}'s clock was checked:\n${run.shown}`);
  }
  const installed = new Set(remoteLog(world).filter(([, word, , command]) => word === 'apt-get' && command === 'install').map(([host]) => host!));
  assert.equal(sorted([...installed]), sorted(others), 'every node but master2 ran apt-get install');
  assertSummary(run, others, NODES.length);
});

// ---------------------------------------------------------------------------------------------------------------
// The stand-ins themselves.

withWorld('the stand-ins behave like the real tools where the test relies on it: apt-get install without -y aborts, sudo drops DEBIAN_FRONTEND, unknown machines fail, dpkg-query knows what was installed, ssh finds a host by address', (world) => {
  const env = { ...process.env, STANDIN_DIR: world.dir, STANDIN_HOST: 'master1', DEBIAN_FRONTEND: 'noninteractive' };
  const bin = join(world.dir, 'remote-bin');
  const noYes = spawnSync(join(bin, 'apt-get'), ['install', 'ntp'], { env, input: '', encoding: 'utf8' });
  assert.is.not(noYes.status, 0, `apt-get install without -y and no answer must abort:\n${noYes.stdout}${noYes.stderr}`);
  const before = spawnSync(join(bin, 'dpkg-query'), ['-W', '-f=${Status}', 'ntp'], { env, encoding: 'utf8' });
  assert.is.not(before.status, 0, 'dpkg-query: ntp is not installed yet');
  spawnSync(join(bin, 'sudo'), [join(bin, 'apt-get'), 'install', '-y', 'ntp'], { env, encoding: 'utf8' });
  const seen = remoteLog(world).filter(([, word]) => word === 'apt-get').map((w) => w[2]);
  assert.equal(seen, ['DEBIAN_FRONTEND=noninteractive', 'DEBIAN_FRONTEND='], 'apt-get saw DEBIAN_FRONTEND directly, and not through sudo');
  const after = spawnSync(join(bin, 'dpkg-query'), ['-W', '-f=${Status}', 'ntp'], { env, encoding: 'utf8' });
  assert.is(after.stdout, 'install ok installed', 'dpkg-query: ntp is installed after apt-get install -y ntp');
  const unknown = spawnSync(join(world.dir, 'bin', 'vagrant'), ['ssh', 'master9', '--', 'true'], { env, input: '', encoding: 'utf8' });
  assert.is.not(unknown.status, 0, 'vagrant ssh to an unknown machine fails');
  const scp = spawnSync(join(world.dir, 'bin', 'vagrant'), ['scp', '/etc/hostname', 'worker1:x'], { env, encoding: 'utf8' });
  assert.is(scp.status, 2, 'the stand-in refuses vagrant scp: the scripts must not use it');
  const ssh = spawnSync(join(world.dir, 'bin', 'ssh'), ['-o', 'BatchMode=yes', '-p', '22', '--', 'master2.node.local.consul', 'bash', '-euo', 'pipefail', '-s'], { env, input: 'echo "on $STANDIN_HOST"', encoding: 'utf8' });
  assert.is(ssh.stdout, 'on master2\n', `ssh to master2's host reaches master2:\n${ssh.stderr}`);
  const nowhere = spawnSync(join(world.dir, 'bin', 'ssh'), ['--', 'nowhere.example', 'true'], { env, input: '', encoding: 'utf8' });
  assert.is(nowhere.status, 255, 'ssh to an unknown address fails as ssh does');
  const ip = spawnSync(join(bin, 'ip'), ['-o', 'addr', 'show'], { env, encoding: 'utf8' });
  assert.match(ip.stdout, /^3: eth1 +inet 192\.168\.56\.11\/24 /m, `ip -o addr show on master1 shows its configured ip:\n${ip.stdout}`);
  const skewed = spawnSync(join(bin, 'date'), ['+%s.%N'], { env: { ...env, STANDIN_SKEW: '5' }, encoding: 'utf8' });
  const off = Number(skewed.stdout) - Date.now() / 1000;
  assert.ok(off > 4 && off < 6, `date +%s.%N with STANDIN_SKEW=5 is 5 s ahead; got ${off}`);
});

test.run();
