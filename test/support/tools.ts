// Tests that need an outside tool (etcd, shellcheck, openssl, bash) ask for it here. On a developer's machine a
// missing tool skips the test with a loud notice; under CI=true it fails the test, because CI installs them all.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Test } from 'uvu';

export function hasTool(name: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' }).status === 0;
}

/**
 * True when every tool is on PATH. When one is missing: under CI=true it throws (the test fails); elsewhere it
 * prints a notice and returns false, and the test returns early.
 */
export function requireTools(test: string, ...names: string[]): boolean {
  const missing = names.filter((name) => !hasTool(name));
  if (missing.length === 0) return true;
  const message = `${test}: needs ${missing.join(', ')}, not found on PATH (apt-get install etcd-server etcd-client shellcheck openssl)`;
  if (process.env['CI'] === 'true') throw new Error(`${message}; CI must have it`);
  console.error(`\n!!!! SKIPPED ${message} !!!!\n`);
  return false;
}

/** Where scripts/fetch-etcd35.sh leaves etcd 3.5's etcd, etcdctl and etcdutl. */
export const ETCD_35_BIN = join(process.env['ETCD_BOOTSTRAP_CACHE'] ?? join(process.env['XDG_CACHE_HOME'] ?? join(homedir(), '.cache'), 'etcd-bootstrap'), 'etcd-3.5', 'usr', 'bin');

/**
 * The version of the etcd 3.5 in ETCD_35_BIN, e.g. "3.5.30". When it is missing: under CI=true it throws (CI fetches
 * it); elsewhere it prints a notice and returns undefined, and the test returns early.
 */
export function requireEtcd35(test: string): string | undefined {
  const etcd = join(ETCD_35_BIN, 'etcd');
  const version = existsSync(etcd) ? /^etcd Version: (3\.5\.\d+)$/m.exec(spawnSync(etcd, ['--version'], { encoding: 'utf8' }).stdout ?? '')?.[1] : undefined;
  if (version) return version;
  const message = `${test}: etcd 3.5 is not in ${ETCD_35_BIN}: run scripts/fetch-etcd35.sh`;
  if (process.env['CI'] === 'true') throw new Error(`${message}; CI must have it`);
  console.error(`\n!!!! SKIPPED ${message} !!!!\n`);
  return undefined;
}

/** What `needs` names that this machine lacks: commands on PATH, absolute paths, and 'etcd 3.5' (ETCD_35_BIN). */
export function lacking(needs: readonly string[]): string[] {
  return needs.filter((need) => {
    if (need === ETCD_35) return !existsSync(join(ETCD_35_BIN, 'etcd')) || !existsSync(join(ETCD_35_BIN, 'etcdctl'));
    if (need.startsWith('/')) return !existsSync(need);
    return !hasTool(need);
  });
}
/** In `needs`: etcd 3.5's etcd and etcdctl in ETCD_35_BIN (scripts/fetch-etcd35.sh). */
export const ETCD_35 = 'etcd 3.5';

/**
 * The uvu suite `test` when this machine has everything in `needs`. Otherwise one that registers every test of
 * the suite as skipped (uvu counts them under Skipped) and runs none of its hooks, after one loud notice of what is
 * missing and what installs it: a suite whose cluster cannot start is skipped whole, not failed test by test.
 * Under CI=true a lack is an error instead: CI installs everything (scripts/test-machine.sh).
 */
export function needing<T>(test: Test<T>, needs: readonly string[]): Test<T> {
  return skippedWhen(test, lacking(needs));
}

/** `needing`, for a suite that works out what it lacks itself (root, say): `missing` says what, empty for nothing. */
export function skippedWhen<T>(test: Test<T>, missing: readonly string[]): Test<T> {
  if (missing.length === 0) return test;
  const message = `needs ${missing.join(', ')}, missing here: run scripts/test-machine.sh (as root on Debian it installs them; elsewhere it names the packages)`;
  if (process.env['CI'] === 'true') throw new Error(`${message}; CI must have it`);
  console.error(`\n!!!! SKIPPED, every test of this suite: ${message} !!!!\n`);
  const noHook = Object.assign(() => {}, { each: () => {} });
  const skip = (name: string) => test.skip(name);
  return Object.assign(skip, { before: noHook, after: noHook, only: skip, skip, run: () => test.run() }) as unknown as Test<T>;
}
