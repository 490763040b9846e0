// cli.ts: arguments, exit codes, and what a person reads.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { existsSync, writeFileSync } from 'node:fs';
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

test('an empty --config or --out is a usage error (exit 2), not a file named ""', () => {
  for (const args of [['--config', ''], ['--config='], ['--out', ''], ['--out=']]) {
    const run = runCli(['generate', ...args]);
    assert.is(run.code, 2, `etcd-bootstrap generate ${args.map((a) => JSON.stringify(a)).join(' ')}`);
    assert.match(run.err.join('\n'), /needs a (file|directory) name, and was given an empty one/);
    assert.match(run.err.join('\n'), /Usage:/);
  }
});

test("--check's fix-it command is one bash can run as printed: paths with spaces, quotes or a leading '-' quoted", () => {
  const dir = tempDir('cli check');
  try {
    for (const name of ["my cluster's dir", '-dash', 'plain']) {
      writeFile(join(dir.path, name, 'cluster.json'), JSON.stringify(minimalCluster(1)));
      // Relative paths, as a person types them: one that starts with '-' must not read as an option.
      const [config, out] = [`${name}/cluster.json`, `${name}/generated out`];
      const run = spawnSync(process.execPath, [cli, 'generate', '--check', `--config=${config}`, `--out=${out}`], { cwd: dir.path, encoding: 'utf8' });
      assert.is(run.status, 1, run.stderr);
      const fix = /: run (npm run generate -- .*)$/m.exec(run.stderr)?.[1];
      assert.ok(fix, run.stderr);
      // bash reads the printed command back into the very arguments given.
      const words = spawnSync('bash', ['-c', `set -- ${fix.slice('npm run generate -- '.length)}; printf '%s\\0' "$@"`], { encoding: 'utf8' }).stdout.split('\0').slice(0, -1);
      const expected = name.startsWith('-') ? [`--config=${config}`, `--out=${out}`] : ['--config', config, '--out', out];
      assert.equal(words, expected, fix);
    }
  } finally {
    dir.remove();
  }
});

test('no control character from a path reaches the terminal raw', () => {
  const dir = tempDir('cli');
  try {
    const config = join(dir.path, 'evil\u001b]0;pwned\u0007\u009b2J\nfake line', 'cluster.json');
    writeFile(config, '{ "masters": [ ] }');
    const run = spawnSync(process.execPath, [cli, 'generate', '--config', config], { encoding: 'utf8' });
    assert.is(run.status, 1);
    assert.not.match(run.stderr + run.stdout, /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/, JSON.stringify(run.stderr));
    assert.match(run.stderr, /evil\\u001b\]0;pwned\\u0007\\u009b2J\\nfake line\/cluster\.json:1:14  \/masters  must have at least 1 item/);
    assert.is(run.stderr.trimEnd().split('\n').length, 2, 'two lines: the error and the count, no forged third');
    writeFileSync(config, JSON.stringify(minimalCluster(1)));
    const ok = spawnSync(process.execPath, [cli, 'generate', '--config', config], { encoding: 'utf8' });
    assert.is(ok.status, 0, ok.stderr);
    assert.not.match(ok.stdout + ok.stderr, /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/, JSON.stringify(ok.stdout));
  } finally {
    dir.remove();
  }
});

test.run();
