// The scripts of out/ against real OpenSSH servers, one per simulated node, with a real sudo user and a real etcd
// cluster started from the manifests that distribute.sh placed; and the test's stand-ins for ss and sudo checked
// against the real tools.
//
// The world (test/support/sshd.ts): a private network namespace with a bastion sshd on 127.0.0.10:2222 and one
// sshd per master on 127.0.0.11, 127.0.0.12, 127.0.0.13 (port 22), each master in its own mount namespace with its
// own /etc/kubernetes/manifests, /etc/etcd and /var/lib/etcd. cluster.json reaches the masters only through the
// bastion (transport.jumpHost), and the client trusts the hosts and authenticates only through cluster.json
// (identityFile, options UserKnownHostsFile and StrictHostKeyChecking=yes).
//
// Needs root, openssh-server, sudo, util-linux (unshare, nsenter, setpriv), iproute2 and etcd: skipped with a loud
// notice without them, failed under CI=true (.ci/run installs them).
import { suite } from 'uvu';
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { parseCluster } from '../src/load.js';
import { plan } from '../src/plan.js';
import { main } from '../src/cli.js';
import { allLogs, baseEnv, check, explain, indent, run, runningCount, startMember, stopMember, waitHealthy, type RunResult } from './support/live-cluster.js';
import {
  clusterFromPlacedManifests,
  ensureTestUser,
  missingPrerequisites,
  prerequisites,
  MANIFEST_DIR,
  NODE_DIRS,
  runScript,
  sshdLogs,
  startDaemon,
  stopDaemon,
  startWorld,
  stopWorld,
  TEST_USER,
  waitForLine,
  type SshdWorld,
} from './support/sshd.js';
import { makeWorld } from './support/transport.js';
import { skippedWhen } from './support/tools.js';

// ---------------------------------------------------------------------------------------------------------------
// The stand-ins of test/support/transport.ts against the real tools.

const standIns = skippedWhen(suite('stand-ins against the real tools'), missingPrerequisites());

/** Run a command and return what it printed, failing with everything it said when it fails. */
function output(file: string, args: string[], env: NodeJS.ProcessEnv = process.env): string {
  const result = spawnSync(file, args, { encoding: 'utf8', env });
  check(result.status === 0, () => `\`${file} ${args.join(' ')}\` exited ${result.status}:\n${indent(`${result.stdout}${result.stderr}`, 2)}`);
  return result.stdout;
}

/** ss pads its columns; the stand-in's canned lines are single-spaced. */
const squeeze = (text: string) => text.replace(/[ \t]+/g, ' ').trim();

standIns("ss names a listening socket's process to root only; the stand-in ss too, and shows it under the stand-in sudo", async () => {
  if (!prerequisites('stand-ins: ss')) return;
  ensureTestUser();
  const server = createServer();
  await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, resolve));
  const world = makeWorld();
  try {
    const port = (server.address() as AddressInfo).port;
    const filter = `sport = :${port}`;
    const asRoot = output('ss', ['-Htlnp', filter]);
    const asUser = output('sudo', ['-n', '-u', TEST_USER, '--', 'ss', '-Htlnp', filter]);
    const asUserThroughSudo = output('sudo', ['-n', '-u', TEST_USER, '--', 'sudo', '-n', 'ss', '-Htlnp', filter]);
    check(new RegExp(`^LISTEN .*127\\.0\\.0\\.1:${port} .* users:\\(\\("[^"]+",pid=${process.pid},fd=\\d+\\)\\)$`).test(squeeze(asRoot)), `real ss as root names the process:\n${asRoot}`);
    check(!asUser.includes('users:') && squeeze(asUser) === squeeze(asRoot).replace(/ users:.*$/, ''), `real ss as ${TEST_USER} shows the socket without its process:\n${asUser}\n(as root: ${asRoot})`);
    check(squeeze(asUserThroughSudo) === squeeze(asRoot), `real ss through ${TEST_USER}'s sudo -n is root's:\n${asUserThroughSudo}`);

    // The stand-in, given root's line as what master1 listens on.
    writeFileSync(world.state('master1', 'listening'), `${squeeze(asRoot)}\n`);
    const remoteBin = join(world.dir, 'remote-bin');
    const env = { PATH: `${remoteBin}:/usr/bin:/bin`, STANDIN_DIR: world.dir, STANDIN_HOST: 'master1', USER: 'vagrant' };
    const standInUser = output(join(remoteBin, 'ss'), ['-Htlnp', filter], env);
    const standInSudo = output(join(remoteBin, 'sudo'), ['-n', 'ss', '-Htlnp', filter], env);
    check(squeeze(standInUser) === squeeze(asUser), `the stand-in ss as the login user:\n  ${squeeze(standInUser)}\nthe real one:\n  ${squeeze(asUser)}`);
    check(squeeze(standInSudo) === squeeze(asRoot), `the stand-in ss under the stand-in sudo:\n  ${squeeze(standInSudo)}\nthe real one as root:\n  ${squeeze(asRoot)}`);
  } finally {
    server.close();
    world.remove();
  }
});

standIns('sudo tells the command who called it and drops DEBIAN_FRONTEND (env_reset); the stand-in sudo too', () => {
  if (!prerequisites('stand-ins: sudo')) return;
  ensureTestUser();
  const world = makeWorld();
  try {
    const env = { PATH: '/usr/bin:/bin', DEBIAN_FRONTEND: 'noninteractive' };
    const real = output('setpriv', ['--reuid', TEST_USER, '--regid', TEST_USER, '--init-groups', '--', 'sudo', '-n', 'env'], { ...env, USER: TEST_USER });
    const standIn = output(join(world.dir, 'remote-bin', 'sudo'), ['-n', 'env'], { ...env, STANDIN_DIR: world.dir, STANDIN_HOST: 'master1', USER: 'vagrant' });
    for (const [who, text, user] of [['the real sudo', real, TEST_USER], ['the stand-in sudo', standIn, 'vagrant']] as const) {
      const lines = text.split('\n');
      check(!lines.some((l) => l.startsWith('DEBIAN_FRONTEND=')), `${who} drops DEBIAN_FRONTEND:\n${indent(text, 2)}`);
      check(lines.includes(`SUDO_USER=${user}`), `${who} sets SUDO_USER=${user}:\n${indent(text, 2)}`);
    }
  } finally {
    world.remove();
  }
});

standIns('apt-get install without -y asks "Do you want to continue? [Y/n]" on standard input and aborts on "n"; the stand-in apt-get too', () => {
  if (!prerequisites('stand-ins: apt-get')) return;
  // A small package with a dependency, so that the real apt-get asks. The answer is n: nothing is downloaded or
  // installed. When the machine already has it, or has no package lists, the comparison cannot be made here.
  const probe = 'cowsay';
  if (spawnSync('dpkg-query', ['-W', '-f=${Status}', probe], { encoding: 'utf8' }).stdout.includes('install ok installed')) {
    console.error(`\n!!!! SKIPPED stand-ins: apt-get: ${probe} is installed here, so apt-get would not ask !!!!\n`);
    return;
  }
  const real = spawnSync('apt-get', ['install', probe], { encoding: 'utf8', input: 'n\n', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  if (!real.stdout.includes('Do you want to continue?')) {
    console.error(`\n!!!! SKIPPED stand-ins: apt-get: the real apt-get install ${probe} did not ask (no package lists, or the lock is held?):\n${real.stdout}${real.stderr} !!!!\n`);
    return;
  }
  const world = makeWorld();
  try {
    const standIn = spawnSync(join(world.dir, 'remote-bin', 'apt-get'), ['install', probe], {
      encoding: 'utf8',
      input: 'n\n',
      env: { PATH: '/usr/bin:/bin', STANDIN_DIR: world.dir, STANDIN_HOST: 'master1' },
    });
    const ending = (text: string) => text.slice(text.lastIndexOf('Do you want to continue?')).trim();
    check(ending(real.stdout) === 'Do you want to continue? [Y/n] Abort.' && real.status === 1, `the real apt-get, answered n, ends: ${JSON.stringify(ending(real.stdout))}, status ${real.status}`);
    check(ending(standIn.stdout) === ending(real.stdout) && standIn.status === real.status, `the stand-in apt-get, answered n, ends: ${JSON.stringify(ending(standIn.stdout))}, status ${standIn.status}; the real one: ${JSON.stringify(ending(real.stdout))}, status ${real.status}`);
  } finally {
    world.remove();
  }
});

standIns.run();

// ---------------------------------------------------------------------------------------------------------------
// The scripts against real sshd.

interface State {
  world?: SshdWorld;
  /** Why the world is not there, for the tests after the first. */
  failure?: string;
  placed?: boolean;
  healthy?: boolean;
  /** backup.sh's snapshot through crictl, and the out/ it was made with. */
  crictlSnapshot?: string;
  crictlOut?: string;
}

const real = skippedWhen(suite<State>('the scripts against real OpenSSH servers, a real sudo user and a real etcd cluster', {}), missingPrerequisites());
const MASTERS = 3;

real.after(async (state) => {
  await stopWorld(state.world);
  if (runningCount() !== 0) console.error(`\n!!!! sshd test: ${runningCount()} process(es) still running after stopping them all !!!!\n`);
});

/** The world, or a failure naming the test that should have made it. */
function ready(state: State, needs: 'placed' | 'healthy'): SshdWorld {
  const why = state.failure ?? 'an earlier test did not run';
  if (!state.world) throw new Error(`not checked: the world did not start (${why.split('\n')[0]})`);
  if (needs === 'placed' && !state.placed) throw new Error(`not checked: distribute.sh did not place the files (${why.split('\n')[0]})`);
  if (needs === 'healthy' && !state.healthy) throw new Error(`not checked: the cluster did not start (${why.split('\n')[0]})`);
  return state.world;
}

/** What a failed script run shows: the run, and what every sshd logged. */
const shown = (world: SshdWorld, result: RunResult) => `${explain(result)}\n${sshdLogs(world)}`;

/** A node's block of preflight.sh's output: from "[NODE] reach it…" to the next node's first line. */
function block(stdout: string, node: string): string {
  const lines = stdout.split('\n');
  const start = lines.findIndex((line) => line.startsWith(`[${node}] reach it`));
  if (start < 0) return '';
  const end = lines.findIndex((line, i) => i > start && /^\[[^\]]+\] reach it/.test(line) && !line.startsWith(`[${node}]`));
  return lines.slice(start, end < 0 ? undefined : end).join('\n');
}

real('distribute.sh reaches every master through the jump host, with the identity and known hosts cluster.json gives, and places the files as root', async (state) => {
  if (!prerequisites('sshd')) return;
  try {
    await startWorld(MASTERS, state);
  } catch (error) {
    state.failure = (error as Error).message;
    throw error;
  }
  const world = state.world!;
  const result = await runScript(world, 'distribute.sh');
  state.failure = `distribute.sh failed: ${explain(result).split('\n')[0]}`;
  check(result.code === 0, () => `distribute.sh through the jump host ${TEST_USER}@127.0.0.10:2222 should succeed, but ${shown(world, result)}`);
  const mode = (path: string) => {
    const stat = statSync(path);
    return `${(stat.mode & 0o777).toString(8).padStart(4, '0')} ${stat.uid}:${stat.gid}`;
  };
  for (const master of world.masters) {
    const listing = readdirSync(master.manifests).join(' ');
    check(listing === 'etcd.manifest', `${master.name}: ${MANIFEST_DIR} should hold etcd.manifest alone, not: ${listing}`);
    const manifest = join(master.manifests, 'etcd.manifest');
    check(readFileSync(manifest, 'utf8') === readFileSync(join(world.out, `${master.name}-etcd.manifest`), 'utf8'), `${master.name}: its manifest should be out/${master.name}-etcd.manifest`);
    check(mode(manifest) === '0644 0:0', `${master.name}: the manifest should be root's with mode 0644, not ${mode(manifest)}`);
    for (const [file, wanted] of [['ca.pem', '0644 0:0'], ['kubernetes.pem', '0644 0:0'], ['kubernetes-key.pem', '0600 0:0']] as const) {
      const placed = join(master.dirs.certs, file);
      check(readFileSync(placed, 'utf8') === readFileSync(join(world.project, 'pki', file), 'utf8'), `${master.name}: ${NODE_DIRS.certs}/${file} should be the project's pki/${file}`);
      check(mode(placed) === wanted, `${master.name}: ${NODE_DIRS.certs}/${file} should be ${wanted} (mode uid:gid), not ${mode(placed)}`);
    }
  }
  // Every connection went through the bastion: it let the login user in once per master.
  const accepted = world.bastion.sshd!.log.filter((line) => line.includes(`Accepted publickey for ${TEST_USER}`));
  check(accepted.length === MASTERS, () => `the bastion should have let ${TEST_USER} in once per master (${MASTERS}), not ${accepted.length} times:\n${sshdLogs(world)}`);
  state.placed = true;
  state.failure = undefined;
});

real("ssh joins the command's words into one line for the login shell, which runs it in the user's home; the stand-in ssh does the same", async (state) => {
  if (!prerequisites('sshd')) return;
  const world = ready(state, 'placed');
  const words = ['printf', '%s,', 'a b', '$HOME', '"$PWD"'];
  const real = await run(world.inNetwork[0]!, [
    ...world.inNetwork.slice(1),
    'ssh', '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=yes', '-o', `UserKnownHostsFile=${join(world.dir, 'known_hosts')}`,
    '-i', join(world.project, 'keys', 'id_ed25519'), '-l', TEST_USER, '--', world.masters[0]!.address, ...words,
  ], { env: baseEnv() });
  check(real.code === 0, () => `the real ssh: ${explain(real)}`);
  const stand = makeWorld({ edit: (cluster) => (cluster['transport'] = { kind: 'ssh' }) });
  try {
    const standIn = spawnSync(join(stand.dir, 'bin', 'ssh'), ['--', 'master1.node.local.consul', ...words], { encoding: 'utf8', env: { ...baseEnv(), STANDIN_DIR: stand.dir } });
    const home = `/home/${TEST_USER}`;
    check(real.stdout === `a,b,${home},${home},`, `the real ssh printed ${JSON.stringify(real.stdout)}`);
    check(standIn.status === 0 && standIn.stdout === `a,b,${stand.home('master1')},${stand.home('master1')},`, `the stand-in ssh should print what the real one does (a,b,HOME,HOME,), but printed ${JSON.stringify(standIn.stdout)}${standIn.stderr}`);
  } finally {
    stand.remove();
  }
});

real('every master runs etcd from the manifest distribute.sh placed, and the members form one cluster', async (state) => {
  if (!prerequisites('sshd')) return;
  const world = ready(state, 'placed');
  const cluster = clusterFromPlacedManifests(world);
  try {
    cluster.members.forEach(startMember);
    await waitHealthy(cluster, 20_000);
  } catch (error) {
    state.failure = (error as Error).message;
    throw error;
  }
  state.healthy = true;
});

real("preflight.sh on the running cluster: etcd's own ports are not in use, every other check passes", async (state) => {
  if (!prerequisites('sshd')) return;
  const world = ready(state, 'healthy');
  const result = await runScript(world, 'preflight.sh');
  check(result.code === 0, () => `preflight.sh on a running cluster should pass, but ${shown(world, result)}`);
  for (const master of world.masters) {
    const lines = block(result.stdout, master.name);
    for (const wanted of [`  ok: ${TEST_USER} may run sudo without a password`, "  ok: port 2379 is etcd's own: etcd already runs here", "  ok: port 2380 is etcd's own: etcd already runs here"]) {
      check(lines.split('\n').includes(wanted), () => `${master.name} should say "${wanted}", but its block is:\n${indent(lines, 2)}`);
    }
  }
});

real("preflight.sh with real ss: a listener where etcd does not bind is a warning on the master's own address and nothing on another's; one where it binds fails", async (state) => {
  if (!prerequisites('sshd')) return;
  const world = ready(state, 'healthy');
  const squat = (what: string, port: number, host: string) =>
    startDaemon(`a squatter on ${host}:${port} (${what})`, [
      ...world.inNetwork,
      process.execPath, '-e', `require('net').createServer().listen(${port}, '${host}', () => console.log('listening'))`,
    ]);
  // On the client port, beside etcd: 127.0.0.1 (one of master1's addresses; its loopback listener is off, so etcd
  // does not bind it) and 127.0.0.99 (no address `ip addr` names: another node's, on a machine several share).
  const loopback = squat('a warning', 2379, '127.0.0.1');
  const stranger = squat('no concern of master1', 2379, '127.0.0.99');
  try {
    await waitForLine(loopback, /^listening$/);
    await waitForLine(stranger, /^listening$/);
    const result = await runScript(world, 'preflight.sh', ['--only', 'master1']);
    check(result.code === 0, () => `a listener where etcd does not bind is no failure, but ${shown(world, result)}`);
    const lines = block(result.stdout, 'master1');
    check(
      new RegExp(`^  WARN: port 2379 is in use on another of this master's addresses: LISTEN .*127\\.0\\.0\\.1:2379 .*users:\\(\\("[^"]+",pid=${loopback.pid},`, 'm').test(lines),
      () => `master1 should warn of the process on 127.0.0.1:2379 (pid ${loopback.pid}), but its block is:\n${indent(lines, 2)}`,
    );
    check(!/(WARN|FAIL)[^\n]*127\.0\.0\.99/.test(lines), () => `127.0.0.99 is not master1's address:\n${indent(lines, 2)}`);
    check(lines.includes("  ok: port 2379 is etcd's own: etcd already runs here") && lines.includes("  ok: port 2380 is etcd's own"), () => `etcd's own ports:\n${indent(lines, 2)}`);
  } finally {
    await stopDaemon(loopback);
    await stopDaemon(stranger);
  }

  // Where etcd binds: master1's etcd stopped, another program on its ip's client port fails the port.
  const member = world.cluster!.members.find((m) => m.name === 'master1')!;
  await stopMember(member);
  const squatter = squat('a conflict', 2379, world.masters[0]!.address);
  try {
    await waitForLine(squatter, /^listening$/);
    const result = await runScript(world, 'preflight.sh', ['--only', 'master1']);
    check(result.code === 1, () => `preflight.sh should fail while another process holds ${world.masters[0]!.address}:2379, but ${shown(world, result)}`);
    const lines = block(result.stdout, 'master1');
    check(
      new RegExp(`^  FAIL: port 2379 is in use: LISTEN .*127\\.0\\.0\\.11:2379 .*users:\\(\\("[^"]+",pid=${squatter.pid},`, 'm').test(lines),
      () => `master1 should name the process on 127.0.0.11:2379 (pid ${squatter.pid}), but its block is:\n${indent(lines, 2)}`,
    );
    check(!/FAIL: port 2379 is in use: .*"etcd"/.test(lines), () => `master2's and master3's etcd (127.0.0.12, 127.0.0.13) are not master1's problem, but:\n${indent(lines, 2)}`);
  } finally {
    await stopDaemon(squatter);
    startMember(member);
    await waitHealthy(world.cluster!, 20_000);
  }
});

real('verify.sh --local checks the real cluster with the client certificate, and passes', async (state) => {
  if (!prerequisites('sshd')) return;
  const world = ready(state, 'healthy');
  const result = await runScript(world, 'verify.sh', ['--local']);
  check(result.code === 0, () => `verify.sh --local should pass, but ${explain(result)}\n${allLogs(world.cluster!)}`);
  for (const master of world.masters) {
    check(result.stdout.includes(`, started, ${master.name}, https://${master.address}:2380, `), () => `verify.sh should list ${master.name} as started:\n${indent(result.stdout, 2)}`);
  }
  check(result.stdout.includes(`OK: ${MASTERS} members`), () => `verify.sh should say OK: ${MASTERS} members:\n${indent(result.stdout, 2)}`);
});

real("restore.sh's way of sending a snapshot, its bytes after the script on ssh's standard input, arrives whole through the jump host; and a file comes back whole on standard output, as backup.sh fetches one", async (state) => {
  if (!prerequisites('sshd')) return;
  const world = ready(state, 'placed');
  // ssh as the scripts call it: the plan's options, the identity resolved beside out/ (the ProxyCommand reads it from
  // the variable the scripts export).
  const loaded = parseCluster(readFileSync(world.configPath, 'utf8'), world.configPath);
  check(loaded.ok, 'the world\'s cluster.json loads');
  const ssh = plan(loaded.cluster, { configName: 'cluster.json', configDirFromOut: '..', outDirFromConfig: 'out' }).ssh!;
  const identity = resolve(world.out, ssh.identityFromOut);
  const blob = randomBytes(3 * 1024 * 1024 + 17);
  const script = `{\nf=$(mktemp)\nhead -c ${blob.length} >"$f"\nexec </dev/null\ncat -- "$f"\nrm -f -- "$f"\nexit 0\n}\n`;
  const words = [...world.inNetwork, 'ssh', ...ssh.args, '-i', identity, '--', world.masters[0]!.address, 'bash', '-euo', 'pipefail', '-s'];
  const back = await new Promise<{ code: number | null; stdout: Buffer; stderr: string }>((done) => {
    const child = spawn(words[0]!, words.slice(1), { env: { ...baseEnv(), [ssh.identityVariable]: identity } });
    const chunks: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('close', (code) => done({ code, stdout: Buffer.concat(chunks), stderr }));
    child.stdin.end(Buffer.concat([Buffer.from(script), blob]));
  });
  check(back.code === 0, () => `ssh with the script and the bytes after it should succeed, but it exited ${back.code}:\n${indent(back.stderr, 2)}\n${sshdLogs(world)}`);
  check(back.stdout.equals(blob), `the ${blob.length} bytes sent after the script should come back unchanged, but ${back.stdout.length} bytes came back${back.stdout.length === blob.length ? ', different' : ''}`);
});

real('distribute.sh again, on the running cluster, finds everything in place and changes nothing', async (state) => {
  if (!prerequisites('sshd')) return;
  const world = ready(state, 'healthy');
  const before = world.masters.map((m) => statSync(join(m.manifests, 'etcd.manifest')).ino);
  const result = await runScript(world, 'distribute.sh');
  check(result.code === 0, () => `distribute.sh a second time should succeed, but ${shown(world, result)}`);
  const inPlace = result.stdout.split('\n').filter((line) => line.endsWith(': already in place')).length;
  check(inPlace === 4 * MASTERS, () => `every file (4 per master) should be already in place, but ${inPlace} are:\n${indent(result.stdout, 2)}`);
  const after = world.masters.map((m) => statSync(join(m.manifests, 'etcd.manifest')).ino);
  check(JSON.stringify(after) === JSON.stringify(before), 'no manifest was replaced (kubelet would restart etcd)');
  const stillUp = await waitHealthy(world.cluster!, 5_000).then(() => true, (error: Error) => error.message);
  check(stillUp === true, () => `the cluster should still be healthy: ${String(stillUp)}`);
});

// ---------------------------------------------------------------------------------------------------------------
// backup.sh and restore.sh with verify.via "crictl", through real ssh and real sudo: etcdctl runs as root in the
// "container" (test/support/crictl.ts: the etcd process of the master's mount namespace), so the snapshot it writes is
// root's, mode 0600, in the root-only data directory, as on a real master; the login user reaches it only through
// sudo. The data directory is a mount point here (each master's /var/lib/etcd is bound from its own directory), as
// with a disk of its own for etcd. A kubelet stand-in of a few lines starts and stops each master's etcd as its
// manifest comes and goes.

/** cluster.json of the world, with verify.via "crictl" and backups kept beside it, generated into out-crictl/. */
function crictlOut(world: SshdWorld): string {
  const config = JSON.parse(readFileSync(world.configPath, 'utf8')) as Record<string, unknown>;
  config['verify'] = { via: 'crictl' };
  // crictl exec sets no ETCDCTL_API: the image's etcdctl must speak v3 by default (3.4 on; the etcd running is 3.4).
  config['etcd'] = { ...(config['etcd'] as Record<string, unknown>), image: 'quay.io/coreos/etcd:v3.4.23' };
  config['backup'] = { dir: 'backups-crictl', keep: 2 };
  const configPath = join(world.project, 'cluster-crictl.json');
  writeFileSync(configPath, `${JSON.stringify(config, null, 2)}\n`);
  const out = join(world.project, 'out-crictl');
  const errors: string[] = [];
  const code = main(['generate', '--config', configPath, '--out', out], { out: () => {}, err: (line) => errors.push(line) });
  check(code === 0, () => `generate with verify.via "crictl" should succeed:\n${indent(errors.join('\n'), 2)}`);
  return out;
}

/** Starts each master's etcd while its manifest is in its manifest directory, and stops it when the manifest goes. */
function watchManifests(world: SshdWorld): () => Promise<void> {
  const cluster = world.cluster!;
  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    void (async () => {
      for (const [i, master] of world.masters.entries()) {
        const member = cluster.members[i]!;
        const running = member.process !== undefined && member.exit === undefined;
        const present = existsSync(join(master.manifests, 'etcd.manifest'));
        if (present && !running) startMember(member);
        if (!present && running) await stopMember(member);
      }
    })().finally(() => (busy = false));
  }, 200);
  return async () => {
    clearInterval(timer);
    while (busy) await new Promise((r) => setTimeout(r, 50));
  };
}

real('backup.sh with verify.via "crictl": the snapshot root saved in the data directory comes here through sudo, checked, and nothing stays behind', async (state) => {
  if (!prerequisites('sshd')) return;
  const world = ready(state, 'healthy');
  const out = crictlOut(world);
  const put = await run(world.inNetwork[0]!, [...world.inNetwork.slice(1), 'etcdctl', `--endpoints=${world.cluster!.endpoints}`, `--cacert=${world.cluster!.certs.ca}`, `--cert=${world.cluster!.certs.cert}`, `--key=${world.cluster!.certs.key}`, 'put', '/crictl/marker', 'before the backup'], { env: baseEnv({ ETCDCTL_API: '3' }), timeoutMs: 20_000 });
  check(put.code === 0, () => `etcdctl put: ${explain(put)}`);
  const result = await runScript(world, 'backup.sh', [], 120_000, out);
  check(result.code === 0, () => `backup.sh through crictl, real ssh and real sudo should succeed, but ${shown(world, result)}`);
  const dir = join(world.project, 'backups-crictl');
  const made = readdirSync(dir).filter((f) => f.endsWith('.db'));
  check(made.length === 1, `one snapshot should be in ${dir}: ${readdirSync(dir).join(', ')}`);
  const digest = readFileSync(join(dir, made[0]!.replace(/\.db$/, '.sha256')), 'utf8').split(' ')[0];
  const sha = spawnSync('sha256sum', [join(dir, made[0]!)], { encoding: 'utf8' }).stdout.split(' ')[0];
  check(digest === sha, `the digest file should hold the snapshot's sha256 ${sha}, holds ${digest}`);
  for (const master of world.masters) {
    const left = readdirSync(master.dirs.data).filter((f) => f !== 'member');
    check(left.length === 0, `${master.name}: nothing of backup.sh's should stay in its data directory, found ${left.join(', ')}`);
  }
  state.crictlSnapshot = join(dir, made[0]!);
  state.crictlOut = out;
});

real('restore.sh --apply with verify.via "crictl" and a data directory that is a mount point: restored inside it, the old contents kept inside it, the cluster back', async (state) => {
  if (!prerequisites('sshd')) return;
  const world = ready(state, 'healthy');
  check(state.crictlSnapshot && state.crictlOut, 'not checked: no snapshot from the test before');
  const etcdctl = (args: string[]) => run(world.inNetwork[0]!, [...world.inNetwork.slice(1), 'etcdctl', `--endpoints=${world.cluster!.endpoints}`, `--cacert=${world.cluster!.certs.ca}`, `--cert=${world.cluster!.certs.cert}`, `--key=${world.cluster!.certs.key}`, '--command-timeout=5s', ...args], { env: baseEnv({ ETCDCTL_API: '3' }), timeoutMs: 20_000 });
  check((await etcdctl(['put', '/crictl/later', 'after the backup'])).code === 0, 'etcdctl put after the backup');
  const stop = watchManifests(world);
  try {
    const result = await runScript(world, 'restore.sh', [state.crictlSnapshot, '--apply'], 240_000, state.crictlOut);
    check(result.code === 0, () => `restore.sh --apply through crictl, real ssh and real sudo should succeed, but ${shown(world, result)}\n${allLogs(world.cluster!)}`);
    check((result.stdout.match(/is a mount point: moved its old contents to \/var\/lib\/etcd\/\.etcd-bootstrap-old-\d{14}/g) ?? []).length === MASTERS, () => `each master should say its data directory is a mount point and where its old contents went:\n${indent(result.stdout, 2)}`);
    const marker = await etcdctl(['get', '/crictl/marker', '--print-value-only']);
    check(marker.stdout.trim() === 'before the backup', () => `the key written before the backup should be back: ${explain(marker)}`);
    const later = await etcdctl(['get', '/crictl/later', '--print-value-only']);
    check(later.code === 0 && later.stdout.trim() === '', () => `the key written after the backup should not be back: ${explain(later)}`);
    for (const master of world.masters) {
      const inside = readdirSync(master.dirs.data).sort();
      check(inside.length === 2 && inside[0]!.startsWith('.etcd-bootstrap-old-') && inside[1] === 'member', `${master.name}: the data directory should hold the restored member/ and the old contents kept aside in .etcd-bootstrap-old-<UTC time>, holds ${inside.join(', ')}`);
      check(readdirSync(join(master.dirs.data, inside[0]!)).includes('member'), `${master.name}: the old member/ should be kept in ${inside[0]}`);
    }
  } finally {
    await stop();
  }
});

real.run();
