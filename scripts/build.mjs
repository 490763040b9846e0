// npm run build: compile (tsc), precompile the schema and templates (dist/generated/), then write dist/build-stamp.json
// saying which sources this dist/ was made from (see build-stamp.mjs). Plain JavaScript: nothing is compiled yet.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { snapshot, writeStamp } from './build-stamp.mjs';

const root = fileURLToPath(new URL('..', import.meta.url)).replace(/\/$/, '');
// Taken before the compiler reads anything: an edit during the build leaves the stamp out of date, so the next
// `npm run generate` builds again rather than trusting what may be half old.
const sources = snapshot(root);
for (const step of [
  [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(root, 'tsconfig.json')],
  [join(root, 'dist', 'scripts', 'precompile.js')],
]) {
  const run = spawnSync(process.execPath, step, { stdio: 'inherit' });
  if (run.status !== 0) {
    process.exitCode = run.status ?? 1;
    process.exit();
  }
}
writeStamp(root, sources);
