// Stage 4 of 4: rendered files → out/. The only stage that writes.
//
// out/ is replaced whole: every file is written into a fresh sibling directory, which then takes out/'s place by
// two renames. A crash leaves either the old out/ or the new one, never a mix; the next run puts back an out/
// that a crash left moved aside. When nothing changed, nothing is written at all.
//
// Which files are ours is not guessed from their content: out/.etcd-bootstrap.json records every file we wrote with
// the sha256 of its bytes (as projen records its generated files). A file is ours when it is listed there AND its
// bytes still match; anything else in out/ is someone else's and is never overwritten or deleted.
//
// One run at a time per out/: a lock file beside it (.out.lock) holds the pid and start time of its holder, so a
// lock whose holder died (SIGKILL, power loss) is recognised as stale, even when the pid was reused.
import { accessSync, closeSync, constants, cpSync, existsSync, fchmodSync, fstatSync, fsyncSync, linkSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, readlinkSync, realpathSync, renameSync, rmSync, statSync, writeSync, type Stats } from 'node:fs';
import { createHash } from 'node:crypto';
import { homedir } from 'node:os';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import type { RenderedFile } from './render.js';

/**
 * The record of what we wrote, inside out/ so that it is committed with it. A dot-file: `out/*` (an operator copying
 * the scripts) skips it, and the tool's name says whose it is.
 */
export const RECORD_NAME = '.etcd-bootstrap.json';

/** An out/ that etcd-bootstrap will not write into; the message names the path the user gave and the remedy. */
export class OutRefused extends Error {
  /** true: the --out given is not an output directory at all (a usage error, exit 2); false: its state (exit 1). */
  constructor(message: string, readonly usage = false) {
    super(message);
  }
}

export interface ExistingFile {
  /** The bytes of a file; the target of a symbolic link; empty for a directory. */
  content: Buffer;
  mode: number;
  kind: 'file' | 'symlink' | 'directory';
}

export type ChangeKind = 'new' | 'changed' | 'mode' | 'removed';
export interface Change {
  path: string;
  kind: ChangeKind;
}

const sha256 = (bytes: Buffer | string): string => createHash('sha256').update(bytes).digest('hex');

/** path → sha256 of the bytes etcd-bootstrap wrote there. */
export type Recorded = ReadonlyMap<string, string>;

const RECORD_ABOUT = `Files etcd-bootstrap wrote in this directory, each with the sha256 of its bytes. etcd-bootstrap rewrites or removes a file only when it is listed here and unchanged; everything else here is left alone.`;

/** The record file for `rendered`: sorted, byte-stable, so it diffs like the files it lists. */
function recordFile(rendered: readonly RenderedFile[]): RenderedFile {
  const files: { [path: string]: string } = {};
  for (const file of [...rendered].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))) files[file.path] = `sha256:${sha256(file.content)}`;
  return { path: RECORD_NAME, content: `${JSON.stringify({ about: RECORD_ABOUT, files }, null, 2)}\n`, mode: 0o644 };
}

/** What etcd-bootstrap writes: the rendered files and the record of them. */
export function withRecord(rendered: readonly RenderedFile[]): RenderedFile[] {
  return [...rendered, recordFile(rendered)];
}

/** The record in out/, undefined when there is none (an out/ from before records, or a new one). */
export function readRecord(existing: ReadonlyMap<string, ExistingFile>, outShown: string): Recorded | undefined {
  const entry = existing.get(RECORD_NAME);
  if (!entry) return undefined;
  const refuse = () =>
    new OutRefused(`${outShown}/${RECORD_NAME} is not etcd-bootstrap's record of the files it wrote, and etcd-bootstrap keeps that record under this name: move it away, or restore it (git checkout -- ${outShown}/${RECORD_NAME}), and run again.`);
  if (entry.kind !== 'file') throw refuse();
  let parsed: unknown;
  try {
    parsed = JSON.parse(entry.content.toString('utf8'));
  } catch {
    throw refuse();
  }
  const files = (parsed as { files?: unknown } | null)?.files;
  if (typeof files !== 'object' || files === null || Array.isArray(files)) throw refuse();
  const record = new Map<string, string>();
  for (const [path, hash] of Object.entries(files)) {
    const match = typeof hash === 'string' ? /^sha256:([0-9a-f]{64})$/.exec(hash) : null;
    if (!match || path.includes('/') || path === RECORD_NAME) throw refuse();
    record.set(path, match[1]!);
  }
  return record;
}

/**
 * The header every file of an out/ from before the record began with (etcd-bootstrap 0.1): on its first line, or
 * on its second after a shebang, and nowhere else. Only consulted when out/ has no record at all, so that the first
 * run of a newer etcd-bootstrap on an out/ it wrote before records existed updates it instead of refusing every
 * file whose template changed. A note that merely quotes the header further down is not taken for one of ours.
 */
const LEGACY_HEADER = /^(?:# |<!-- )Generated by etcd-bootstrap from (.+) \(npm run generate\)\. Do not edit: edit (.+) and generate again\.(?: -->)?$/;

export function hasLegacyHeader(content: Buffer): boolean {
  const lines = content.subarray(0, 2048).toString('utf8').split('\n', 2);
  const header = lines[0]?.startsWith('#!') ? lines[1] : lines[0];
  const match = header === undefined ? null : LEGACY_HEADER.exec(header);
  return match !== null && match[1] === match[2];
}

/** What a run would do to out/, and what it must not. */
export interface Survey {
  /** What writing would change; empty: out/ is up to date. */
  pending: Change[];
  /** Files in out/ that are in the way, each a sentence with the remedy: nothing may be written while there are any. */
  refused: string[];
  /** Paths (top level of out/) that are ours: the new out/ leaves them out, or holds our new bytes instead. */
  owned: string[];
  /** Entries that are not ours and that we do not write: kept, and reported. */
  foreign: string[];
  /** Files we wrote that were edited by hand and that we no longer write: kept as the user's, and reported. */
  disowned: string[];
}

const byPath = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Decides, for every entry at the top of out/, whether it is ours. Pure.
 *
 * A file is ours when the record lists it and its bytes still have the recorded sha256. A file the record does not
 * list (an out/ from before records, or a file put there since) is adopted only when its bytes are exactly what we
 * write now: then taking it over changes nothing. One exception, for upgrades: an out/ with no record at all (written
 * by etcd-bootstrap 0.1) has its files of our names adopted when they begin with 0.1's exact header. Every other entry is someone else's: never overwritten, never
 * deleted. When one of them stands where we must write, the run is refused with the remedy.
 */
export function survey(files: readonly RenderedFile[], existing: ReadonlyMap<string, ExistingFile>, record: Recorded | undefined, outShown: string): Survey {
  const result: Survey = { pending: [], refused: [], owned: [], foreign: [], disowned: [] };
  const wanted = new Map(files.map((f) => [f.path, f]));
  for (const [path, entry] of existing) {
    const file = wanted.get(path);
    const hash = entry.kind === 'file' ? sha256(entry.content) : undefined;
    const unchanged = hash !== undefined && (path === RECORD_NAME || record?.get(path) === hash);
    const same = file !== undefined && entry.kind === 'file' && entry.content.equals(Buffer.from(file.content, 'utf8'));
    const legacy = record === undefined && file !== undefined && entry.kind === 'file' && hasLegacyHeader(entry.content);
    if (unchanged || same || legacy) {
      result.owned.push(path);
      if (!file) result.pending.push({ path, kind: 'removed' });
      else if (!same) result.pending.push({ path, kind: 'changed' });
      else if (entry.mode !== file.mode) result.pending.push({ path, kind: 'mode' });
    } else if (file) {
      const what = entry.kind === 'file' ? 'file' : entry.kind === 'symlink' ? 'symbolic link' : 'directory';
      result.refused.push(
        record?.has(path) && entry.kind === 'file'
          ? `${outShown}/${path} was changed since etcd-bootstrap wrote it, and etcd-bootstrap would overwrite it: move it away, or restore it (git checkout -- ${outShown}/${path}), and run again.`
          : `${outShown}/${path} is a ${what} that etcd-bootstrap did not write, and etcd-bootstrap would write a file of that name: move it away and run again.`,
      );
    } else if (record?.has(path)) result.disowned.push(path);
    else result.foreign.push(path);
  }
  for (const file of files) if (!existing.has(file.path)) result.pending.push({ path: file.path, kind: 'new' });
  result.pending.sort((a, b) => byPath(a.path, b.path));
  for (const list of [result.refused, result.owned, result.foreign, result.disowned]) list.sort(byPath);
  return result;
}

/** The file a device and inode name (the private key), to be found wherever a link puts it. */
interface Identity {
  dev: number;
  ino: number;
}

const sameFile = (a: Identity, b: Identity) => a.dev === b.dev && a.ino === b.ino;

/**
 * The entries at the top of dir, by name; empty when dir does not exist. Also checks, before anything moves, that
 * the whole tree can be carried into a new out/: every entry a file, directory or symbolic link (a FIFO would block
 * a read), every file readable, every directory readable and writable (the old out/ is removed after the swap), and
 * none of them the private key (a hard link to it would be committed). With `forWriting` false (--check), only
 * readability is required.
 */
export function readOut(dir: string, outShown = dir, key?: Identity, forWriting = true): Map<string, ExistingFile> {
  const entries = new Map<string, ExistingFile>();
  if (!existsSync(dir)) return entries;
  const refuse = (path: string, why: string) => new OutRefused(`${outShown}/${path} ${why}`);
  const walk = (rel: string, top: boolean) => {
    const full = rel ? join(dir, rel) : dir;
    try {
      // --check only reads: it must pass in a read-only checkout.
      accessSync(full, constants.R_OK | constants.X_OK | (forWriting ? constants.W_OK : 0));
    } catch (error) {
      throw new OutRefused(
        `${rel ? `${outShown}/${rel}` : `${outShown}/`} is not writable (${(error as NodeJS.ErrnoException).code}): etcd-bootstrap replaces ${outShown}/ whole, carrying over what it did not write, which needs to read and remove every directory in it. Make it writable (chmod u+rwx) or move it out of ${outShown}/, and run again. ${outShown}/ is unchanged.`,
      );
    }
    for (const name of readdirSync(full).sort()) {
      const path = rel ? `${rel}/${name}` : name;
      const stat = lstatSync(join(dir, path));
      if (key && stat.isFile() && sameFile(stat, key)) throw refuse(path, `is the private key (a hard link to it), and ${outShown}/ is committed: remove the link. ${outShown}/ is unchanged.`);
      if (stat.isDirectory()) {
        if (top) entries.set(name, { content: Buffer.alloc(0), mode: stat.mode & 0o777, kind: 'directory' });
        walk(path, false);
      } else if (stat.isSymbolicLink()) {
        if (top) entries.set(name, { content: Buffer.from(readlinkSync(join(dir, path))), mode: 0o777, kind: 'symlink' });
      } else if (stat.isFile()) {
        try {
          accessSync(join(dir, path), constants.R_OK);
        } catch (error) {
          throw refuse(path, `is not readable (${(error as NodeJS.ErrnoException).code}): etcd-bootstrap copies what it did not write into the new ${outShown}/. Make it readable or move it out of ${outShown}/. ${outShown}/ is unchanged.`);
        }
        if (top) entries.set(name, { content: readFileSync(join(dir, path)), mode: stat.mode & 0o777, kind: 'file' });
      } else {
        throw refuse(path, `is not a file, a directory or a symbolic link; move it out of ${outShown}/, which etcd-bootstrap replaces whole. ${outShown}/ is unchanged.`);
      }
    }
  };
  walk('', true);
  return entries;
}

// ---------------------------------------------------------------------------------------------------------------
// Where out/ really is, and whether it may be an output directory at all.

/** out/ as etcd-bootstrap writes it: the real directory (a symbolic link resolved), its parent, and the path shown. */
export interface OutTarget {
  /** The real path of out/ (it may not exist yet). */
  real: string;
  /** The path the user gave (or the default), for messages. */
  shown: string;
}

/** The real path of `path`, which may not exist: the real path of its nearest existing ancestor, plus the rest. */
function realPath(path: string): string {
  const rest: string[] = [];
  let at = resolve(path);
  for (;;) {
    try {
      return join(realpathSync(at), ...rest.reverse());
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if ((code !== 'ENOENT' && code !== 'ENOTDIR') || dirname(at) === at) throw error;
      rest.push(basename(at));
      at = dirname(at);
    }
  }
}

function tryStat(path: string, follow = true): Stats | undefined {
  try {
    return follow ? statSync(path) : lstatSync(path);
  } catch {
    return undefined;
  }
}

/** Mount points, from the kernel's table (Linux); empty where there is none. */
function mountPoints(): Set<string> {
  try {
    const unescape = (s: string) => s.replace(/\\([0-7]{3})/g, (_m, octal: string) => String.fromCharCode(parseInt(octal, 8)));
    return new Set(readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter(Boolean).map((line) => unescape(line.split(' ')[4] ?? '')));
  } catch {
    return new Set();
  }
}

/**
 * Resolves out/ to the directory that will really be replaced, or refuses it. Usage errors (exit 2): out/ names a
 * file or a path under one, `/`, the home directory, a directory with `.git` (a repository), an ancestor of the
 * cluster file's directory, or that directory itself when it holds anything but the cluster file and what we wrote.
 * A state error (exit 1): a symbolic link to nowhere.
 */
export function resolveOut(outDir: string, configPath: string, shown: string): OutTarget {
  const given = resolve(outDir);
  const usage = (why: string) => new OutRefused(`--out ${shown}: ${why}`, true);
  const link = tryStat(given, false);
  if (link?.isSymbolicLink() && !tryStat(given)) {
    throw new OutRefused(`${shown} is a symbolic link to ${readlinkSync(given)}, which does not exist: create that directory or remove the link, and run again.`);
  }
  // The nearest existing ancestor must be a directory: `--out notes.txt/out` names a path under a file.
  for (let at = given; ; at = dirname(at)) {
    const stat = tryStat(at);
    if (stat) {
      if (!stat.isDirectory()) throw usage(at === given ? 'is a file, not a directory' : `${at} is a file, so ${shown} cannot be a directory: choose another --out`);
      break;
    }
    if (tryStat(at, false)?.isSymbolicLink()) throw new OutRefused(`${at} is a symbolic link to ${readlinkSync(at)}, which does not exist: create that directory or remove the link, and run again.`);
    if (dirname(at) === at) break;
  }
  const real = realPath(given);
  const configDir = realPath(dirname(resolve(configPath)));
  const remedy = `choose a directory of its own for the output, such as ${join(relative(process.cwd(), dirname(resolve(configPath))) || '.', 'out')}`;
  if (real === sep) throw usage(`is the root directory: ${remedy}.`);
  if (real === realPath(homedir())) throw usage(`is your home directory: ${remedy}.`);
  if (existsSync(join(real, '.git'))) throw usage(`holds .git: it is a repository, not an output directory (etcd-bootstrap would take over its files): ${remedy}.`);
  if (configDir.startsWith(real.endsWith(sep) ? real : real + sep)) throw usage(`holds the cluster file's directory, not only output: ${remedy}.`);
  if (configDir === real) {
    let record: Recorded | undefined;
    try {
      record = readRecord(readOut(real, shown), shown);
    } catch {
      record = undefined;
    }
    const others = readdirSync(real).filter((name) => name !== basename(configPath) && name !== RECORD_NAME && !record?.has(name));
    if (others.length > 0) throw usage(`is the cluster file's own directory, and it holds other things (${others.slice(0, 3).join(', ')}${others.length > 3 ? ', …' : ''}): ${remedy}.`);
  }
  return { real, shown };
}

/** Refuses an out/ that cannot be renamed: a mount point (of another file system, or a bind mount). */
export function assertReplaceable(target: OutTarget): void {
  const stat = tryStat(target.real);
  if (stat && (tryStat(dirname(target.real))?.dev !== stat.dev || mountPoints().has(target.real))) {
    throw new OutRefused(`${target.shown}/ is a mount point: etcd-bootstrap replaces ${target.shown}/ by renaming a new directory into its place, which a mount point does not allow. Give --out a directory inside the mount, and run again. ${target.shown}/ is unchanged.`);
  }
}

/**
 * Whether `path` (the private key) is, or would be, inside out/: by real path (every symbolic link resolved), and by
 * device and inode of each of its directories (a bind mount shows one directory under two paths).
 */
export function reachesOut(path: string, target: OutTarget): boolean {
  const real = realPath(path);
  if (real === target.real || real.startsWith(target.real + sep)) return true;
  const out = tryStat(target.real);
  if (!out) return false;
  for (let at = real; ; at = dirname(at)) {
    const stat = tryStat(at);
    if (stat && sameFile(stat, out)) return true;
    if (dirname(at) === at) return false;
  }
}

/** The private key's identity, to recognise a hard link to it; undefined when it does not exist here. */
export function identityOf(path: string): Identity | undefined {
  const stat = tryStat(path);
  return stat?.isFile() ? { dev: stat.dev, ino: stat.ino } : undefined;
}

// ---------------------------------------------------------------------------------------------------------------
// Runs: who is alive, the lock, and what a dead run left behind.

/** A process's start time (clock ticks since boot, /proc/PID/stat field 22): with the pid, it names one run. */
function startTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: count fields from the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/** A run, as `PID-START`: the suffix of every name it creates beside out/, and what its lock holds. */
export const runName = (pid: number): string => `${pid}-${startTime(pid) ?? '0'}`;
const self = runName(process.pid);

/** Whether the run named `PID-START` (or a bare PID, from an older version) is still alive. */
function runAlive(run: string): boolean {
  const [pidText, start] = run.split('-');
  const pid = Number(pidText);
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  // The pid is in use: by the same run only if it started at the same moment (a pid is reused after a death).
  const now = startTime(pid);
  return start === undefined || start === '0' || now === undefined || now === start;
}

const sibling = (target: OutTarget, what: string, run = self) => join(dirname(target.real), `.${basename(target.real)}.${what}-${run}`);
const lockPath = (target: OutTarget) => join(dirname(target.real), `.${basename(target.real)}.lock`);

/** Entries beside out/ that a run creates: .out.new-RUN, .out.old-RUN, and .out.lock-RUN (a lock being taken). */
function leftovers(target: OutTarget): { path: string; what: 'new' | 'old' | 'lock'; run: string }[] {
  const parent = dirname(target.real);
  if (!existsSync(parent)) return [];
  const pattern = new RegExp(`^\\.${basename(target.real).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.(new|old|lock)-(\\d+(?:-\\d+)?)$`);
  return readdirSync(parent).flatMap((name) => {
    const match = pattern.exec(name);
    return match ? [{ path: join(parent, name), what: match[1] as 'new' | 'old' | 'lock', run: match[2]! }] : [];
  });
}

export class OutBusy extends OutRefused {}

export interface Lock {
  /** What taking the lock did that the user should know: a dead run's lock taken over. */
  notes: string[];
  /** Throws when the lock is no longer ours (a stale-lock breaker took it): nothing may move then. */
  verify: () => void;
  release: () => void;
}

const sleep = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

/**
 * Takes the lock on out/: `.out.lock` beside it, holding `PID-START` of its holder. The content is written under a
 * name of our own first and linked into place, so a lock is never seen half-written. A lock whose holder is dead is
 * moved aside and removed; one whose holder is alive is waited for, up to `waitMs`, then refused naming the holder.
 */
export function lockOut(target: OutTarget, waitMs = 5_000): Lock {
  const lock = lockPath(target);
  const mine = sibling(target, 'lock');
  const deadline = Date.now() + waitMs;
  const cannot = (error: unknown) =>
    new OutRefused(`cannot create a lock beside ${target.shown}/ in ${dirname(target.real)} (${(error as NodeJS.ErrnoException).code}): etcd-bootstrap builds the new ${target.shown}/ beside the old one, so that directory must be writable. Make it writable or choose another --out. ${target.shown}/ is unchanged.`);
  try {
    mkdirSync(dirname(target.real), { recursive: true });
    const fd = openSync(mine, 'w', 0o644);
    try {
      writeSync(fd, `${self}\n`);
    } finally {
      closeSync(fd);
    }
  } catch (error) {
    throw cannot(error);
  }
  const ours = lstatSync(mine).ino;
  const notes: string[] = [];
  try {
    for (;;) {
      try {
        linkSync(mine, lock);
        break;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw cannot(error);
      }
      let holder = '';
      let ino = 0;
      try {
        const fd = openSync(lock, 'r');
        try {
          ino = fstatSync(fd).ino;
          holder = readFileSync(fd, 'utf8').trim();
        } finally {
          closeSync(fd);
        }
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue; // released in between: try again
        throw new OutRefused(`${lock} is not a lock etcd-bootstrap took (${(error as NodeJS.ErrnoException).code}): remove it, and run again. ${target.shown}/ is unchanged.`);
      }
      if (runAlive(holder)) {
        if (Date.now() >= deadline) {
          throw new OutBusy(`${target.shown}/ is being generated by another etcd-bootstrap run (pid ${holder.split('-')[0]}, lock ${lock}); waited ${waitMs >= 1000 ? `${Math.round(waitMs / 1000)} s` : `${waitMs} ms`}. Run again when it has finished. ${target.shown}/ is unchanged.`);
        }
        sleep(20 + Math.random() * 30);
        continue;
      }
      if (breakStale(lock, ino)) notes.push(`took over the lock on ${target.shown}/ from an earlier run (pid ${holder.split('-')[0] || '?'}) that had died holding it`);
    }
  } finally {
    rmSync(mine, { force: true });
  }
  return {
    notes,
    verify: () => {
      if (tryStat(lock, false)?.ino !== ours) throw new OutBusy(`${target.shown}/: another etcd-bootstrap run took the lock over; ${target.shown}/ is unchanged. Run again.`);
    },
    release: () => {
      if (tryStat(lock, false)?.ino === ours) rmSync(lock, { force: true });
    },
  };
}

/**
 * Removes the lock a dead run left, and only it. Renaming is atomic, so the stale lock is first moved to a name of
 * our own; if what moved is not the stale lock (another run broke it and took the lock in between), it is linked
 * back unless yet another lock took its place (then its holder finds out through verify() and stops). Returns
 * whether it removed the stale lock.
 */
function breakStale(lock: string, ino: number): boolean {
  const aside = `${lock}.stale-${self}`;
  try {
    renameSync(lock, aside);
  } catch {
    return false; // already gone
  }
  const stale = lstatSync(aside).ino === ino;
  if (!stale) {
    try {
      linkSync(aside, lock);
    } catch {
      // a newer lock is in place: the run whose lock we moved stops at its verify()
    }
  }
  rmSync(aside, { force: true });
  return stale;
}

/**
 * Finish or undo a replacement that a dead run interrupted; call it holding the lock. A `.out.old-RUN` beside a
 * missing out/ is the complete previous out/ (the run died between the two renames): it goes back. A `.out.new-RUN`
 * may be half-written: it goes. Only leftovers of runs that are dead are touched. Returns what it did, for the user.
 */
export function recover(target: OutTarget): string[] {
  const notes: string[] = [];
  const dead = leftovers(target).filter((l) => l.run !== self && !runAlive(l.run));
  const old = dead.filter((l) => l.what === 'old').sort((a, b) => statSync(a.path).mtimeMs - statSync(b.path).mtimeMs);
  if (!existsSync(target.real) && old.length > 0) {
    renameSync(old[old.length - 1]!.path, target.real);
    notes.push(`restored ${target.shown}/, which an interrupted run had left moved aside`);
  }
  for (const stale of dead) {
    if (!existsSync(stale.path)) continue;
    rmSync(stale.path, { recursive: true, force: true });
    if (stale.what !== 'lock') notes.push(`removed a half-${stale.what === 'new' ? 'built' : 'removed'} copy of ${target.shown}/ that an interrupted run left beside it`);
  }
  for (const name of existsSync(dirname(target.real)) ? readdirSync(dirname(target.real)) : []) {
    // A lock moved aside by a breaker that died before removing it.
    const match = new RegExp(`^\\.${basename(target.real).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.lock\\.stale-(\\d+-\\d+)$`).exec(name);
    if (match && !runAlive(match[1]!)) rmSync(join(dirname(target.real), name), { force: true });
  }
  return notes;
}

// ---------------------------------------------------------------------------------------------------------------
// Writing.

/** Write one file durably with its mode, whatever the umask. */
function writeFileDurably(path: string, content: Buffer | string, mode: number): void {
  mkdirSync(dirname(path), { recursive: true });
  const fd = openSync(path, 'wx', mode);
  try {
    // open() applies the umask to the mode; out/ is committed, so its modes must not depend on the umask.
    fchmodSync(fd, mode);
    const bytes = typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
    let written = 0;
    while (written < bytes.length) written += writeSync(fd, bytes, written, bytes.length - written);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function fsyncDirectory(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

interface WriteHooks {
  /** Called before each file is written; tests use it to make a write fail. */
  beforeWrite?: (path: string) => void;
  /** Called just before the swap; the lock's verify(). */
  beforeSwap?: () => void;
}

/** A failure while writing, told with the out/ path the user gave, never the temporary directory's. */
function told(error: unknown, next: string, target: OutTarget): Error {
  const e = error as NodeJS.ErrnoException & { dest?: string };
  if (error instanceof OutRefused || !e.code) return error as Error;
  const inOut = (path: unknown) => {
    if (typeof path !== 'string') return undefined;
    for (const base of [next, target.real]) if (path.startsWith(base + sep)) return `${target.shown}/${path.slice(base.length + 1)}`;
    return undefined;
  };
  const where = inOut(e.dest) ?? inOut(e.path) ?? `${target.shown}/`;
  return new Error(`could not write ${where} (${e.code}${e.syscall ? ` in ${e.syscall}` : ''}); ${target.shown}/ is unchanged.`);
}

/**
 * Replace out/ with the files we write, plus every entry it holds that is not ours (files, symbolic links and
 * directories, copied as they are). Assumes `survey` found something to do and nothing in the way. On any failure
 * before the swap, out/ is untouched and the half-built directory is removed. Returns notes for the user.
 */
export function replaceOut(target: OutTarget, files: readonly RenderedFile[], owned: readonly string[], hooks: WriteHooks = {}): string[] {
  const dir = target.real;
  const next = sibling(target, 'new');
  const skip = new Set(owned.map((p) => join(dir, p)));
  try {
    rmSync(next, { recursive: true, force: true });
    // Start from a copy of the current out/ without our files, so that what is not ours survives byte for byte.
    if (existsSync(dir)) cpSync(dir, next, { recursive: true, verbatimSymlinks: true, preserveTimestamps: true, filter: (source) => !skip.has(source) });
    else mkdirSync(next, { recursive: true, mode: 0o755 });
    for (const file of files) {
      hooks.beforeWrite?.(file.path);
      writeFileDurably(join(next, file.path), file.content, file.mode);
    }
    fsyncDirectory(next);
    hooks.beforeSwap?.();
  } catch (error) {
    rmSync(next, { recursive: true, force: true });
    throw told(error, next, target);
  }
  if (existsSync(dir)) {
    const old = sibling(target, 'old');
    try {
      renameSync(dir, old);
    } catch (error) {
      rmSync(next, { recursive: true, force: true });
      throw told(error, next, target);
    }
    try {
      renameSync(next, dir);
    } catch (error) {
      renameSync(old, dir);
      rmSync(next, { recursive: true, force: true });
      throw told(error, next, target);
    }
    // The old out/ is only a copy now: a failure to remove it loses nothing, and the next run tries again.
    try {
      rmSync(old, { recursive: true, force: true, maxRetries: 2 });
    } catch (error) {
      return [`${target.shown}/ is written, but the previous one beside it could not be removed (${(error as NodeJS.ErrnoException).code}); the next run removes it.`];
    }
  } else {
    renameSync(next, dir);
  }
  fsyncDirectory(dirname(dir));
  return [];
}
