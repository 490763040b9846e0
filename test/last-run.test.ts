// npm run generate remembers a run that found out/ up to date (scripts/last-run.mjs) and answers the same run again
// without loading the generator. These tests break the copy's renderer after the memory is made: a remembered
// answer never loads it, and every change to what a run reads must reach the real generator, which then fails loudly.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { appendFileSync, chmodSync, cpSync, readFileSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { join } from 'node:path';
import { packageRoot } from '../src/schema.js';
import { minimalCluster, tempDir, writeFile } from './support/fixtures.js';

/** Past the window in which last-run.mjs (like build-stamp.mjs) distrusts a time as too recent. */
const pastRacyWindow = () => spawnSync('sleep', ['2.2']);

interface Project {
  config: string;
  out: string;
  generate: (...args: string[]) => SpawnSyncReturns<string>;
  upToDate: string;
}

/**
 * A copy of the built package with `count` projects, each generated and then remembered as up to date; then the
 * copy's renderer is broken. The memory keeps 16 runs: enough for every project here.
 */
function rememberedProjects(count: number) {
  const dir = tempDir('last-run');
  for (const part of ['dist', 'src', 'scripts', 'templates', 'schema', 'package.json', 'package-lock.json', 'tsconfig.json']) {
    cpSync(join(packageRoot, part), join(dir.path, part), { recursive: true });
  }
  symlinkSync(join(packageRoot, 'node_modules'), join(dir.path, 'node_modules'));
  const projects: Project[] = [];
  for (let i = 0; i < count; i++) {
    const config = writeFile(join(dir.path, `project${i}`, 'cluster.json'), JSON.stringify(minimalCluster(1)));
    const generate = (...args: string[]) =>
      spawnSync(process.execPath, [join(dir.path, 'scripts/generate.mjs'), '--config', config, ...args], { cwd: dir.path, encoding: 'utf8' });
    projects.push({ config, out: join(dir.path, `project${i}`, 'out'), generate, upToDate: '' });
  }
  pastRacyWindow();
  for (const project of projects) {
    const first = project.generate();
    assert.is(first.status, 0, first.stderr);
    assert.match(first.stdout, /^wrote /m);
  }
  pastRacyWindow();
  for (const project of projects) {
    const upToDate = project.generate();
    assert.is(upToDate.status, 0, upToDate.stderr);
    assert.match(upToDate.stdout, /is up to date with .*nothing written/);
    project.upToDate = upToDate.stdout;
  }
  // Broken at evaluation, not at linking: the module still exports every name, so only running it fails.
  const renderer = join(dir.path, 'dist/src/render.js');
  writeFileSync(renderer, `throw new Error('the real generator ran');\n${readFileSync(renderer, 'utf8')}`);
  return { ...dir, projects };
}

const ranTheGenerator = (run: { status: number | null; stderr: string }, what: string) => {
  assert.is.not(run.status, 0, `${what}: the remembered answer was given, but the run reads something new`);
  assert.match(run.stderr, /the real generator ran/, `${what}: ${run.stderr}`);
};

test('the same run again gets the remembered answer without loading the generator; any change to what it reads runs the generator', () => {
  const changes: [string, (p: Project) => void][] = [
    ['cluster.json edited', (p) => appendFileSync(p.config, '\n')],
    ['a generated file edited', (p) => appendFileSync(join(p.out, 'ntp.sh'), '# mine\n')],
    ['a file added to out/', (p) => writeFileSync(join(p.out, 'notes.txt'), 'mine\n')],
    ['out/ made read-only', (p) => chmodSync(p.out, 0o555)],
    ['a lock beside out/', (p) => writeFileSync(join(p.out, '..', '.out.lock'), '1 1\n')],
    ['out/ replaced by a copy', (p) => (renameSync(p.out, `${p.out}.moved`), cpSync(`${p.out}.moved`, p.out, { recursive: true }))],
  ];
  const copy = rememberedProjects(changes.length + 2);
  try {
    const [same, checked, ...changed] = copy.projects as [Project, Project, ...Project[]];
    const again = same.generate();
    assert.is(again.status, 0, `the remembered run was not used: ${again.stderr}`);
    assert.is(again.stdout, same.upToDate, 'the remembered answer is what the real run said');
    ranTheGenerator(checked.generate('--check'), 'other arguments (--check)');
    changes.forEach(([what, change], i) => {
      const project = changed[i]!;
      change(project);
      ranTheGenerator(project.generate(), what);
    });
  } finally {
    for (const project of copy.projects) spawnSync('chmod', ['-R', 'u+w', project.out]);
    copy.remove();
  }
});

test('a changed source is built first and the run it makes is a full one: the memory never answers for stale code', () => {
  const copy = rememberedProjects(1);
  try {
    appendFileSync(join(copy.path, 'src/plan.ts'), '\n// an edit\n');
    const run = copy.projects[0]!.generate();
    // The build rewrites dist/, the broken renderer included, and the stamp: the run is a real one, and succeeds.
    assert.is(run.status, 0, run.stderr);
    assert.match(run.stdout, /is up to date with .*nothing written/);
  } finally {
    copy.remove();
  }
});

test.run();
