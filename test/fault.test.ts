// Nothing lost on a fault: `generate` killed at any moment leaves, once the next run has recovered, exactly the
// old out/ or exactly the new one, never a mix, never a missing file, and no debris. A file in out/ that
// etcd-bootstrap did not write is reported and never deleted.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, watch, writeFileSync, type FSWatcher } from 'node:fs';
import { join } from 'node:path';
import { lockOut, recover, resolveOut } from '../src/emit.js';
import { minimalCluster, runCli, tempDir, writeFile } from './support/fixtures.js';
import { repoRoot } from './support/examples.js';

const cli = join(repoRoot, 'dist', 'src', 'cli.js');

/** out/ as it stands: relative path → type, mode and content. */
type Snapshot = Map<string, string>;

function snapshot(dir: string): Snapshot {
  const files: Snapshot = new Map();
  const walk = (relative: string) => {
    for (const name of readdirSync(join(dir, relative)).sort()) {
      const path = relative ? `${relative}/${name}` : name;
      const stat = lstatSync(join(dir, path));
      const mode = (stat.mode & 0o777).toString(8);
      if (stat.isDirectory()) {
        files.set(`${path}/`, `dir ${mode}`);
        walk(path);
      } else if (stat.isSymbolicLink()) files.set(path, `symlink -> ${readlinkSync(join(dir, path))}`);
      else files.set(path, `file ${mode} ${readFileSync(join(dir, path), 'utf8')}`);
    }
  };
  if (existsSync(dir)) walk('');
  return files;
}

const same = (a: Snapshot, b: Snapshot) => a.size === b.size && [...a].every(([path, value]) => b.get(path) === value);

/** How `actual` differs from `expected`, by path: what a failure message shows (contents are too long to print). */
function difference(actual: Snapshot, expected: Snapshot): string {
  const missing = [...expected.keys()].filter((p) => !actual.has(p));
  const extra = [...actual.keys()].filter((p) => !expected.has(p));
  const differing = [...actual.keys()].filter((p) => expected.has(p) && expected.get(p) !== actual.get(p));
  const few = (list: string[]) => (list.length > 8 ? `${list.slice(0, 8).join(', ')} … (${list.length})` : list.join(', ') || 'none');
  return `missing: ${few(missing)}; extra: ${few(extra)}; different: ${few(differing)}`;
}

/** Up to 15 masters (the schema's limit) and 5,000 workers; `variant` changes a value that reaches every generated file. */
function bigCluster(variant: 'old' | 'new', masters: number): object {
  return {
    masters: Array.from({ length: masters }, (_, i) => ({ name: `master${i + 1}`, ip: `10.0.${i >> 8}.${(i & 255) + 1}`, host: `master${i + 1}.node.local.consul` })),
    // ntp.sh names every worker; distribute.sh and verify.sh name certDir; every manifest and the README the token.
    workers: Array.from({ length: 5000 }, (_, i) => ({ name: `${variant === 'old' ? 'worker' : 'node'}${i + 1}` })),
    etcd: { clusterToken: `etcd-cluster-${variant}`, certDir: variant === 'old' ? '/etc/etcd' : '/etc/etcd-new' },
  };
}

const NOTES = 'NOTES.txt';
const notes = 'Written by hand: not generated, so every run keeps it.\n';

const debrisIn = (dir: string) => readdirSync(dir).filter((name) => /^\.out\.(new-|old-|lock)/.test(name)).sort();

interface Kill {
  /** What set the kill off: "N ms" after spawning, or the appearance of a directory beside out/. */
  trigger: string;
  /** Where the kill landed, read from the disk before recovery. */
  phase: 'before' | 'during' | 'after';
  detail: string;
  /** What out/ held after recover(). */
  result: 'old' | 'new';
}

interface Child {
  code: number | null;
  signal: NodeJS.Signals | null;
  output: string;
  ms: number;
}

type KillAt = { after: number } | { appears: string; watch: string };

/**
 * Runs `node dist/src/cli.js generate --config CONFIG`. With `after`, SIGKILLs it that many milliseconds after
 * spawning (0: at once); with `appears`, as soon as an entry whose name starts so appears in `watch` (inotify).
 */
function generateChild(config: string, killAt?: KillAt): Promise<Child> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, [cli, 'generate', '--config', config], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    child.on('error', reject);
    let timer: NodeJS.Timeout | undefined;
    let watcher: FSWatcher | undefined;
    if (killAt && 'after' in killAt) {
      if (killAt.after === 0) child.kill('SIGKILL');
      else timer = setTimeout(() => child.kill('SIGKILL'), killAt.after);
    } else if (killAt) {
      watcher = watch(killAt.watch, (_event, name) => {
        if (String(name ?? '').startsWith(killAt.appears)) child.kill('SIGKILL');
      });
    }
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      watcher?.close();
      resolve({ code, signal, output, ms: performance.now() - started });
    });
  });
}

test('generate killed (SIGKILL) at 30 moments: after recover(), out/ is exactly the old or exactly the new, with no debris', async () => {
  const dir = tempDir('fault');
  try {
    const project = join(dir.path, 'project');
    const config = join(project, 'cluster.json');
    const out = join(project, 'out');
    const oldText = JSON.stringify(bigCluster('old', 15), null, 2);
    const newText = JSON.stringify(bigCluster('new', 13), null, 2);
    const addUsersFiles = (outDir: string) => {
      writeFile(join(outDir, NOTES), notes);
      for (let i = 0; i < 20; i++) writeFile(join(outDir, 'local', `note-${i}.txt`), `note ${i}\n`);
    };

    // The old out/, with files of the user's in it.
    writeFile(config, oldText);
    const first = runCli(['generate', '--config', config]);
    assert.is(first.code, 0, `expected the old cluster to generate:\n${first.err.join('\n')}`);
    addUsersFiles(out);
    const OLD = snapshot(out);

    // The new out/, generated the same way beside a copy of the new cluster.json, the user's files there too.
    const expected = join(dir.path, 'expected');
    writeFile(join(expected, 'cluster.json'), newText);
    addUsersFiles(join(expected, 'out'));
    const second = runCli(['generate', '--config', join(expected, 'cluster.json')]);
    assert.is(second.code, 0, `expected the new cluster to generate:\n${second.err.join('\n')}`);
    const NEW = snapshot(join(expected, 'out'));

    // The two differ in every generated file, and in which files there are: a mix could not pass for either.
    const generated = [...OLD.keys()].filter((p) => NEW.has(p) && p !== NOTES && !p.startsWith('local/'));
    assert.equal(generated.filter((p) => OLD.get(p) === NEW.get(p)), [], 'every generated file the old and new out/ share differs between them');
    assert.ok(OLD.has('master15-etcd.manifest') && !NEW.has('master15-etcd.manifest'), 'the old out/ has files the new one has not');
    assert.ok(generated.length >= 15, `the old and new out/ share ${generated.length} generated files`);

    const restoreOld = () => {
      writeFile(config, oldText);
      const run = runCli(['generate', '--config', config]);
      assert.is(run.code, 0, `expected the old cluster.json to generate again:\n${run.err.join('\n')}`);
      assert.ok(same(snapshot(out), OLD), `expected generating the old cluster.json to give back the old out/ exactly: ${difference(snapshot(out), OLD)}`);
      writeFile(config, newText);
    };

    // How long a generate that replaces out/ takes, start to exit, in a child of its own.
    writeFile(config, newText);
    const timings: number[] = [];
    for (let i = 0; i < 2; i++) {
      const run = await generateChild(config);
      assert.is(run.code, 0, `expected the new cluster.json to generate:\n${run.output}`);
      assert.ok(same(snapshot(out), NEW), `expected the child's out/ to be the new one: ${difference(snapshot(out), NEW)}`);
      timings.push(run.ms);
      restoreOld();
    }
    const duration = Math.max(...timings);

    // 12 delays spread over the whole run: the first 0 (killed at once), the last long after it should have ended.
    // Then 13 that home in on the swap: each halves the gap between the latest kill that landed before it and the
    // earliest that landed after it; once that gap is closed, they land a few milliseconds either side of it.
    // Then 5 set off by the swap itself: the moment `.out.old-*` appears beside out/ (the first rename), and
    // 2 by the moment `.out.new-*` appears (the new out/ begun).
    const plan: (KillAt | 'home in')[] = [
      ...Array.from({ length: 11 }, (_, i) => ({ after: Math.round((duration * 1.2 * i) / 10) })),
      { after: Math.round(duration * 3) },
      ...Array.from({ length: 13 }, () => 'home in' as const),
      ...Array.from({ length: 3 }, () => ({ appears: '.out.old-', watch: project })),
      ...Array.from({ length: 2 }, () => ({ appears: '.out.new-', watch: project })),
    ];
    const kills: Kill[] = [];
    let before = 0;
    let after = duration;
    for (const [i, step] of plan.entries()) {
      let killAt: KillAt;
      if (step !== 'home in') killAt = step;
      else if (after - before > 2) killAt = { after: Math.round((before + after) / 2) };
      else killAt = { after: Math.max(0, Math.round(Math.min(before, after) - 3 + Math.random() * (Math.abs(after - before) + 6))) };
      const trigger = 'after' in killAt ? `${killAt.after} ms` : `on ${killAt.appears}*`;
      const child = await generateChild(config, killAt);
      const at = `kill ${i + 1} of ${plan.length}, ${'after' in killAt ? `${killAt.after} ms after spawning` : `as ${killAt.appears}* appeared`} (a generate takes ~${Math.round(duration)} ms)`;

      // Where it landed, read from the disk as the kill left it.
      const debris = debrisIn(project);
      const left = snapshot(out);
      const outIs = !existsSync(out) ? 'missing' : same(left, OLD) ? 'old' : same(left, NEW) ? 'new' : 'a mix';
      let phase: Kill['phase'];
      let detail: string;
      if (child.signal === null) [phase, detail] = ['after', 'finished before the kill'];
      else if (debris.some((d) => d.startsWith('.out.old-'))) [phase, detail] = ['during', outIs === 'missing' ? 'between the two renames' : 'after the renames, the old out/ not yet removed'];
      else if (outIs === 'old') [phase, detail] = ['before', debris.length ? 'while writing the new out/ beside it' : 'before writing anything'];
      else [phase, detail] = ['after', `after the swap (out/ is ${outIs})`];

      // What the next run does first: take the lock (breaking the dead run's), recover, and let go.
      const target = resolveOut(out, config, 'out');
      const lock = lockOut(target);
      const recovered = recover(target);
      lock.release();
      const shown = `${at}; landed ${phase} the swap: ${detail}; out/ was ${outIs}, debris ${JSON.stringify(debris)}\nrecover() said: ${JSON.stringify(recovered)}\nthe child (exit ${child.code}, signal ${child.signal}) printed:\n${child.output}`;
      assert.equal(debrisIn(project), [], `${shown}\nexpected no .out.new-*, .out.old-* or .out.lock* after recover()`);
      assert.equal(readdirSync(project).sort(), ['cluster.json', 'out'], `${shown}\nexpected the project to hold cluster.json and out/ only`);
      const now = snapshot(out);
      const result = same(now, OLD) ? 'old' : same(now, NEW) ? 'new' : undefined;
      assert.ok(result, `${shown}\nexpected out/ to be exactly the old or exactly the new one after recover(); against the old: ${difference(now, OLD)}; against the new: ${difference(now, NEW)}`);
      kills.push({ trigger, phase, detail, result: result! });

      if ('after' in killAt && phase === 'before') before = Math.max(before, killAt.after);
      if ('after' in killAt && phase === 'after') after = Math.min(after, killAt.after);
      if (result === 'new') restoreOld();
    }

    const count = (phase: Kill['phase']) => kills.filter((k) => k.phase === phase).length;
    const details = [...new Set(kills.map((k) => k.detail))].map((d) => `${kills.filter((k) => k.detail === d).length} ${d}`).join('; ');
    console.log(`  fault: a generate of ${OLD.size} files takes ~${Math.round(duration)} ms; ${kills.length} kills: ${kills.map((k) => `${k.trigger}→${k.phase}`).join(', ')}`);
    console.log(`  fault: ${count('before')} landed before the swap, ${count('during')} during it, ${count('after')} after it (${details}); out/ came back old ${kills.filter((k) => k.result === 'old').length} times, new ${kills.filter((k) => k.result === 'new').length} times, never a mix`);
    assert.ok(count('before') > 0 && count('after') > 0, `expected kills on both sides of the swap, or the test proves little: ${details}`);
  } finally {
    dir.remove();
  }
});

test('a file in out/ that etcd-bootstrap did not write, or wrote and someone edited, is named by --check and by generate, and no run overwrites or deletes it', () => {
  const dir = tempDir('foreign');
  try {
    const config = writeFile(join(dir.path, 'cluster.json'), JSON.stringify(minimalCluster(3), null, 2));
    const out = join(dir.path, 'out');
    const generate = (...extra: string[]) => runCli(['generate', '--config', config, ...extra]);
    assert.is(generate().code, 0);
    const generatedManifest = readFileSync(join(out, 'master3-etcd.manifest'));
    // The user's files: beside the generated ones, in a directory of their own, with their own mode, and one that
    // a manifest etcd-bootstrap wrote, edited by hand.
    const mine: Record<string, { content: string; mode: number }> = {
      'NOTES.txt': { content: 'mine\n', mode: 0o644 },
      'local/hosts.txt': { content: '192.168.56.11 master1\n', mode: 0o600 },
      'helper.sh': { content: '#!/bin/sh\necho mine\n', mode: 0o755 },
      'master3-etcd.manifest': { content: '# edited by hand, header removed\n', mode: 0o644 },
    };
    for (const [path, file] of Object.entries(mine)) {
      mkdirSync(join(out, path, '..'), { recursive: true });
      writeFileSync(join(out, path), file.content);
      chmodSync(join(out, path), file.mode);
    }
    const theirs = Object.keys(mine).filter((p) => p !== 'master3-etcd.manifest');
    const assertKept = (when: string, paths: string[]) => {
      for (const path of paths) {
        const file = mine[path]!;
        const full = join(out, path);
        assert.ok(existsSync(full), `${when}: expected out/${path} to be kept; out/ holds ${[...snapshot(out).keys()].join(', ')}`);
        assert.is(readFileSync(full, 'utf8'), file.content, `${when}: out/${path} keeps its content`);
        assert.is(lstatSync(full).mode & 0o777, file.mode, `${when}: expected out/${path} to keep mode 0${file.mode.toString(8)}; got 0${(lstatSync(full).mode & 0o777).toString(8)}`);
      }
    };
    const assertNamed = (run: { err: string[] }, paths: string[], when: string) => {
      const said = run.err.join('\n');
      // A directory of the user's is named as a whole.
      for (const path of new Set(paths.map((p) => p.replace(/\/.*/, '/')))) {
        assert.ok(said.includes(`out/${path} was not written by etcd-bootstrap`), `${when}: expected stderr to name out/${path} as not written by etcd-bootstrap:\n${said}`);
      }
    };

    // --check, with out/ otherwise up to date: each is named; the hand-edited manifest is in the way (the record says
    // what etcd-bootstrap wrote there, and it no longer matches), so the check fails and names the remedy.
    const refusal = /out\/master3-etcd\.manifest was changed since etcd-bootstrap wrote it, and etcd-bootstrap would overwrite it: move it away, or restore it \(git checkout -- .*out\/master3-etcd\.manifest\)/;
    const check = generate('--check');
    assertNamed(check, theirs, '--check');
    assert.match(check.err.join('\n'), refusal, `--check names the hand-edited manifest and the remedy:\n${check.err.join('\n')}`);
    assert.is(check.code, 1, 'the hand-edited manifest fails the check');
    assertKept('after --check', Object.keys(mine));

    // generate refuses to overwrite the hand-edited manifest, and writes nothing at all.
    const refused = generate();
    assert.is(refused.code, 1, refused.err.join('\n'));
    assert.match(refused.err.join('\n'), refusal);
    assert.match(refused.err.join('\n'), /out\/ is unchanged: 1 file in the way/);
    assertKept('after a refused generate', Object.keys(mine));

    // Restored (what `git checkout` does): the manifest is ours again, and generate passes with the user's files kept.
    writeFileSync(join(out, 'master3-etcd.manifest'), generatedManifest);
    const again = generate();
    assert.is(again.code, 0, again.err.join('\n'));
    assertNamed(again, theirs, 'generate');
    assertKept('after generate', theirs);
    assert.is(generate('--check').code, 0, 'after generate, --check passes with the user\'s files still there');

    // A cluster.json with 2 masters: master3-etcd.manifest is no longer generated. Edited by hand again, it is the
    // user's now: kept and named, never removed.
    writeFileSync(join(out, 'master3-etcd.manifest'), mine['master3-etcd.manifest']!.content);
    writeFile(config, JSON.stringify(minimalCluster(2), null, 2));
    const check2 = generate('--check');
    assertNamed(check2, theirs, '--check with 2 masters');
    assert.match(check2.err.join('\n'), /out\/master3-etcd\.manifest was changed by hand since etcd-bootstrap wrote it, and is no longer generated; it is kept/);
    assert.not.match(check2.err.join('\n'), /master3-etcd\.manifest {2}would disappear/, `--check does not plan to remove the user's master3-etcd.manifest:\n${check2.err.join('\n')}`);
    assertKept('after --check with 2 masters', Object.keys(mine));
    const fewer = generate();
    assert.is(fewer.code, 0, fewer.err.join('\n'));
    assertKept('after generate with 2 masters', Object.keys(mine));
    assertNamed(generate(), [...theirs, 'master3-etcd.manifest'], 'generate with 2 masters, once more');
  } finally {
    dir.remove();
  }
});

test.run();
