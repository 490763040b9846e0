// npm run build: compile (tsc), precompile the schema and templates (dist/generated/), then write dist/build-stamp.json
// saying which sources this dist/ was made from (see build-stamp.mjs). Plain JavaScript: nothing is compiled yet.
// It always builds, but under the build lock that `npm run generate` takes (build-lock.mjs): a build by hand while a
// generate builds waits for it, so that two compilers never write into one dist/ at once.
import { spawnSync } from 'node:child_process';
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { snapshot, writeStamp } from './build-stamp.mjs';
import { buildOnce } from './build-lock.mjs';

/**
 * Builds root's dist/ and stamps it; the caller holds the build lock. `stdio` is for the compiler and precompiler.
 * Returns the exit status of the first step that failed, or 0.
 */
export function buildDist(root, stdio) {
  // Taken before the compiler reads anything: an edit during the build leaves the stamp out of date, so the next
  // `npm run generate` builds again rather than trusting what may be half old.
  const sources = snapshot(root);
  for (const step of [
    [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(root, 'tsconfig.json')],
    [join(root, 'dist', 'scripts', 'precompile.js')],
  ]) {
    const run = spawnSync(process.execPath, step, { stdio });
    if (run.status !== 0) return run.status ?? 1;
  }
  writeStamp(root, sources);
  return 0;
}

// Run as `node scripts/build.mjs`, not imported (generate.mjs imports buildDist to build under the lock it holds).
if (process.argv[1] !== undefined && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const root = fileURLToPath(new URL('..', import.meta.url)).replace(/\/$/, '');
  let status = 1;
  buildOnce(root, () => (status = buildDist(root, 'inherit')) === 0, (line) => process.stderr.write(`build: ${line}\n`), { always: true });
  process.exitCode = status;
}
