// An out/ that cannot be replaced is refused before anything moves, and leaves nothing behind that would stop the
// next run: out/ itself not writable, a directory in it owned by someone else, a parent that is not writable, out/
// as a mount point, a read-only mount inside it, and a disk that fills up half-way (whose error names out/, never
// the temporary directory beside it).
//
// Tests run as root, for whom permission bits stop nothing: each case runs the real program as the user `nobody`
// (setpriv) or inside a mount namespace of its own (unshare -m), so that the refusal is real.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tree } from './support/tree.js';
import { minimalCluster, tempDir, writeFile } from './support/fixtures.js';
import { repoRoot } from './support/examples.js';

const cli = join(repoRoot, 'dist', 'src', 'cli.js');
const NOBODY = 65534;

function available(): string | undefined {
  if (process.getuid?.() !== 0) return 'these tests need root (to become nobody, and to mount)';
  for (const tool of ['setpriv', 'unshare', 'mount']) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) return `${tool} is missing`;
  }
  if (spawnSync('unshare', ['-m', 'true']).status !== 0) return 'unshare -m is not permitted here';
  return undefined;
}
const missing = available();
if (missing) {
  const notice = `readonly.test: SKIPPED: ${missing}; the read-only refusals are not exercised`;
  if (process.env['CI'] === 'true') throw new Error(notice);
  console.log(`\n  !!! ${notice} !!!\n`);
}


interface Run {
  code: number | null;
  said: string;
}

function run(command: string, args: string[]): Run {
  const r = spawnSync(command, args, { encoding: 'utf8' });
  return { code: r.status, said: `${r.stdout}${r.stderr}${r.error ? String(r.error) : ''}` };
}

/** A project that `nobody` owns, in a directory `nobody` can reach. */
function project() {
  const dir = tempDir('readonly');
  chmodSync(dir.path, 0o755);
  const home = join(dir.path, 'project');
  mkdirSync(home);
  const config = writeFile(join(home, 'cluster.json'), JSON.stringify(minimalCluster(3), null, 2));
  const out = join(home, 'out');
  const asNobody = (...extra: string[]): Run => run('setpriv', [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', '--', process.execPath, cli, 'generate', '--config', config, ...extra]);
  const chownAll = (path: string) => spawnSync('chown', ['-R', `${NOBODY}:${NOBODY}`, path]);
  chownAll(home);
  return { ...dir, home, config, out, asNobody, chownAll };
}

const debris = (home: string) => readdirSync(home).filter((n) => n.startsWith('.out.')).sort();

if (!missing) {
  test('nobody can generate here at all (so that each refusal below is the one under test)', () => {
    const p = project();
    try {
      const first = p.asNobody();
      assert.is(first.code, 0, first.said);
      assert.is(lstatSync(join(p.out, 'ntp.sh')).uid, NOBODY);
    } finally {
      p.remove();
    }
  });

  test('out/ 0555: refused before anything moves, named, no debris; made writable, the next run goes through', () => {
    const p = project();
    try {
      assert.is(p.asNobody().code, 0);
      chmodSync(p.out, 0o555);
      chmodSync(p.home, 0o555);
      const check = p.asNobody('--check');
      assert.is(check.code, 0, `--check only reads, so a read-only checkout passes it:\n${check.said}`);
      chmodSync(p.home, 0o755);
      writeFile(p.config, JSON.stringify(minimalCluster(2), null, 2));
      const before = tree(p.out);
      const refused = p.asNobody();
      assert.is(refused.code, 1, refused.said);
      assert.match(refused.said, /out\/ is not writable \(EACCES\).*Make it writable \(chmod u\+rwx\) or move it out of/, refused.said);
      assert.not.match(refused.said, /\.out\.(new|old)/, 'no temporary path in the message');
      assert.equal(tree(p.out), before, 'out/ is unchanged');
      assert.equal(debris(p.home), [], 'nothing left beside out/');
      chmodSync(p.out, 0o755);
      const again = p.asNobody();
      assert.is(again.code, 0, again.said);
      assert.not.ok(existsSync(join(p.out, 'master3-etcd.manifest')));
      assert.equal(debris(p.home), []);
    } finally {
      p.remove();
    }
  });

  test("a directory in out/ that is someone else's and not writable: refused, named, kept; no debris", () => {
    const p = project();
    try {
      assert.is(p.asNobody().code, 0);
      const backup = join(p.out, 'backup');
      writeFile(join(backup, 'old.manifest'), 'root\'s backup\n');
      chownSync(backup, 0, 0); // root's, 0755: nobody can read it but not remove what is in it
      writeFile(p.config, JSON.stringify(minimalCluster(2), null, 2));
      const before = tree(p.out);
      const refused = p.asNobody();
      assert.is(refused.code, 1, refused.said);
      assert.match(refused.said, /out\/backup is not writable \(EACCES\)/, refused.said);
      assert.equal(tree(p.out), before);
      assert.equal(debris(p.home), []);
      p.chownAll(backup);
      const again = p.asNobody();
      assert.is(again.code, 0, again.said);
      assert.is(readFileSync(join(backup, 'old.manifest'), 'utf8'), 'root\'s backup\n', 'the backup is kept');
      assert.equal(debris(p.home), []);
    } finally {
      p.remove();
    }
  });

  test('the directory holding out/ not writable: refused (no lock, no new out/ can go beside it), no debris', () => {
    const p = project();
    try {
      assert.is(p.asNobody().code, 0);
      writeFile(p.config, JSON.stringify(minimalCluster(2), null, 2));
      chmodSync(p.home, 0o555);
      const before = tree(p.home);
      const refused = p.asNobody();
      assert.is(refused.code, 1, refused.said);
      assert.match(refused.said, /cannot create a lock beside .*out\/ in .*project \(EACCES\).*must be writable/, refused.said);
      assert.equal(tree(p.home), before);
      chmodSync(p.home, 0o755);
      assert.is(p.asNobody().code, 0);
      assert.equal(debris(p.home), []);
    } finally {
      p.remove();
    }
  });

  /** Runs `script` (sh) in a mount namespace of its own: its mounts vanish with it. */
  const inNamespace = (script: string): Run => run('unshare', ['-m', 'sh', '-c', `mount --make-rprivate / && ${script}`]);
  const generate = (config: string) => `'${process.execPath}' '${cli}' generate --config '${config}'`;

  test('out/ as a mount point: refused before anything moves (a mount point cannot be renamed), no debris', () => {
    const p = project();
    try {
      assert.is(p.asNobody().code, 0);
      writeFile(p.config, JSON.stringify(minimalCluster(2), null, 2));
      const before = tree(p.out);
      const refused = inNamespace(`mount --bind '${p.out}' '${p.out}' && ${generate(p.config)}`);
      assert.is(refused.code, 1, refused.said);
      assert.match(refused.said, /out\/ is a mount point: etcd-bootstrap replaces .*out\/ by renaming a new directory into its place/, refused.said);
      assert.equal(tree(p.out), before);
      assert.equal(debris(p.home), []);
    } finally {
      p.remove();
    }
  });

  test('a read-only mount inside out/ is refused even for root, before anything moves, no debris', () => {
    const p = project();
    try {
      assert.is(p.asNobody().code, 0);
      writeFile(join(p.out, 'other', 'notes.txt'), 'mine\n');
      writeFile(p.config, JSON.stringify(minimalCluster(2), null, 2));
      const before = tree(p.out);
      const sub = join(p.out, 'other');
      const refused = inNamespace(`mount --bind '${sub}' '${sub}' && mount -o remount,ro,bind '${sub}' && ${generate(p.config)}`);
      assert.is(refused.code, 1, refused.said);
      assert.match(refused.said, /out\/other is not writable \(EROFS\)/, refused.said);
      assert.equal(tree(p.out), before);
      assert.equal(debris(p.home), []);
    } finally {
      p.remove();
    }
  });

  test('a disk that fills up while the new out/ is written: the error names out/, never the temporary directory; no debris', () => {
    const p = project();
    try {
      assert.is(p.asNobody().code, 0);
      writeFile(p.config, JSON.stringify(minimalCluster(2), null, 2));
      // A 1 MiB file system holding the project, with a 700 KiB file of the user's in out/: the copy cannot fit.
      const script = [
        `cp -a '${p.home}' '${p.path}/saved'`,
        `mount -t tmpfs -o size=1m tmpfs '${p.home}'`,
        `cp -a '${p.path}/saved/.' '${p.home}/'`,
        `head -c 700000 /dev/zero > '${p.out}/big.bin'`,
        `${generate(p.config)}; echo "exit $?"; ls -A '${p.home}'`,
      ].join(' && ');
      const full = inNamespace(script);
      assert.match(full.said, /exit 1/, full.said);
      assert.match(full.said, /could not write .*out\/big\.bin \(ENOSPC/, full.said);
      assert.not.match(full.said, /\.out\.(new|old|lock)/, `no temporary path, and no debris:\n${full.said}`);
    } finally {
      p.remove();
    }
  });
}

test.run();
