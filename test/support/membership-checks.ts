// Checks for members.sh on a live world of the kubelet stand-in (test/support/kubelet.ts): what --dry-run must print
// (the plan, then every command --apply would run) and leave as it was (every file and directory on every master,
// the running etcd processes, and the member list); and that etcdctl runs only where verify.via says.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hostsSnapshot } from './transport.js';
import { check, explain, indent, sleep, type RunResult } from './live-cluster.js';
import type { LiveWorld } from './kubelet.js';

export interface Observed {
  files: Record<string, string>;
  pids: string;
  list: string;
}

/**
 * The world as a dry run must leave it. etcd's own data files, which it writes all the time, and the kubelet
 * stand-in's pid file are left out of the files: the running etcd pids are compared instead. `memberList` reads the
 * member list (IDs, names, statuses, learners) as the test sees it.
 */
export async function observe(live: LiveWorld, memberList: () => Promise<unknown>): Promise<Observed> {
  const files = hostsSnapshot(live.world, /\/fs\/var\/lib\/etcd\/|\/kubelet\//);
  return { files, pids: JSON.stringify(live.kubelet.pids()), list: JSON.stringify(await memberList()) };
}

/** Fails naming what changed since `before`: a file or directory on a master, a running etcd, the member list. */
export async function unchangedSince(live: LiveWorld, before: Observed, memberList: () => Promise<unknown>, what: string): Promise<void> {
  const after = await observe(live, memberList);
  const changed = [...new Set([...Object.keys(before.files), ...Object.keys(after.files)])].filter((p) => before.files[p] !== after.files[p]);
  check(changed.length === 0, () => `${what}: no file on any master should change, but these did:\n${indent(changed.join('\n'), 2)}`);
  check(after.pids === before.pids, () => `${what}: no etcd should restart: before ${before.pids}, after ${after.pids}\n${live.kubelet.history()}`);
  check(after.list === before.list, () => `${what}: the member list should stay ${before.list}, but is ${after.list}`);
}

/** A dry run printed, after its plan, every command --apply would run (these among them), and said it changed nothing. */
export function dryRunPrints(run: RunResult, what: string, commands: RegExp[]): void {
  check(run.code === 0, () => `${what}: members.sh --dry-run should succeed, but exited ${run.code}:\n${run.stdout}\n${run.stderr}`);
  for (const pattern of [/The plan \(a dry run: what --apply would do, in this order; nothing is changed\)/, /What --apply would run, step by step/, ...commands, /members: a dry run, nothing was changed/]) {
    check(pattern.test(run.stdout), () => `${what} should print ${pattern}:\n${indent(run.stdout, 2)}`);
  }
}

/**
 * An etcdctl, first on this machine's PATH and on every master's, that logs the call and fails: with verify.via
 * "docker" or "crictl" etcdctl belongs in a container, and any other call shows up in etcdctlOutside().
 */
export function forbidEtcdctlOutside(live: LiveWorld): void {
  const text = `#!/bin/bash
printf '%s %s\\n' "\${STANDIN_HOST:-local}" "$*" >>"$STANDIN_DIR/log/etcdctl-outside-a-container"
echo 'etcdctl: not on this machine: the test allows etcdctl only in the etcd container' >&2
exit 1
`;
  for (const bin of ['bin', 'remote-bin']) writeFileSync(join(live.world.dir, bin, 'etcdctl'), text, { mode: 0o755 });
}

/** The etcdctl calls made outside a container since the logs were last cleared, one a line ("HOST ARGS"). */
export function etcdctlOutside(live: LiveWorld): string {
  const file = join(live.world.dir, 'log', 'etcdctl-outside-a-container');
  return existsSync(file) ? readFileSync(file, 'utf8') : '';
}

/** distribute.sh on a new world, then until the founding members answer endpoint health (30 s at most). */
export async function bootstrap(live: LiveWorld, founders: string[]): Promise<void> {
  const boot = await live.script('distribute.sh');
  check(boot.code === 0, () => `distribute.sh: ${explain(boot)}`);
  const deadline = Date.now() + 30_000;
  while ((await live.etcdctl(['endpoint', 'health'], founders.map(live.clientUrl).join(','))).code !== 0) {
    check(Date.now() < deadline, () => `no healthy cluster within 30 s:\n${live.kubelet.history()}`);
    await sleep(300);
  }
}

export interface Listed {
  id: string;
  name: string;
  status: string;
  learner: boolean;
}

/** `etcdctl member list` through the members of these masters that run. */
export async function memberList(live: LiveWorld, masters: string[]): Promise<Listed[]> {
  const list = await live.etcdctl(['member', 'list'], masters.filter((n) => live.kubelet.pids()[n]).map(live.clientUrl).join(','));
  check(list.code === 0, () => `member list: ${explain(list)}`);
  // The simple format: ID, STATUS, NAME, PEER ADDRS, CLIENT ADDRS, IS LEARNER.
  return list.stdout.split('\n').filter(Boolean).map((line) => {
    const [id = '', status = '', name = '', , , learner = ''] = line.split(', ');
    return { id, name, status, learner: learner === 'true' };
  });
}
