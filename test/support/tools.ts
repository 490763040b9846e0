// Tests that need an outside tool (etcd, shellcheck, openssl, bash) ask for it here. On a developer's machine a
// missing tool skips the test with a loud notice; under CI=true it fails the test, because CI installs them all.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

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
