// The scripts in out/ are immune to the caller's shell environment: an operator's CDPATH, GLOBIGNORE, exported
// SHELLOPTS or BASHOPTS, or a TMPDIR that points nowhere. Each is run with the real bash against the stand-in
// transports (test/support/transport.ts).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { assertSummary } from './support/output.js';
import { MASTERS, TLS, calls, runScript, withWorld, type Run, type World } from './support/transport.js';

/**
 * Runs `out/SCRIPT ARGS` as an operator types it, from the project directory (a relative path: the one case where
 * bash's cd consults CDPATH), with ENV added to the usual environment.
 */
const runFromProject = (world: World, script: string, env: Record<string, string>, args: string[] = []): Run =>
  runScript(world, script, env, args, { cwd: world.project, invoked: `out/${script}` });

withWorld('CDPATH naming a directory with its own out/ (a decoy): the scripts still find their own files, and print no stray directory', (world) => {
  // With CDPATH set, `cd out` goes to the first CDPATH entry that has an out/, and prints where it went.
  const decoy = join(world.dir, 'decoy');
  mkdirSync(join(decoy, 'out'), { recursive: true });
  for (const file of Object.values(TLS)) writeFileSync(join(decoy, file), 'decoy: the wrong file\n');
  const env = { CDPATH: decoy };
  const dry = runFromProject(world, 'distribute.sh', env, ['--dry-run', '--only', 'master1']);
  assert.is(dry.status, 0, dry.shown);
  assert.ok(dry.stdout.includes(`[master1] would copy ${join(world.project, TLS.cert)} to `), `the certificate is the project's, not the decoy's:\n${dry.shown}`);
  assert.not.ok(dry.stdout.includes(decoy) || dry.stderr.includes(decoy), `the decoy is never named:\n${dry.shown}`);
  const run = runFromProject(world, 'distribute.sh', env);
  assert.is(run.status, 0, run.shown);
  for (const master of MASTERS) {
    assert.is(readFileSync(world.fs(master, 'etc', 'etcd', TLS.cert), 'utf8'), readFileSync(join(world.project, TLS.cert), 'utf8'), `${master}: the project's certificate was placed`);
  }
  assertSummary(run, MASTERS, MASTERS.length);
});

withWorld('GLOBIGNORE, and SHELLOPTS and BASHOPTS exported with noclobber, nullglob and failglob: every script runs as without them', (world) => {
  const env = {
    GLOBIGNORE: '*',
    SHELLOPTS: 'braceexpand:hashall:interactive-comments:noclobber',
    BASHOPTS: 'nullglob:failglob:dotglob:nocasematch',
  };
  const ntp = runFromProject(world, 'ntp.sh', env);
  assert.is(ntp.status, 0, ntp.shown);
  const distribute = runFromProject(world, 'distribute.sh', env);
  assert.is(distribute.status, 0, distribute.shown);
  assertSummary(distribute, MASTERS, MASTERS.length);
  const again = runFromProject(world, 'distribute.sh', env);
  assert.is(again.status, 0, again.shown);
  assert.is(again.stdout.split('\n').filter((line) => line.endsWith(': already in place')).length, 4 * MASTERS.length, `the second run finds everything in place:\n${again.shown}`);
  const verify = runFromProject(world, 'verify.sh', env);
  assert.is(verify.status, 0, verify.shown);
});

withWorld('TMPDIR that does not exist, or is not a directory: the script fails at once, saying TMPDIR is the trouble and what to do, and reaches no host', (world) => {
  const file = join(world.dir, 'a-file');
  writeFileSync(file, '');
  for (const tmpdir of [join(world.dir, 'no-such-dir'), file]) {
    const run = runFromProject(world, 'ntp.sh', { TMPDIR: tmpdir });
    assert.is(run.status, 1, run.shown);
    assert.ok(
      run.stderr.includes(`error: cannot make a temporary directory in ${tmpdir} (TMPDIR): the script keeps each host's output there while it runs; point TMPDIR at a writable directory, or unset it\n`),
      `stderr names TMPDIR and the remedy:\n${run.shown}`,
    );
    assert.equal(calls(world), [], `no host was reached:\n${run.shown}`);
  }
  // --dry-run and --help keep nothing: they work whatever TMPDIR says.
  const dry = runFromProject(world, 'ntp.sh', { TMPDIR: join(world.dir, 'no-such-dir') }, ['--dry-run']);
  assert.is(dry.status, 0, dry.shown);
});

withWorld('TMPDIR not writable (mode 0555, as a user other than root): the same clear failure', (world) => {
  if (process.getuid?.() === 0) {
    // root writes into a 0555 directory anyway: the case does not arise, so the check runs as another user if one can.
    const nobody = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'true'], { stdio: 'ignore' });
    if (nobody.status !== 0) {
      console.error('\n!!!! SKIPPED TMPDIR not writable: running as root and setpriv cannot drop to nobody !!!!\n');
      return;
    }
  }
  chmodSync(world.dir, 0o755); // mkdtemp's 0700 would keep nobody from the script itself
  const locked = join(world.dir, 'locked');
  mkdirSync(locked);
  chmodSync(locked, 0o555);
  const script = `TMPDIR=${locked} exec ${join(world.out, 'ntp.sh')} --only worker1`;
  const command = process.getuid?.() === 0 ? ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', 'bash', '-c', script] : ['bash', '-c', script];
  const result = spawnSync(command[0]!, command.slice(1), { encoding: 'utf8', cwd: '/', env: { PATH: `${join(world.dir, 'bin')}:/usr/bin:/bin`, STANDIN_DIR: world.dir } });
  const shown = `${command.join(' ')}: exit ${result.status}\n${result.stdout}${result.stderr}`;
  assert.is(result.status, 1, shown);
  assert.ok(result.stderr.includes(`error: cannot make a temporary directory in ${locked} (TMPDIR)`), shown);
});

test.run();
