// members.sh --dry-run on a live world of the kubelet stand-in (test/support/kubelet.ts): what it must print (the plan,
// then every command --apply would run), and what it must leave as it was (every file and directory on every master,
// the running etcd processes, and the member list).
import { hostsSnapshot } from './transport.js';
import { check, indent, type RunResult } from './live-cluster.js';
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
  const files = Object.fromEntries(Object.entries(hostsSnapshot(live.world)).filter(([path]) => !/\/fs\/var\/lib\/etcd\/|\/kubelet\//.test(path)));
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
