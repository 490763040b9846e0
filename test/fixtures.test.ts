// Malformed cluster files, each with the exact message a person gets (test/fixtures/invalid/NAME.expected: the
// messages, FILE standing for the file and OUT for out/, then the exit status). A fixture that loads (a byte-order
// mark) says so with exit 0. Nothing under out/ changes for any of them.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync, readFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../src/schema.js';
import { readOut } from '../src/emit.js';
import { minimalCluster, runCli, tempDir, writeFile } from './support/fixtures.js';

const fixtures = join(packageRoot, 'test', 'fixtures', 'invalid');

function snapshot(dir: string): string {
  return JSON.stringify([...readOut(dir)].map(([path, f]) => [path, f.mode, f.content.toString('base64')]));
}

/** An out/ with a previous generation in it, to prove a refused input leaves it alone. */
function previousOut(): { out: string; remove: () => void; before: string } {
  const dir = tempDir('fixtures');
  const config = writeFile(join(dir.path, 'cluster.json'), JSON.stringify(minimalCluster(1)));
  const out = join(dir.path, 'out');
  assert.is(runCli(['generate', '--config', config, '--out', out]).code, 0);
  return { out, remove: dir.remove, before: snapshot(out) };
}

function expectMessages(config: string, expected: string, label: string) {
  const previous = previousOut();
  try {
    const run = runCli(['generate', '--config', config, '--out', previous.out]);
    const said = [...run.err.map((l) => l.split(config).join('FILE').split(previous.out).join('OUT')), `exit ${run.code}`].join('\n');
    assert.fixture(said, expected.trimEnd(), `${label}: the messages differ from the fixture`);
    if (run.code !== 0) assert.ok(snapshot(previous.out) === before(previous), `${label}: out/ changed although the input was refused`);
  } finally {
    previous.remove();
  }
}
const before = (p: { before: string }) => p.before;

const names = readdirSync(fixtures).filter((f) => f.endsWith('.json')).sort();

test('there are about thirty malformed inputs, each with its expected messages', () => {
  assert.ok(names.length >= 30, `only ${names.length} fixtures`);
  for (const name of names) {
    assert.ok(readdirSync(fixtures).includes(name.replace(/\.json$/, '.expected')), `${name} has no .expected file`);
  }
});

for (const name of names) {
  test(`fixture ${name}`, () => {
    const expected = readFileSync(join(fixtures, name.replace(/\.json$/, '.expected')), 'utf8');
    expectMessages(join(fixtures, name), expected, name);
  });
}

test('a directory instead of a file', () => {
  const dir = tempDir('fixtures-dir');
  try {
    mkdirSync(join(dir.path, 'cluster.json'));
    expectMessages(join(dir.path, 'cluster.json'), 'FILE:1:1  /  is a directory, not a file\n1 error in FILE; OUT/ is unchanged.\nexit 1', 'directory');
  } finally {
    dir.remove();
  }
});

test('a file that does not exist', () => {
  expectMessages('/nonexistent/cluster.json', 'FILE:1:1  /  does not exist (give another file with --config)\n1 error in FILE; OUT/ is unchanged.\nexit 1', 'missing');
});

test('a file that cannot be read (a part of its path is a file)', () => {
  // Tests run as root in CI, where permissions cannot make a file unreadable; a file standing where a directory
  // should be can.
  const dir = tempDir('fixtures-notdir');
  try {
    writeFileSync(join(dir.path, 'plain'), 'x');
    expectMessages(join(dir.path, 'plain', 'cluster.json'), 'FILE:1:1  /  cannot be read: a part of its path is a file, not a directory\n1 error in FILE; OUT/ is unchanged.\nexit 1', 'unreadable');
  } finally {
    dir.remove();
  }
});

test.run();
