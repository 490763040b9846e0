// npm run generate builds dist/ first when a source changed (scripts/generate.mjs). Two runs at once build it once:
// the second waits for the first's build (the lock .dist.lock beside dist/, scripts/build-lock.mjs), then finds dist/
// current. `npm run build` takes the same lock, and then always builds. The compiler of a copy of the package is a
// wrapper that logs when each of its runs starts and ends, around the real tsc.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { appendFileSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../src/schema.js';
import { minimalCluster, tempDir, writeFile } from './support/fixtures.js';

interface Copy {
  path: string;
  remove: () => void;
  /** How many times the copy's tsc has started. */
  compilerRuns: () => number;
  /** "start PID" and "end PID" of each run of the copy's tsc, in order. */
  compilerLog: () => string[];
  /** Changes a source, so that the next generate must build. */
  touchSource: () => void;
  lock: string;
}

/** A copy of the built package whose node_modules are the real ones but for typescript's bin/tsc, which counts. */
function packageCopy(): Copy {
  const dir = tempDir('build-lock');
  for (const part of ['dist', 'src', 'scripts', 'templates', 'schema', 'package.json', 'package-lock.json', 'tsconfig.json']) {
    cpSync(join(packageRoot, part), join(dir.path, part), { recursive: true });
  }
  const modules = join(packageRoot, 'node_modules');
  mkdirSync(join(dir.path, 'node_modules', 'typescript'), { recursive: true });
  for (const name of readdirSync(modules)) if (name !== 'typescript') symlinkSync(join(modules, name), join(dir.path, 'node_modules', name));
  for (const name of readdirSync(join(modules, 'typescript'))) {
    if (name !== 'bin') symlinkSync(join(modules, 'typescript', name), join(dir.path, 'node_modules', 'typescript', name));
  }
  const runs = join(dir.path, 'tsc-runs');
  writeFileSync(runs, '');
  // It takes a second and a half before compiling, so that a second generate surely starts while this build runs.
  writeFile(
    join(dir.path, 'node_modules', 'typescript', 'bin', 'tsc'),
    [
      '#!/usr/bin/env node',
      "import { appendFileSync } from 'node:fs';",
      "import { spawnSync } from 'node:child_process';",
      `appendFileSync(${JSON.stringify(runs)}, \`start \${process.pid}\\n\`);`,
      'Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1500);',
      `const run = spawnSync(process.execPath, [${JSON.stringify(join(modules, 'typescript', 'bin', 'tsc'))}, ...process.argv.slice(2)], { stdio: 'inherit' });`,
      `appendFileSync(${JSON.stringify(runs)}, \`end \${process.pid}\\n\`);`,
      'process.exit(run.status ?? 1);',
      '',
    ].join('\n'),
  );
  let touches = 0;
  return {
    ...dir,
    compilerRuns: () => readFileSync(runs, 'utf8').split('\n').filter((line) => line.startsWith('start ')).length,
    compilerLog: () => readFileSync(runs, 'utf8').split('\n').filter(Boolean),
    touchSource: () => appendFileSync(join(dir.path, 'src', 'calendar.ts'), `\n// touched ${++touches}\n`),
    lock: join(dir.path, '.dist.lock'),
  };
}

type Finished = { status: number | null; stdout: string; stderr: string };

/** `node scripts/generate.mjs --config PROJECT/cluster.json` in the copy, as `npm run generate` runs it. */
function generate(copy: Copy, project: string): Promise<Finished> {
  const config = join(copy.path, project, 'cluster.json');
  if (!existsSync(config)) writeFile(config, JSON.stringify(minimalCluster(3)));
  return finished(spawn(process.execPath, [join(copy.path, 'scripts', 'generate.mjs'), '--config', config], { cwd: copy.path }));
}

/** `npm run build` in the copy. */
function build(copy: Copy): Promise<Finished> {
  return finished(spawn('npm', ['run', 'build'], { cwd: copy.path }));
}

function finished(child: ChildProcessWithoutNullStreams): Promise<Finished> {
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve) => child.on('close', (status) => resolve({ status, stdout, stderr })));
}

async function until(condition: () => boolean, what: string, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) assert.unreachable(`waited ${ms / 1000} s for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

test('two generates after a source changed run the compiler once: the second waits for the first build, then finds dist/ current', async () => {
  const copy = packageCopy();
  try {
    copy.touchSource();
    const first = generate(copy, 'project1');
    // The second starts once the first's compiler runs, so it surely finds the stamp stale too.
    await until(() => copy.compilerRuns() === 1, 'the first generate to start the compiler');
    const second = generate(copy, 'project2');
    const [a, b] = await Promise.all([first, second]);
    assert.is(a.status, 0, a.stderr);
    assert.is(b.status, 0, b.stderr);
    assert.is(copy.compilerRuns(), 1, `the compiler ran once, not once a generate:\n--- first ---\n${a.stderr}\n--- second ---\n${b.stderr}`);
    assert.match(b.stderr, /^etcd-bootstrap: waiting for the build of dist\/ that pid \d+ is running \(.*\.dist\.lock\)$/m, 'the second says what it waits for');
    assert.match(a.stdout, /^wrote /m);
    assert.match(b.stdout, /^wrote /m, 'the second generated with the first build');
    assert.not.ok(existsSync(copy.lock), 'the lock is gone after the build');
  } finally {
    copy.remove();
  }
});

// generate builds after a source changed; npm run build builds even with dist/ current.
for (const [who, run, changeSource] of [['generate', (copy: Copy) => generate(copy, 'project1'), true], ['npm run build', build, false]] as const) {
  test(`a lock left by a build that was killed (its pid gone) is taken over by ${who}: the build runs, and the lock is removed`, async () => {
    const copy = packageCopy();
    try {
      if (changeSource) copy.touchSource();
      const gone = spawnSync('true').pid;
      writeFileSync(copy.lock, `${gone} 12345\n`);
      const finished = await run(copy);
      assert.is(finished.status, 0, finished.stderr);
      assert.is(copy.compilerRuns(), 1, finished.stderr);
      assert.not.match(finished.stderr, /waiting for the build/, 'a dead holder is not waited for');
      assert.equal(readdirSync(copy.path).filter((name) => name.startsWith('.dist.lock')), [], 'nothing of the old lock is left beside dist/');
    } finally {
      copy.remove();
    }
  });
}

test('npm run build started while a generate builds waits for that build, then compiles: the two compiles do not overlap', async () => {
  const copy = packageCopy();
  try {
    copy.touchSource();
    const generating = generate(copy, 'project1');
    await until(() => copy.compilerRuns() === 1, 'the generate to start the compiler');
    const [g, b] = await Promise.all([generating, build(copy)]);
    assert.is(g.status, 0, g.stderr);
    assert.is(b.status, 0, b.stderr);
    const log = copy.compilerLog();
    assert.equal(log.map((line) => line.split(' ')[0]), ['start', 'end', 'start', 'end'], `each compile ended before the next started, and the build by hand compiled:\n${log.join('\n')}\n--- npm run build ---\n${b.stderr}`);
    assert.match(b.stderr, /^build: waiting for the build of dist\/ that pid \d+ is running \(.*\.dist\.lock\)$/m, 'the build by hand says what it waits for');
    assert.not.ok(existsSync(copy.lock), 'the lock is gone after both builds');
  } finally {
    copy.remove();
  }
});

test('with dist/ current, generate takes no lock and runs no compiler, even beside a lock a live run holds', async () => {
  const copy = packageCopy();
  try {
    // The copy's dist/ is current unless a source was edited after `npm test` built it: then a first generate
    // builds it (and a lock of this live process would make the run under test wait for it forever).
    const settle = await generate(copy, 'project1');
    assert.is(settle.status, 0, settle.stderr);
    const builds = copy.compilerRuns();
    writeFileSync(copy.lock, `${process.pid} 0\n`);
    const run = await generate(copy, 'project1');
    assert.is(run.status, 0, run.stderr);
    assert.is(copy.compilerRuns(), builds, 'no compiler ran');
    assert.ok(existsSync(copy.lock), "another run's lock is left alone");
  } finally {
    copy.remove();
  }
});

test.run();
