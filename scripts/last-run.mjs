// The memory of `npm run generate` on an unchanged tree. Plain JavaScript, like generate.mjs, which uses it.
//
// A run that found out/ up to date and wrote nothing is remembered with everything it read: the arguments, the
// working directory, the built code (dist/build-stamp.json), cluster.json, out/ and every entry in it, and the
// directory that holds out/. When the next run would read exactly the same, it prints what that run printed and
// exits as it did, without loading the validator, the templates or the renderer (most of a run's cost, the part
// that made `npm run generate` cost more than npm itself). Anything else runs the whole generator.
//
// "The same" is judged as the build stamp judges sources (build-stamp.mjs): inode, size, modification and change
// times of each file (a change time cannot be set back by a user), and nothing remembered while any of them is so
// recent that an edit in the same clock tick could hide. Whatever the run could not be sure of (a leftover of an
// interrupted run, a lock, a symbolic link, a subdirectory, a file the record does not list) is never remembered.
import { lstatSync, readdirSync, readFileSync, realpathSync, renameSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';

const VERSION = 1;
/** As build-stamp.mjs: a time this close to now may hide a second edit in the same tick of a coarse clock. */
const racyMs = 2000;
/** Enough for several clusters in one project (the examples), small enough to read in a blink. */
const keep = 16;
const RECORD_NAME = '.etcd-bootstrap.json';

const memoryPath = (root) => join(root, 'dist', 'last-runs.json');

/** The options generate takes; anything else (--help, a typo) goes to the real command line. */
function parse(argv) {
  const options = { config: 'cluster.json', out: undefined, check: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const eq = /^--(config|out)=(.*)$/s.exec(arg);
    if (eq) options[eq[1]] = eq[2];
    else if ((arg === '--config' || arg === '--out') && i + 1 < argv.length) options[arg.slice(2)] = argv[++i];
    else if (arg === '--check') options.check = true;
    else return undefined;
  }
  if (options.config === '' || options.out === '') return undefined;
  return options;
}

const fileStat = (s) => [s.dev, s.ino, s.mode, s.uid, s.gid, s.size, s.mtimeMs, s.ctimeMs];
/** A directory's identity and permissions, not its times: a run's own lock file beside out/ changes those. */
const dirStat = (s) => [s.dev, s.ino, s.mode, s.uid, s.gid];

/**
 * What a run with these arguments would read, as one string; undefined when it holds anything this memory must not
 * vouch for. `newest` is the latest time seen, for the racy check.
 */
export function fingerprint(root, argv) {
  const options = parse(argv);
  if (!options) return undefined;
  try {
    const config = resolve(options.config);
    const out = resolve(options.out ?? join(dirname(config), 'out'));
    const configStat = lstatSync(config);
    const outStat = lstatSync(out);
    const parent = dirname(out);
    if (!configStat.isFile() || !outStat.isDirectory() || realpathSync(out) !== out) return undefined;
    // A leftover of an interrupted run, or another run's lock: the real command decides what to do about them.
    if (readdirSync(parent).some((name) => name.startsWith(`.${basename(out)}.`))) return undefined;
    const entries = readdirSync(out, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1));
    const record = JSON.parse(readFileSync(join(out, RECORD_NAME), 'utf8'));
    const listed = new Set(Object.keys(record.files ?? {}));
    const files = [];
    for (const entry of entries) {
      if (!entry.isFile() || (entry.name !== RECORD_NAME && !listed.has(entry.name))) return undefined;
      files.push([entry.name, ...fileStat(lstatSync(join(out, entry.name)))]);
    }
    const stamp = lstatSync(join(root, 'dist', 'build-stamp.json'));
    const times = [configStat, stamp, ...files.map((f) => ({ mtimeMs: f[7], ctimeMs: f[8] }))].flatMap((s) => [s.mtimeMs, s.ctimeMs]);
    const text = JSON.stringify([
      VERSION, argv, process.cwd(), process.getuid?.(), fileStat(stamp), config, fileStat(configStat),
      out, dirStat(outStat), dirStat(lstatSync(parent)), files,
    ]);
    return { text, newest: Math.max(...times) };
  } catch {
    return undefined;
  }
}

function readMemory(root) {
  try {
    const memory = JSON.parse(readFileSync(memoryPath(root), 'utf8'));
    return memory.version === VERSION && Array.isArray(memory.runs) ? memory.runs : [];
  } catch {
    return [];
  }
}

/** What the remembered run printed and its exit status, when this run would read exactly what it read. */
export function recall(root, print) {
  if (!print) return undefined;
  return readMemory(root).find((run) => run.print === print.text);
}

/** Remember a run that read `before` and found the same `after` it: out/ up to date, nothing written. */
export function remember(root, before, after, run) {
  if (!before || !after || before.text !== after.text || after.newest > Date.now() - racyMs) return;
  const runs = [{ print: before.text, ...run }, ...readMemory(root).filter((r) => r.print !== before.text)].slice(0, keep);
  try {
    const temporary = `${memoryPath(root)}.${process.pid}.tmp`;
    writeFileSync(temporary, `${JSON.stringify({ version: VERSION, runs })}\n`);
    renameSync(temporary, memoryPath(root));
  } catch {
    // A read-only dist/: every run is a full run, which is correct, only slower.
  }
}
