// Tests that need an outside tool (etcd, shellcheck, openssl, bash) ask for it here. On a developer's machine a
// missing tool skips the test with a loud notice; under CI=true it fails the test, because CI installs them all.
import { spawnSync } from 'node:child_process';

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
