// The precompiled validator and templates (dist/generated/) never go stale: an edit to a template or the schema
// takes effect at the next generate, with no build step in between.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { cpSync, readFileSync, symlinkSync, writeFileSync, appendFileSync } from 'node:fs';
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

test.run();
