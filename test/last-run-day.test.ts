// npm run generate remembers a run that found out/ up to date (scripts/last-run.mjs). Whether backup.schedule can
// still elapse depends on the date (src/calendar.ts), so a remembered answer holds for the UTC day it was made on
// only: a schedule that lapsed overnight gets its warning the next day, from the real generator.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { cpSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { packageRoot } from '../src/schema.js';
import { minimalCluster, tempDir, writeFile } from './support/fixtures.js';

test('a remembered generate answers on the UTC day it was made; on another day the real generator runs', () => {
  const dir = tempDir('last-run-day');
  try {
    for (const part of ['dist', 'src', 'scripts', 'templates', 'schema', 'package.json', 'package-lock.json', 'tsconfig.json']) {
      cpSync(join(packageRoot, part), join(dir.path, part), { recursive: true });
    }
    symlinkSync(join(packageRoot, 'node_modules'), join(dir.path, 'node_modules'));
    const config = writeFile(join(dir.path, 'project', 'cluster.json'), JSON.stringify(minimalCluster(1)));
    const generate = () => spawnSync(process.execPath, [join(dir.path, 'scripts/generate.mjs'), '--config', config], { cwd: dir.path, encoding: 'utf8' });
    // Past the window in which last-run.mjs distrusts a time as too recent, before each run that is to be remembered.
    spawnSync('sleep', ['2.2']);
    assert.is(generate().status, 0);
    spawnSync('sleep', ['2.2']);
    const upToDate = generate();
    assert.match(upToDate.stdout, /is up to date with .*nothing written/, upToDate.stderr);

    // Broken at evaluation: a remembered answer never loads the renderer, the real generator fails loudly.
    const renderer = join(dir.path, 'dist/src/render.js');
    writeFileSync(renderer, `throw new Error('the real generator ran');\n${readFileSync(renderer, 'utf8')}`);
    const remembered = generate();
    assert.is(remembered.status, 0, `the same day, the remembered answer is given: ${remembered.stderr}`);
    assert.is(remembered.stdout, upToDate.stdout);

    // The memory as a run made yesterday left it: every remembered print but for its date.
    const memoryPath = join(dir.path, 'dist', 'last-runs.json');
    const memory = readFileSync(memoryPath, 'utf8');
    const today = new Date().toISOString().slice(0, 10);
    const yesterday = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
    assert.ok(memory.includes(today), 'the remembered run names the day it ran on');
    writeFileSync(memoryPath, memory.split(today).join(yesterday));
    const nextDay = generate();
    assert.is.not(nextDay.status, 0, 'a remembered answer from another day is not given');
    assert.match(nextDay.stderr, /the real generator ran/);
  } finally {
    dir.remove();
  }
});

test.run();
