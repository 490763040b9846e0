// What dist/ was built from, so that `npm run generate` can tell in a few milliseconds whether it may run dist/
// as it is or must build first. Plain JavaScript on purpose: it runs before anything is compiled.
//
// The stamp (dist/build-stamp.json) records, for every file the build reads, its path, size, inode, modification
// and change times, and one hash of all their contents, all taken BEFORE the compiler reads them: an edit made while the
// build runs makes the stamp disagree with the tree, never agree with it.
//
// Fresh means: the same files with the same sizes, inodes and times, none of them changed so close to the snapshot that
// an edit in the same clock tick could hide (git's "racily clean" entries); otherwise the contents are hashed and
// compared. A touched but unchanged file costs one hash, after which the stamp is brought up to date.
import { createRequire } from 'node:module';
import { mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Everything `npm run build` reads to make dist/: sources, templates, schema, compiler settings, dependencies. */
const sourceDirs = ['src', 'scripts', 'templates', 'schema'];
const sourceFiles = ['tsconfig.json', 'package.json', 'package-lock.json'];

/** How close to the snapshot a modification time must be to be distrusted: coarse file-system clocks (FAT: 2 s). */
const racyMs = 2000;

export const stampPath = (root) => join(root, 'dist', 'build-stamp.json');

function filesBelow(root, dir) {
  let entries;
  try {
    entries = readdirSync(join(root, dir), { withFileTypes: true, recursive: true });
  } catch {
    return [];
  }
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath ?? e.path, e.name).slice(root.length + 1));
}

function sourceList(root) {
  return [...sourceDirs.flatMap((dir) => filesBelow(root, dir)), ...sourceFiles].sort();
}

/** Path, size, inode and times of every source, one line each; a missing file is a line too. */
function statsOf(root, files) {
  return files
    .map((file) => {
      try {
        const s = statSync(join(root, file), { bigint: true });
        // The change time too: a tool can set a file's modification time back, but every write or utimes() moves
        // its change time, which no tool sets.
        return `${file}\t${s.size}\t${s.ino}\t${s.mtimeNs}\t${s.ctimeNs}`;
      } catch {
        return `${file}\tmissing`;
      }
    })
    .join('\n');
}

/** The latest modification or change time among the sources, in milliseconds. */
function newestMs(stats) {
  let newest = 0;
  for (const line of stats.split('\n')) {
    for (const ns of line.split('\t').slice(3)) newest = Math.max(newest, Number(BigInt(ns) / 1000000n));
  }
  return newest;
}

function hashOf(root, files) {
  // Loaded on first use: a run whose stamp matches hashes nothing.
  const { createHash } = createRequire(import.meta.url)('node:crypto');
  const hash = createHash('sha256');
  for (const file of files) {
    let content;
    try {
      content = readFileSync(join(root, file));
    } catch {
      content = Buffer.from('\0missing');
    }
    hash.update(file).update('\0').update(String(content.length)).update('\0').update(content);
  }
  return hash.digest('hex');
}

/** The sources as they are now. Stats first, then contents: an edit in between shows as a changed hash. */
export function snapshot(root) {
  const at = Date.now();
  const files = sourceList(root);
  const stats = statsOf(root, files);
  return { at, stats, hash: hashOf(root, files) };
}

function readStamp(root) {
  try {
    const stamp = JSON.parse(readFileSync(stampPath(root), 'utf8'));
    return typeof stamp.stats === 'string' && typeof stamp.hash === 'string' && typeof stamp.at === 'number' ? stamp : undefined;
  } catch {
    return undefined;
  }
}

export function writeStamp(root, stamp) {
  mkdirSync(join(root, 'dist'), { recursive: true });
  const temporary = `${stampPath(root)}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(stamp)}\n`);
  renameSync(temporary, stampPath(root));
}

/** Whether dist/ was built from the sources as they are now. */
export function builtFromCurrentSources(root) {
  const stamp = readStamp(root);
  if (!stamp) return false;
  const at = Date.now();
  const files = sourceList(root);
  const stats = statsOf(root, files);
  if (stats === stamp.stats && newestMs(stats) < stamp.at - racyMs) return true;
  if (hashOf(root, files) !== stamp.hash) return false;
  // Same contents, newer times (a checkout, a touch): remember the new times so that the next run is cheap again.
  // A failed write only costs the next run another hash.
  try {
    writeStamp(root, { at, stats, hash: stamp.hash });
  } catch {
    // dist/ read-only: fine.
  }
  return true;
}
