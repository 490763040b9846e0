#!/usr/bin/env node
// npm run generate: run dist/src/cli.js generate, building first only when a source changed since the last build.
// Plain JavaScript, never compiled: it must run before the build and decide whether one is needed. On an unchanged
// tree it costs a few stat calls, so `npm run generate` costs about what npm costs to start any script, yet it
// never runs code older than the sources (build-stamp.mjs says how it tells).
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { builtFromCurrentSources } from './build-stamp.mjs';

const root = fileURLToPath(new URL('..', import.meta.url)).replace(/\/$/, '');

if (!builtFromCurrentSources(root)) {
  // Loaded only here: node:child_process alone costs a tenth of a run that needs no build.
  const { spawnSync } = createRequire(import.meta.url)('node:child_process');
  // The build's own output (compiler errors) goes to standard error: standard output is generate's.
  const build = spawnSync(process.execPath, [fileURLToPath(new URL('./build.mjs', import.meta.url))], { stdio: ['ignore', 2, 2] });
  if (build.status !== 0 || !builtFromCurrentSources(root)) {
    process.stderr.write('etcd-bootstrap: the sources changed and `npm run build` failed (see above); nothing was generated.\n');
    process.exit(1);
  }
}
const [{ trustBuiltArtifacts }, { run }] = await Promise.all([import('../dist/src/artifacts.js'), import('../dist/src/cli.js')]);
// The build that wrote the stamp also built dist/generated/ from the same templates and schema: no need to hash
// them again.
trustBuiltArtifacts();
const status = await run(['generate', ...process.argv.slice(2)]);
// Exit at once: everything is written (synchronously), and waiting for Node to wind down on its own (the module
// loader's file handles) costs several milliseconds more than this whole check.
process.exit(status);
