// emit.ts and the CLI around it: out/ is replaced whole, only when it changed, and never half-written.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { chmodSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { hasLegacyHeader, readOut, recover, replaceOut, resolveOut, survey, type ExistingFile } from '../src/emit.js';
import type { RenderedFile } from '../src/render.js';
import { minimalCluster, runCli, tempDir, writeFile } from './support/fixtures.js';

function snapshot(dir: string): Record<string, string> {
  const files: Record<string, string> = {};
  for (const [path, file] of readOut(dir)) files[path] = `${file.mode.toString(8)} ${file.content.toString('utf8')}`;
  return files;
}

function project(masters = 3) {
  const dir = tempDir('emit');
  const config = writeFile(join(dir.path, 'cluster.json'), JSON.stringify(minimalCluster(masters), null, 2));
  const out = join(dir.path, 'out');
  return { ...dir, config, out, generate: (...extra: string[]) => runCli(['generate', '--config', config, ...extra]) };
}

test('generate writes out/ beside cluster.json; a second run writes nothing and leaves the bytes alone', () => {
  const p = project();
  try {
    const first = p.generate();
    assert.is(first.code, 0, first.err.join('\n'));
    const before = snapshot(p.out);
    const inode = statSync(p.out).ino;
    const second = p.generate();
    assert.is(second.code, 0);
    assert.match(second.out.join('\n'), /up to date/);
    assert.equal(snapshot(p.out), before);
    assert.is(statSync(p.out).ino, inode, 'out/ was not replaced when nothing changed');
  } finally {
    p.remove();
  }
});

test('two projects with the same cluster.json get byte-identical out/', () => {
  const a = project();
  const b = project();
  try {
    a.generate();
    b.generate();
    assert.equal(snapshot(a.out), snapshot(b.out));
  } finally {
    a.remove();
    b.remove();
  }
});

test('--check lists every file that would change, appear or disappear, writes nothing and exits 1', () => {
  const p = project();
  try {
    p.generate();
    chmodSync(join(p.out, 'verify.sh'), 0o644);
    const modeOnly = p.generate('--check');
    assert.is(modeOnly.code, 1);
    assert.match(modeOnly.err.join('\n'), /verify\.sh  would change mode/);
    rmSync(join(p.out, 'README.md'));
    writeFile(p.config, JSON.stringify(minimalCluster(2)));
    const before = snapshot(p.out);
    const check = p.generate('--check');
    assert.is(check.code, 1);
    const said = check.err.join('\n');
    for (const line of ['README.md  would appear', 'master3-etcd.manifest  would disappear', 'master1-etcd.manifest  would change']) {
      assert.ok(said.includes(line), `--check should say "${line}":\n${said}`);
    }
    assert.equal(snapshot(p.out), before, '--check wrote nothing');
    p.generate();
    assert.is(p.generate('--check').code, 0, 'after generate, --check passes');
  } finally {
    p.remove();
  }
});

test("a removed master's manifest is removed; a file etcd-bootstrap did not write is kept and reported", () => {
  const p = project(3);
  try {
    p.generate();
    writeFileSync(join(p.out, 'NOTES.txt'), 'mine\n');
    writeFile(p.config, JSON.stringify(minimalCluster(1)));
    const run = p.generate();
    assert.is(run.code, 0);
    const files = readdirSync(p.out).sort();
    assert.equal(files, ['.etcd-bootstrap.json', 'NOTES.txt', 'README.md', 'backup.sh', 'certs.sh', 'distribute.sh', 'etcd-backup.service', 'etcd-backup.timer', 'kube-apiserver-etcd.yaml', 'lib.sh', 'master1-etcd.manifest', 'members.sh', 'ntp.sh', 'preflight.sh', 'restore.sh', 'verify.sh']);
    assert.is(readFileSync(join(p.out, 'NOTES.txt'), 'utf8'), 'mine\n');
    assert.match(run.err.join('\n'), /NOTES\.txt was not written by etcd-bootstrap.* kept/);
  } finally {
    p.remove();
  }
});

test('symbolic links and empty directories of the user in out/ survive a regeneration', () => {
  const p = project(3);
  try {
    p.generate();
    symlinkSync('../cluster.json', join(p.out, 'link'));
    mkdirSync(join(p.out, 'empty'));
    writeFile(p.config, JSON.stringify(minimalCluster(1)));
    assert.is(p.generate().code, 0);
    assert.is(readlinkSync(join(p.out, 'link')), '../cluster.json');
    assert.ok(lstatSync(join(p.out, 'link')).isSymbolicLink(), 'link is still a symbolic link');
    assert.ok(statSync(join(p.out, 'empty')).isDirectory(), 'the empty directory is still there');
  } finally {
    p.remove();
  }
});

test('a FIFO in out/ is refused before anything is written', () => {
  const p = project(3);
  try {
    p.generate();
    const fifo = spawnSync('mkfifo', [join(p.out, 'pipe')]);
    if (fifo.status !== 0) return;
    writeFile(p.config, JSON.stringify(minimalCluster(1)));
    const run = p.generate();
    assert.is(run.code, 1);
    assert.match(run.err.join('\n'), /pipe is not a file, a directory or a symbolic link; move it out/);
    assert.ok(existsSync(join(p.out, 'master3-etcd.manifest')), 'out/ was left as it was');
  } finally {
    p.remove();
  }
});

test("out/'s modes do not depend on the umask", () => {
  const p = project(1);
  const previous = process.umask(0o077);
  try {
    p.generate();
    assert.is(statSync(join(p.out, 'ntp.sh')).mode & 0o777, 0o755);
    assert.is(statSync(join(p.out, 'master1-etcd.manifest')).mode & 0o777, 0o644);
    assert.is(p.generate('--check').code, 0, 'a restrictive umask does not make out/ look stale');
  } finally {
    process.umask(previous);
    p.remove();
  }
});

test('bad input: exit 1, every error located, out/ untouched', () => {
  const p = project();
  try {
    p.generate();
    const before = snapshot(p.out);
    writeFile(p.config, '{\n  "masters": [ { "name": "master1", "ip": "300.1.1.1", "host": "h" } ],\n  "etcd": { "clientPort": "2379" }\n}\n');
    const run = p.generate();
    assert.is(run.code, 1);
    const said = run.err.join('\n');
    assert.match(said, /cluster\.json:3:27  \/etcd\/clientPort  must be a whole number \(found "2379"\)/);
    assert.match(said, /out\/ is unchanged/);
    assert.equal(snapshot(p.out), before);
  } finally {
    p.remove();
  }
});

test('a write that fails half-way leaves the previous out/ intact and no debris', () => {
  const p = project();
  try {
    p.generate();
    const before = snapshot(p.out);
    const rendered: RenderedFile[] = [
      { path: 'a.txt', content: '# Generated by etcd-bootstrap\nA', mode: 0o644 },
      { path: 'b.txt', content: '# Generated by etcd-bootstrap\nB', mode: 0o644 },
    ];
    assert.throws(
      () => replaceOut(resolveOut(p.out, p.config, 'out'), rendered, [], { beforeWrite: (path) => { if (path === 'b.txt') throw new Error('disk full'); } }),
      /disk full/,
    );
    assert.equal(snapshot(p.out), before);
    assert.equal(readdirSync(p.path).sort(), ['cluster.json', 'out']);
  } finally {
    p.remove();
  }
});

test('an out/ that a crash left moved aside is put back by the next run', () => {
  const p = project();
  try {
    p.generate();
    const before = snapshot(p.out);
    // The state between replaceOut's two renames: out/ moved aside, the new one not yet in place.
    const aside = join(p.path, '.out.old-999999');
    mkdirSync(aside);
    for (const [path, file] of readOut(p.out)) writeFileSync(join(aside, path), file.content, { mode: file.mode });
    const half = join(p.path, '.out.new-999998');
    mkdirSync(half);
    writeFileSync(join(half, 'partial'), 'x');
    rmSync(p.out, { recursive: true });
    const notes = recover(resolveOut(p.out, p.config, 'out'));
    assert.is(notes.length, 2, notes.join('\n'));
    assert.equal(snapshot(p.out), before);
    assert.not.ok(existsSync(half), 'a half-written new out/ is removed');
  } finally {
    p.remove();
  }
});

const file = (content: string, mode = 0o644): ExistingFile => ({ content: Buffer.from(content), mode, kind: 'file' });
const sha = (text: string) => createHash('sha256').update(text).digest('hex');

test('survey(): a file is ours when the record lists it with its current sha256, or when it already holds exactly what we write', () => {
  const existing = new Map<string, ExistingFile>([
    ['same', file('x')],
    ['mode', file('x')],
    ['gone', file('x')],
    ['edited-gone', file('edited')],
    ['adopted', file('y')],
    ['theirs', file('x')],
    ['edited', file('edited')],
    ['hand-written', file('mine')],
    ['dir', { content: Buffer.alloc(0), mode: 0o755, kind: 'directory' }],
  ]);
  const record = new Map([['same', sha('x')], ['mode', sha('x')], ['gone', sha('x')], ['edited-gone', sha('x')], ['edited', sha('x')]]);
  const rendered: RenderedFile[] = [
    { path: 'same', content: 'x', mode: 0o644 },
    { path: 'mode', content: 'x', mode: 0o755 },
    { path: 'new', content: 'y', mode: 0o644 },
    { path: 'adopted', content: 'y', mode: 0o644 },
    { path: 'edited', content: 'z', mode: 0o644 },
    { path: 'hand-written', content: 'z', mode: 0o644 },
    { path: 'dir', content: 'z', mode: 0o644 },
  ];
  const found = survey(rendered, existing, record, 'out');
  assert.equal(found.pending, [
    { path: 'gone', kind: 'removed' },
    { path: 'mode', kind: 'mode' },
    { path: 'new', kind: 'new' },
  ]);
  assert.equal(found.owned, ['adopted', 'gone', 'mode', 'same']);
  assert.equal(found.foreign, ['theirs']);
  assert.equal(found.disowned, ['edited-gone'], 'a file we wrote, edited by hand and no longer generated, becomes the user\'s');
  assert.equal(found.refused, [
    'out/dir is a directory that etcd-bootstrap did not write, and etcd-bootstrap would write a file of that name: move it away and run again.',
    'out/edited was changed since etcd-bootstrap wrote it, and etcd-bootstrap would overwrite it: move it away, or restore it (git checkout -- out/edited), and run again.',
    'out/hand-written is a file that etcd-bootstrap did not write, and etcd-bootstrap would write a file of that name: move it away and run again.',
  ]);
});

test.run();

test('an out/ from before the record (etcd-bootstrap 0.1): files of our names that begin with its exact header are adopted, nothing else', () => {
  const header = '# Generated by etcd-bootstrap from cluster.json (npm run generate). Do not edit: edit cluster.json and generate again.';
  const old = (text: string) => file(text);
  const existing = new Map<string, ExistingFile>([
    ['ntp.sh', old(`#!/usr/bin/env bash\n${header}\nold script\n`)],
    ['README.md', old(`<!-- ${header.slice(2)} -->\nold readme\n`)],
    ['master1-etcd.manifest', old(`${header}\nold manifest\n`)],
    ['verify.sh', old(`#!/usr/bin/env bash\n# my own notes\n${header}\n`)],
    ['distribute.sh', old(`#!/usr/bin/env bash\n${header.replace('from cluster.json', 'from other.json')}\n`)],
    ['notes.md', old(`${header}\nquoted in a note\n`)],
  ]);
  const rendered: RenderedFile[] = ['ntp.sh', 'README.md', 'master1-etcd.manifest', 'verify.sh', 'distribute.sh'].map((path) => ({ path, content: 'new', mode: 0o644 }));
  const found = survey(rendered, existing, undefined, 'out');
  assert.equal(found.owned, ['README.md', 'master1-etcd.manifest', 'ntp.sh'], 'the three that begin with the old header are ours');
  assert.equal(found.refused.length, 2, `a header further down, or one that names two files, is not ours: ${found.refused.join('\n')}`);
  assert.equal(found.foreign, ['notes.md'], 'a file we do not write is never adopted, header or not');
  const withRecord = survey(rendered, existing, new Map(), 'out');
  assert.equal(withRecord.owned, [], 'once out/ has a record, the header proves nothing');
  assert.ok(hasLegacyHeader(Buffer.from(`#!/usr/bin/env bash\n${header}\n`)));
  assert.not.ok(hasLegacyHeader(Buffer.from(`\n${header}\n`)));
});
