#!/usr/bin/env node
// npm run generate: run dist/src/cli.js generate, building first only when a source changed since the last build.
// Plain JavaScript, never compiled: it must run before the build and decide whether one is needed. On an unchanged
// tree it costs a few stat calls, so `npm run generate` costs about what npm costs to start any script, yet it
// never runs code older than the sources (build-stamp.mjs says how it tells) nor answers for an out/ or a
// cluster.json it has not seen as they are (last-run.mjs).
import { writeSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { builtFromCurrentSources } from './build-stamp.mjs';
import { fingerprint, recall, remember } from './last-run.mjs';

const root = fileURLToPath(new URL('..', import.meta.url)).replace(/\/$/, '');
const args = ['generate', ...process.argv.slice(2)];

if (!builtFromCurrentSources(root)) {
  // Loaded only here: node:child_process (which build.mjs needs) alone costs a tenth of a run that needs no build.
  const [{ buildOnce }, { buildDist }] = await Promise.all([import('./build-lock.mjs'), import('./build.mjs')]);
  // One build at a time (build-lock.mjs): a run that finds another building waits for it instead of building too.
  // It builds in this process, which holds the lock (a `node build.mjs` would wait for that very lock). The build's
  // own output (compiler errors) goes to standard error: standard output is generate's.
  const build = () => buildDist(root, ['ignore', 2, 2]) === 0;
  if (!buildOnce(root, build, (line) => process.stderr.write(`etcd-bootstrap: ${line}\n`))) {
    process.stderr.write('etcd-bootstrap: the sources changed and `npm run build` failed (see above); nothing was generated.\n');
    process.exit(1);
  }
}

// The code is current; if this run would read exactly what a remembered up-to-date run read, say what it said. What it
// says also depends on the date (a backup.schedule that no longer elapses is a warning, src/calendar.ts, judged by
// the UTC date), so a run is remembered for the UTC day it ran on only.
const today = new Date().toISOString().slice(0, 10);
const onThisDay = (print) => print && { ...print, text: `${print.text} ${today}` };
const before = onThisDay(fingerprint(root, args.slice(1)));
const known = recall(root, before);
if (known) {
  for (const [fd, text] of known.lines) writeSync(fd, text);
  process.exit(known.status);
}

const [{ trustBuiltArtifacts }, { consoleIo, main }, { terminalLines }] = await Promise.all([
  import('../dist/src/artifacts.js'),
  import('../dist/src/cli.js'),
  import('../dist/src/safe-text.js'),
]);
// The build that wrote the stamp also built dist/generated/ from the same templates and schema: no need to hash
// them again.
trustBuiltArtifacts();
const lines = [];
const io = {
  out: (line) => (lines.push([1, `${terminalLines(line)}\n`]), consoleIo.out(line)),
  err: (line) => (lines.push([2, `${terminalLines(line)}\n`]), consoleIo.err(line)),
};
let status;
try {
  status = main(args, io);
} catch (error) {
  // As cli.ts's run(): an unexpected failure is a message and exit status 1, and nothing to remember.
  consoleIo.err(`etcd-bootstrap: ${error.message}`);
  process.exit(1);
}
// Only a run that changed nothing is remembered: one that wrote out/ gave it a new inode, so `after` differs.
if (status === 0) remember(root, before, onThisDay(fingerprint(root, args.slice(1))), { lines, status });
// Exit at once: everything is written (synchronously), and waiting for Node to wind down on its own (the module
// loader's file handles) costs several milliseconds more than this whole check.
process.exit(status);
