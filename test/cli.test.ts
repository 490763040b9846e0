// cli.ts: arguments, exit codes, and what a person reads.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { minimalCluster, runCli, tempDir, writeFile } from './support/fixtures.js';

const cli = fileURLToPath(new URL('../src/cli.js', import.meta.url));

test('--help explains and exits 0', () => {
  const run = runCli(['--help']);
  assert.is(run.code, 0);
  assert.match(run.out.join('\n'), /Usage: etcd-bootstrap generate \[--config FILE\] \[--out DIR\] \[--check\]/);
});

test('a usage error exits 2 and shows the usage', () => {
  for (const args of [[], ['frobnicate'], ['generate', '--nope'], ['generate', '--config']]) {
    const run = runCli(args);
    assert.is(run.code, 2, `etcd-bootstrap ${args.join(' ')}`);
    assert.match(run.err.join('\n'), /Usage:/);
  }
});

test('--config and --out choose other paths; the program runs as a command too', () => {
  const dir = tempDir('cli');
  try {
    const config = writeFile(join(dir.path, 'elsewhere', 'my-cluster.json'), JSON.stringify(minimalCluster(1)));
    const out = join(dir.path, 'generated');
    const run = spawnSync(process.execPath, [cli, 'generate', '--config', config, '--out', out], { encoding: 'utf8' });
    assert.is(run.status, 0, run.stderr);
    assert.ok(existsSync(join(out, 'master1-etcd.manifest')));
    assert.ok(!existsSync(join(dir.path, 'elsewhere', 'out')), 'nothing written beside the config when --out is given');
  } finally {
    dir.remove();
  }
});

test('a missing cluster file or a directory is reported, exit 1', () => {
  const dir = tempDir('cli');
  try {
    const missing = runCli(['generate', '--config', join(dir.path, 'nope.json')]);
    assert.is(missing.code, 1);
    assert.match(missing.err.join('\n'), /nope\.json:1:1  \/  does not exist/);
    const directory = runCli(['generate', '--config', dir.path]);
    assert.is(directory.code, 1);
    assert.match(directory.err.join('\n'), /is a directory, not a file/);
  } finally {
    dir.remove();
  }
});

test('a key configured inside out/ is refused: out/ is committed', () => {
  const dir = tempDir('cli');
  try {
    const config = writeFile(join(dir.path, 'cluster.json'), JSON.stringify({ ...minimalCluster(1), tls: { key: 'out/key.pem' } }));
    const run = runCli(['generate', '--config', config]);
    assert.is(run.code, 1);
    assert.match(run.err.join('\n'), /\/tls\/key  points into .*out\/, which is committed/);
    assert.not.ok(existsSync(join(dir.path, 'out')));
  } finally {
    dir.remove();
  }
});

test.run();
