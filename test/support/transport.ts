// The stand-in transport: the scripts in out/ run for real against a stand-in `vagrant`, on fake machines.
//
// The stand-in records every call (argv and standard input) and performs it on a fake machine per host, a
// directory under the test's temporary directory:
//   vagrant scp FILE HOST:NAME        copies FILE to hosts/HOST/home/NAME (the login user's home)
//   vagrant ssh HOST -- COMMAND...    runs COMMAND the way ssh does (joined into one string for `bash -c`), in
//                                     hosts/HOST/home, with a fresh login environment, the script on stdin
// On the fake machines, `sudo` runs its command as the test's user (dropping DEBIAN_FRONTEND, as sudo's env_reset
// does), `apt-get` only records how it was called (and, like the real one, stops at its prompt without -y), `date`
// records the call and prints the date, and `docker` records the call and answers verify.sh's `etcdctl member list`
// and `etcdctl endpoint health` as a healthy cluster matching cluster.json would.
//
// The scripts name absolute remote paths (etcd.certDir, etcd.manifestDir). The test's cluster.json points them
// under <tmp>/remote/, and the stand-in rewrites that prefix to hosts/HOST/fs/ in the script it runs, so each
// host gets its own file system; the call log keeps the script exactly as distribute.sh sent it.
//
// Used by test/scripts.test.ts and test/injection.test.ts.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { parseCluster } from '../../src/load.js';
import { plan } from '../../src/plan.js';
import { runCli, tempDir, writeFile } from './fixtures.js';

export const MASTERS = ['master1', 'master2', 'master3'];
export const WORKERS = ['worker1', 'worker2'];
export const NODES = [...MASTERS, ...WORKERS];

// ---------------------------------------------------------------------------------------------------------------
// The stand-ins. Each is a bash script written into the test's temporary directory.

const VAGRANT = String.raw`#!/usr/bin/env bash
# Stand-in for vagrant (see test/support/transport.ts). Records each call, then performs it on hosts/HOST.
set -euo pipefail
: "${'$'}{STANDIN_DIR:?}"
calls=$STANDIN_DIR/log/calls
mkdir -p "$calls"
id=$(printf '%04d' "$(( $(find "$calls" -name '*.argv' | wc -l) + 1 ))")
printf '%s\0' "$@" >"$calls/$id.argv"
: >"$calls/$id.stdin"

machine() { # NAME: fail as vagrant does for a machine it does not know
  [[ -d $STANDIN_DIR/hosts/$1 ]] && return
  printf "The machine with the name '%s' was not found configured for this Vagrant environment.\n" "$1" >&2
  exit 1
}
fail_if_asked() { # SUBCOMMAND HOST: STANDIN_FAIL="HOST SUBCOMMAND" makes that call fail
  [[ ${'$'}{STANDIN_FAIL:-} == "$2 $1" ]] || return 0
  printf 'stand-in vagrant: %s to %s failed (simulated)\n' "$1" "$2" >&2
  exit 1
}

case ${'$'}{1:-} in
  ssh)
    host=${'$'}{2:?}
    [[ ${'$'}{3:-} == -- && $# -gt 3 ]] || { echo 'stand-in vagrant: only "ssh HOST -- COMMAND..." is supported' >&2; exit 2; }
    shift 3
    machine "$host"
    script=$(cat; printf x)
    script=${'$'}{script%x}
    printf '%s' "$script" >"$calls/$id.stdin"
    fail_if_asked ssh "$host"
    root=$STANDIN_DIR/hosts/$host
    # The rewritten path lands in the script's text, so it must mean nothing to the shell there: a host name that
    # is not a plain word is reached through an alias (a symbolic link named by its hash).
    fs=$root/fs
    if [[ ! $host =~ ^[A-Za-z0-9._-]+$ ]]; then
      fs=$STANDIN_DIR/aliases/$(printf '%s' "$host" | sha256sum | cut -c1-16)
      mkdir -p "$STANDIN_DIR/aliases" "$root/fs"
      ln -sfn "$root/fs" "$fs"
    fi
    script=${'$'}{script//"$STANDIN_DIR/remote/"/"$fs/"}
    cd "$root/home"
    # ssh joins the command's words with spaces and hands the string to the login shell.
    printf '%s' "$script" | env -i HOME="$root/home" USER=vagrant LOGNAME=vagrant SHELL=/bin/bash LANG=C.UTF-8 \
      PATH="$STANDIN_DIR/remote-bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
      STANDIN_DIR="$STANDIN_DIR" STANDIN_HOST="$host" bash -c "$*"
    ;;
  scp)
    [[ $# -eq 3 && $3 == *:* ]] || { echo 'stand-in vagrant: only "scp FILE HOST:NAME" is supported' >&2; exit 2; }
    host=${'$'}{3%%:*}
    name=${'$'}{3#*:}
    machine "$host"
    fail_if_asked scp "$host"
    cp -- "$2" "$STANDIN_DIR/hosts/$host/home/$name"
    ;;
  *)
    echo "stand-in vagrant: unsupported call: vagrant $*" >&2
    exit 2
    ;;
esac
`;

/** Each remote stand-in appends "HOST<TAB>WORD<TAB>WORD..." to log/remote.log. */
const REMOTE_LOG = String.raw`remote_log() { local IFS=$'\t'; printf '%s\t%s\n' "$STANDIN_HOST" "$*" >>"$STANDIN_DIR/log/remote.log"; }`;

const SUDO = String.raw`#!/usr/bin/env bash
# Stand-in for sudo: records the command, runs it as this user without DEBIAN_FRONTEND (sudo's env_reset drops
# it), then records what the manifest directory holds, so the test sees every state kubelet could have seen.
set -uo pipefail
${REMOTE_LOG}
remote_log sudo "$@"
if [[ ${'$'}{1:-} == chown && $(id -u) != 0 ]]; then
  remote_log note 'chown skipped: not root'
  exit 0
fi
env -u DEBIAN_FRONTEND "$@"
status=$?
manifests=$STANDIN_DIR/hosts/$STANDIN_HOST/fs/etc/kubernetes/manifests
if [[ -d $manifests ]]; then
  listing=$(ls -A "$manifests" | tr '\n' ' ')
  remote_log manifests "${'$'}{listing% }"
fi
exit "$status"
`;

const APT_GET = String.raw`#!/usr/bin/env bash
# Stand-in for apt-get: records its arguments and DEBIAN_FRONTEND. Like the real one, "install" without -y asks
# "Do you want to continue? [Y/n]" and reads the answer from standard input (which, under "bash -s", is the rest
# of the script); anything but y aborts.
set -euo pipefail
${REMOTE_LOG}
remote_log apt-get "DEBIAN_FRONTEND=${'$'}{DEBIAN_FRONTEND:-}" "$@"
yes=no
for arg in "$@"; do [[ $arg == -y || $arg == --yes || $arg == --assume-yes ]] && yes=yes; done
if [[ ${'$'}{1:-} == install && $yes == no ]]; then
  printf 'Do you want to continue? [Y/n] '
  answer=
  read -r answer || true
  [[ $answer == [Yy]* ]] || { echo 'Abort.'; exit 1; }
fi
`;

const DATE = String.raw`#!/usr/bin/env bash
${REMOTE_LOG}
remote_log date "$@"
PATH=/usr/bin:/bin exec date "$@"
`;

const DOCKER = String.raw`#!/usr/bin/env bash
# Stand-in for docker: records the call. verify.sh runs etcdctl in the etcd image through it; "member list" and
# "endpoint health" print what a healthy cluster matching cluster.json answers (etcd/ in the test's directory).
set -euo pipefail
${REMOTE_LOG}
remote_log docker "$@"
previous=
for arg in "$@"; do
  case "$previous $arg" in
    'member list') cat "$STANDIN_DIR/etcd/member-list"; exit 0 ;;
    'endpoint health') cat "$STANDIN_DIR/etcd/endpoint-health"; exit 0 ;;
  esac
  previous=$arg
done
echo "stand-in docker: unsupported call: docker $*" >&2
exit 2
`;

// ---------------------------------------------------------------------------------------------------------------
// A world: a Vagrant project with cluster.json and dummy certificates, its generated out/, the fake hosts.

export interface World {
  dir: string;
  project: string;
  /** The project's cluster.json. */
  config: string;
  out: string;
  remove: () => void;
  fs: (host: string, ...path: string[]) => string;
  home: (host: string) => string;
  /** Runs `generate --config <project>/cluster.json --out <out>` in-process; on success, primes the stand-in docker. */
  generate: () => ReturnType<typeof runCli>;
}

export const TLS = { ca: 'ca.pem', cert: 'kubernetes.pem', key: 'kubernetes-key.pem' } as const;
export const dummy = (file: string) => `dummy ${file}: not a real certificate, only bytes to follow\n`;

/** The world's cluster.json before any edit: MASTERS and WORKERS, remote paths under <dir>/remote/. */
export interface ClusterDoc {
  masters: { name: string; ip: string; host: string }[];
  workers: { name: string }[];
  etcd: Record<string, unknown>;
  [key: string]: unknown;
}

export interface WorldOptions {
  /** Changes the cluster before it is written (dir is the world's directory). */
  edit?: (cluster: ClusterDoc, dir: string) => void;
  /** Generate out/ now, and throw if that fails (default). With false, the test calls world.generate() itself. */
  generate?: boolean;
}

export function makeWorld(options: WorldOptions = {}): World {
  const dir = tempDir('scripts');
  const root = dir.path;
  const project = join(root, 'project');
  const cluster: ClusterDoc = {
    masters: MASTERS.map((name, i) => ({ name, ip: `192.168.56.${11 + i}`, host: `${name}.node.local.consul` })),
    workers: WORKERS.map((name) => ({ name })),
    etcd: {
      certDir: `${root}/remote/etc/etcd`,
      manifestDir: `${root}/remote/etc/kubernetes/manifests`,
      dataDir: `${root}/remote/var/lib/etcd`,
    },
  };
  options.edit?.(cluster, root);
  const config = writeFile(join(project, 'cluster.json'), JSON.stringify(cluster, null, 2));
  // Careless local modes, so that the modes on the masters prove distribute.sh sets them. The files go where
  // cluster.json's tls says, when that is a place inside the world a file can be written to.
  const tls = { ...TLS, ...((cluster['tls'] ?? {}) as Record<string, unknown>) };
  for (const [which, careless] of [['ca', 0o600], ['cert', 0o600], ['key', 0o644]] as const) {
    const path = tls[which];
    if (typeof path !== 'string') continue;
    const full = resolve(project, path);
    const inside = relative(root, full);
    if (inside.startsWith('..') || isAbsolute(inside)) continue;
    try {
      writeFile(full, dummy(path.slice(path.lastIndexOf('/') + 1)));
      chmodSync(full, careless);
    } catch {
      // A name the file system refuses (too long, say): distribute.sh will say it cannot read it.
    }
  }

  const out = join(project, 'out');
  const generate = () => {
    const result = runCli(['generate', '--config', config, '--out', out]);
    if (result.code === 0) primeDocker(root, config);
    return result;
  };

  const script = (path: string, text: string) => {
    writeFile(path, text);
    chmodSync(path, 0o755);
  };
  script(join(root, 'bin', 'vagrant'), VAGRANT);
  script(join(root, 'remote-bin', 'sudo'), SUDO);
  script(join(root, 'remote-bin', 'apt-get'), APT_GET);
  script(join(root, 'remote-bin', 'date'), DATE);
  script(join(root, 'remote-bin', 'docker'), DOCKER);
  mkdirSync(join(root, 'log'), { recursive: true });
  // One fake machine per node that cluster.json names (MASTERS and WORKERS unless edited), for names a file
  // system can hold.
  const names = (list: unknown) => (Array.isArray(list) ? list : []).map((n: { name?: unknown }) => n?.name).filter((n): n is string => typeof n === 'string');
  const masters = names(cluster.masters);
  for (const host of new Set([...masters, ...names(cluster.workers)])) {
    if (relative(join(root, 'hosts'), join(root, 'hosts', host)).startsWith('..')) continue;
    try {
      mkdirSync(join(root, 'hosts', host, 'home'), { recursive: true });
      // kubelet's manifest directory exists on a master before etcd is distributed.
      if (masters.includes(host)) mkdirSync(join(root, 'hosts', host, 'fs', 'etc', 'kubernetes', 'manifests'), { recursive: true });
    } catch {
      // Not a name a directory can have: the stand-in vagrant answers that it knows no such machine.
    }
  }
  mkdirSync(join(root, 'elsewhere'));
  const world: World = {
    dir: root,
    project,
    config,
    out,
    remove: dir.remove,
    fs: (host, ...path) => join(root, 'hosts', host, 'fs', ...path),
    home: (host) => join(root, 'hosts', host, 'home'),
    generate,
  };
  if (options.generate ?? true) {
    const generated = generate();
    if (generated.code !== 0) {
      dir.remove();
      throw new Error(`generate failed (exit ${generated.code}):\n${generated.err.join('\n')}`);
    }
  }
  return world;
}

/** What etcdctl answers in a healthy cluster that is exactly as cluster.json says: the stand-in docker's replies. */
function primeDocker(root: string, config: string): void {
  const loaded = parseCluster(readFileSync(config, 'utf8'), config);
  if (!loaded.ok) return;
  const { members } = plan(loaded.cluster, { configName: 'cluster.json', configDirFromOut: '..', outDirFromConfig: 'out' });
  const id = (i: number) => (0x8e9e05c52164694dn + BigInt(i)).toString(16);
  writeFile(join(root, 'etcd', 'member-list'), members.map((m, i) => `${id(i)}, started, ${m.name}, ${m.peerUrl}, ${m.clientUrl}, false\n`).join(''));
  writeFile(join(root, 'etcd', 'endpoint-health'), members.map((m) => `${m.clientUrl} is healthy: successfully committed proposal: took = 2.1ms\n`).join(''));
}

export interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
  /** What a failure message shows. */
  shown: string;
}

/** Runs out/SCRIPT from a directory that is neither out/ nor the project, with the stand-in vagrant first on PATH. */
export function runScript(world: World, script: string, env: Record<string, string> = {}, args: string[] = []): Run {
  const { DEBIAN_FRONTEND: _dropped, ...inherited } = process.env;
  const result = spawnSync(join(world.out, script), args, {
    cwd: join(world.dir, 'elsewhere'),
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...inherited, ...env, PATH: `${join(world.dir, 'bin')}:${process.env['PATH'] ?? '/usr/bin:/bin'}`, STANDIN_DIR: world.dir },
  });
  if (result.error) throw result.error;
  const shown = `exit status ${result.status}\n--- stdout ---\n${result.stdout}--- stderr ---\n${result.stderr}`;
  return { status: result.status, stdout: result.stdout, stderr: result.stderr, shown };
}

export interface Call {
  argv: string[];
  stdin: string;
}

/** Every call of the stand-in vagrant, in order. */
export function calls(world: World): Call[] {
  const dir = join(world.dir, 'log', 'calls');
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.argv'))
    .sort()
    .map((f) => ({
      argv: readFileSync(join(dir, f), 'utf8').split('\0').slice(0, -1),
      stdin: readFileSync(join(dir, f.replace(/\.argv$/, '.stdin')), 'utf8'),
    }));
}

/** The stand-in vagrant calls, one line each, local paths made absolute: what a failure message shows. */
export function callLines(list: Call[]): string[] {
  return list.map(({ argv }) => argv.map((a) => (a.includes('/') ? resolve(a) : a)).join(' '));
}

/** log/remote.log: one array of words per line, the host first. */
export function remoteLog(world: World): string[][] {
  const path = join(world.dir, 'log', 'remote.log');
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8').split('\n').filter(Boolean).map((line) => line.split('\t'));
}

export function clearLogs(world: World): void {
  rmSync(join(world.dir, 'log'), { recursive: true, force: true });
  mkdirSync(join(world.dir, 'log'));
}

/** Every file and directory on every fake host: path → type, mode, owner and content. */
export function hostsSnapshot(world: World): Record<string, string> {
  const state: Record<string, string> = {};
  const walk = (path: string, shown: string) => {
    for (const name of readdirSync(path).sort()) {
      const full = join(path, name);
      const stat = lstatSync(full);
      const key = `${shown}/${name}`;
      const meta = `mode 0${(stat.mode & 0o777).toString(8)} owner ${stat.uid}:${stat.gid}`;
      if (stat.isDirectory()) {
        state[key] = `dir ${meta}`;
        walk(full, key);
      } else state[key] = `file ${meta} ${readFileSync(full, 'utf8')}`;
    }
  };
  walk(join(world.dir, 'hosts'), 'hosts');
  return state;
}
