// The precompiled validator and templates (dist/generated/) never go stale: an edit to a template or the schema
// takes effect at the next generate, with no build step in between.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { cpSync, existsSync, readFileSync, statSync, symlinkSync, utimesSync, writeFileSync, appendFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { packageRoot } from '../src/schema.js';
import { artifactsFresh } from '../src/artifacts.js';
import { minimalCluster, tempDir, writeFile } from './support/fixtures.js';

/** A copy of the built package in a temporary directory, so that its templates can be edited freely. */
function packageCopy() {
  const dir = tempDir('artifacts');
  for (const part of ['dist', 'templates', 'schema', 'package.json']) cpSync(join(packageRoot, part), join(dir.path, part), { recursive: true });
  symlinkSync(join(packageRoot, 'node_modules'), join(dir.path, 'node_modules'));
  const config = writeFile(join(dir.path, 'project', 'cluster.json'), JSON.stringify(minimalCluster(1)));
  const generate = () => spawnSync(process.execPath, [join(dir.path, 'dist/src/cli.js'), 'generate', '--config', config], { encoding: 'utf8' });
  return { ...dir, generate, out: join(dir.path, 'project', 'out') };
}

test('the artifacts in dist/generated/ are fresh after the build', () => {
  assert.ok(artifactsFresh(), 'dist/generated/ is stale right after npm run build');
});

test('a template edit takes effect at the next generate, without a build', () => {
  const copy = packageCopy();
  try {
    assert.is(copy.generate().status, 0);
    appendFileSync(join(copy.path, 'templates/cluster/README.md.hbs'), '\nEdited after the build.\n');
    const run = copy.generate();
    assert.is(run.status, 0, run.stderr);
    assert.match(readFileSync(join(copy.out, 'README.md'), 'utf8'), /Edited after the build\./, 'the edited template was used');
  } finally {
    copy.remove();
  }
});

test('a schema edit takes effect at the next generate, without a build', () => {
  const copy = packageCopy();
  try {
    const schemaFile = join(copy.path, 'schema/cluster.schema.json');
    const schema = JSON.parse(readFileSync(schemaFile, 'utf8')) as { properties: { masters: { maxItems?: number } } };
    schema.properties.masters.maxItems = 0;
    writeFileSync(schemaFile, JSON.stringify(schema));
    const run = copy.generate();
    assert.is(run.status, 1, 'the stricter schema refuses the cluster');
    assert.match(run.stderr, /\/masters/);
  } finally {
    copy.remove();
  }
});

test('a template that no longer compiles fails with a message saying what to run', () => {
  const copy = packageCopy();
  try {
    appendFileSync(join(copy.path, 'templates/cluster/README.md.hbs'), '\n{{#each members}}\n');
    const run = copy.generate();
    assert.is(run.status, 1);
    assert.match(run.stderr, /stale and rebuilding them failed; run `npm run build`/);
  } finally {
    copy.remove();
  }
});

// ---- npm run generate: scripts/generate.mjs builds only when a source changed, and then always ---------------

/** A copy of the project's sources (not dist/): what a fresh clone holds after `npm ci` linked node_modules. */
function sourceCopy() {
  const dir = tempDir('launcher');
  for (const part of ['src', 'scripts', 'templates', 'schema', 'package.json', 'package-lock.json', 'tsconfig.json']) {
    cpSync(join(packageRoot, part), join(dir.path, part), { recursive: true });
  }
  symlinkSync(join(packageRoot, 'node_modules'), join(dir.path, 'node_modules'));
  const config = writeFile(join(dir.path, 'project', 'cluster.json'), JSON.stringify(minimalCluster(1)));
  /** `npm run generate`, exactly as the README says to run it. */
  const npmGenerate = (...args: string[]) => spawnSync('npm', ['run', '-s', 'generate', '--', '--config', config, ...args], { cwd: dir.path, encoding: 'utf8' });
  /** The hash the last build recorded, and when dist/src/cli.js was written: both move only when a build runs. */
  const build = () => {
    const stamp = join(dir.path, 'dist', 'build-stamp.json');
    return existsSync(stamp) ? `${(JSON.parse(readFileSync(stamp, 'utf8')) as { hash: string }).hash} ${statSync(join(dir.path, 'dist/src/cli.js')).mtimeMs}` : 'none';
  };
  return { ...dir, npmGenerate, build, out: join(dir.path, 'project', 'out') };
}

test('npm run generate on a fresh clone builds first, then generates', () => {
  const copy = sourceCopy();
  try {
    const run = copy.npmGenerate();
    assert.is(run.status, 0, run.stderr);
    assert.ok(existsSync(join(copy.out, 'master1-etcd.manifest')));
    assert.match(run.stdout, /^wrote .*out\/ from /m, 'the build says nothing on standard output: it is generate\'s');
  } finally {
    copy.remove();
  }
});

test('npm run generate on an unchanged tree does not build; a touched but unchanged source does not either', () => {
  const copy = sourceCopy();
  try {
    assert.is(copy.npmGenerate().status, 0);
    const built = copy.build();
    const again = copy.npmGenerate();
    assert.is(again.status, 0, again.stderr);
    assert.match(again.stdout, /is up to date/);
    assert.is(copy.build(), built, 'an unchanged tree was built again');
    const later = new Date(Date.now() + 5_000);
    utimesSync(join(copy.path, 'src/plan.ts'), later, later);
    assert.is(copy.npmGenerate().status, 0);
    assert.is(copy.build(), built, 'a source whose time changed but not its text was built again');
  } finally {
    copy.remove();
  }
});

test('a change to any source is built before the next npm run generate runs: never stale code', () => {
  const copy = sourceCopy();
  try {
    assert.is(copy.npmGenerate().status, 0);
    // Past the window in which a time is too close to the build's to be trusted: from here the sizes and times
    // alone decide, and nothing is hashed unless they differ.
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 2_500);
    const built = copy.build();
    assert.is(copy.npmGenerate().status, 0);
    assert.is(copy.build(), built);

    // A TypeScript source, the same size, its modification time set back to what it was: only the text (and the
    // change time, which no tool can set) differ. The message the CLI prints changes, so the new code is seen running.
    const cliSource = join(copy.path, 'src/cli.ts');
    // (`touch -r` keeps the nanoseconds, which utimesSync's Date would round away.)
    const before = statSync(cliSource, { bigint: true });
    const reference = join(copy.path, 'mtime-reference');
    assert.is(spawnSync('touch', ['-r', cliSource, reference]).status, 0);
    writeFileSync(cliSource, readFileSync(cliSource, 'utf8').replaceAll('is up to date with', 'IS UP TO DATE WITH'));
    assert.is(spawnSync('touch', ['-r', reference, cliSource]).status, 0);
    const after = statSync(cliSource, { bigint: true });
    assert.equal([after.size, after.ino, after.mtimeNs], [before.size, before.ino, before.mtimeNs], 'the edit kept size, inode and modification time');
    let run = copy.npmGenerate();
    assert.is(run.status, 0, run.stderr);
    assert.match(run.stdout, /IS UP TO DATE WITH/, 'the edited src/cli.ts ran');

    // At once after that build (a time within the same clock tick as the build's could hide an edit).
    writeFileSync(cliSource, readFileSync(cliSource, 'utf8').replaceAll('IS UP TO DATE WITH', 'IS CURRENT WITH'));
    run = copy.npmGenerate();
    assert.match(run.stdout, /IS CURRENT WITH/, 'an edit right after a build ran');

    // A template.
    appendFileSync(join(copy.path, 'templates/cluster/README.md.hbs'), '\nEdited after the build.\n');
    run = copy.npmGenerate();
    assert.is(run.status, 0, run.stderr);
    assert.match(readFileSync(join(copy.out, 'README.md'), 'utf8'), /Edited after the build\./);

    // The compiler's settings and package.json (its dependencies) are sources too.
    for (const file of ['tsconfig.json', 'package.json']) {
      const built = copy.build();
      appendFileSync(join(copy.path, file), '\n');
      assert.is(copy.npmGenerate().status, 0);
      assert.not.equal(copy.build(), built, `an edit to ${file} was not built`);
    }
  } finally {
    copy.remove();
  }
});

test('a source that does not compile: npm run generate fails, says so, and writes nothing', () => {
  const copy = sourceCopy();
  try {
    assert.is(copy.npmGenerate().status, 0);
    appendFileSync(join(copy.path, 'src/plan.ts'), '\nexport const broken: number = "text";\n');
    writeFileSync(join(copy.path, 'project', 'cluster.json'), JSON.stringify(minimalCluster(3)));
    const run = copy.npmGenerate();
    assert.is(run.status, 1);
    assert.match(run.stderr, /src\/plan\.ts.*error/);
    assert.match(run.stderr, /the sources changed and `npm run build` failed \(see above\); nothing was generated/);
    assert.not.ok(existsSync(join(copy.out, 'master3-etcd.manifest')), 'out/ was written by stale code');
  } finally {
    copy.remove();
  }
});

test.run();
