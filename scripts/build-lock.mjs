// One build of dist/ at a time. Two `npm run generate` runs that both find the sources changed would otherwise both
// run the compiler into the same dist/, each overwriting the other's files while the other still reads them. The
// first takes the lock `.dist.lock` beside dist/ (created with O_EXCL, holding its pid and start time), builds and
// removes it; the second waits for it, then checks the stamp again and finds dist/ current. `npm run build` (build.mjs)
// takes the same lock and waits the same way, but then always builds. A lock whose holder is
// gone (a killed run) is taken over. Plain JavaScript, like build-stamp.mjs: it runs before anything is compiled.
import { closeSync, fstatSync, linkSync, openSync, readFileSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { builtFromCurrentSources } from './build-stamp.mjs';

export const buildLockPath = (root) => join(root, '.dist.lock');

/** How long an empty lock is taken for one being written, before it counts as left by a run killed right then. */
const writingMs = 5000;

/** A process's start time (/proc/PID/stat field 22): with the pid, it tells the holder from a later process that got its pid. */
function startOf(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? '0';
  } catch {
    return '0';
  }
}

/** Whether the run a lock names (`PID START`) is alive. */
function alive(holder) {
  const [pidText, start = '0'] = holder.split(' ');
  const pid = Number(pidText);
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (error) {
    if (error.code !== 'EPERM') return false;
  }
  const now = startOf(pid);
  return start === '0' || now === '0' || now === start;
}

/** The lock's content and inode, or undefined when it is gone. */
function readLock(lock) {
  try {
    const fd = openSync(lock, 'r');
    try {
      const stat = fstatSync(fd);
      return { holder: readFileSync(fd, 'utf8').trim(), ino: stat.ino, ageMs: Date.now() - stat.mtimeMs };
    } finally {
      closeSync(fd);
    }
  } catch (error) {
    if (error.code === 'ENOENT') return undefined;
    throw error;
  }
}

/**
 * Removes a dead run's lock, and only it: moved aside first (a rename is atomic), and put back if what moved is not
 * the lock that was read (another waiter took the dead one over and made its own in between).
 */
function takeOver(lock, ino) {
  const aside = `${lock}.stale-${process.pid}`;
  try {
    renameSync(lock, aside);
  } catch {
    return; // gone already
  }
  try {
    if (statSync(aside).ino !== ino) linkSync(aside, lock);
  } catch {
    // Yet another lock is in place: its holder builds, and this run waits for it.
  } finally {
    rmSync(aside, { force: true });
  }
}

const sleep = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

/**
 * Makes dist/ current, building it with `build()` (true when it succeeded) unless another run holds the lock: then
 * waits for that run (saying so once, through `say`) and checks the stamp again. Returns whether dist/ is current.
 * With `always` (`npm run build`: the user asked for a build), it waits for the lock the same way but then builds
 * whatever the stamp says, and returns what `build()` returned.
 */
export function buildOnce(root, build, say, { always = false } = {}) {
  const lock = buildLockPath(root);
  let waiting = false;
  const current = () => !always && builtFromCurrentSources(root);
  for (;;) {
    if (current()) return true;
    let fd;
    try {
      fd = openSync(lock, 'wx', 0o644);
    } catch (error) {
      if (error.code !== 'EEXIST') throw error;
      const held = readLock(lock);
      if (!held) continue;
      if ((held.holder === '' && held.ageMs < writingMs) || (held.holder !== '' && alive(held.holder))) {
        if (!waiting) say(`waiting for the build of dist/ that pid ${held.holder.split(' ')[0] || '?'} is running (${lock})`);
        waiting = true;
        sleep(50);
      } else takeOver(lock, held.ino);
      continue;
    }
    const ours = fstatSync(fd).ino;
    try {
      writeSync(fd, `${process.pid} ${startOf(process.pid)}\n`);
      closeSync(fd);
      // Another run may have finished its build between the check above and this lock.
      if (current()) return true;
      return build() && (always || builtFromCurrentSources(root));
    } finally {
      if (statSync(lock, { throwIfNoEntry: false })?.ino === ours) rmSync(lock, { force: true });
    }
  }
}
