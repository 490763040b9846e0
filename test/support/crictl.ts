// A stand-in for crictl on the stand-in transport's fake masters (test/support/transport.ts), backed by the kubelet
// stand-in (test/support/kubelet.ts): the etcd container runs exactly while the etcd that the kubelet stand-in last
// started for that master runs (hosts/HOST/kubelet/etcd.pid).
//
// What it does is crictl's, as documented (https://github.com/kubernetes-sigs/cri-tools/blob/master/docs/crictl.md,
// and `crictl ps --help`, `crictl exec --help`): `ps` filters containers by --name (a regular expression) and --state,
// and prints only IDs with -q/--quiet; `exec CONTAINER COMMAND [ARG…]` runs COMMAND in the container and exits with
// its status. crictl talks to the runtime's socket, which only root may open: without sudo it fails. No crictl is
// packaged for Debian, so it cannot be compared with the real one here: the stand-in is strict instead, and refuses
// every other call.
//
// The container is etcd's image (registry.k8s.io/etcd): etcdctl and etcdutl in /usr/local/bin (on its PATH), no
// shell. It sees the master's files only through the pod's hostPath mounts, at their own paths: `mounts`, relative
// to the master's root. An argument naming a path outside them is refused as the container would not find it.
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REMOTE_LOG, type World } from './transport.js';

export interface CrictlOptions {
  /** The directory holding the etcdctl and etcdutl that the etcd image has. */
  etcdBin: string;
  /** The pod's hostPath mounts, relative to a master's root (e.g. "etc/etcd", "var/lib/etcd"). */
  mounts: string[];
}

const q = (word: string) => `'${word.replace(/'/g, `'\\''`)}'`;

/**
 * How a crictl stand-in knows its world: `prelude` (bash run first: who may call it), `running` (the body of a bash
 * function that succeeds while the etcd container runs), `id` (a bash expression for its ID), `mounts` (a bash
 * expression for one of the pod's mounts as a path here, given $mount), and the tools the image has, in `bin`.
 */
interface CrictlWorld {
  prelude: string;
  running: string;
  id: string;
  mounts: string[];
  mountPath: string;
  bin: string;
  tools: string[];
}

/** crictl's `ps` and `exec`, the same in every world: only what the scripts call, strictly. */
function crictlText(world: CrictlWorld): string {
  return String.raw`#!/bin/bash
# Stand-in for crictl: see test/support/crictl.ts.
set -euo pipefail
${world.prelude}
running() {
${world.running}
}
# A container ID as crictl prints it (13 hex digits), the same for the same container every time: FNV-1a of its
# name, in bash's arithmetic (no process to start).
container_id() {
  local text=$1 hash=$((0xcbf29ce484222325)) i char
  for ((i = 0; i < ${'$'}{#text}; i++)); do
    printf -v char '%d' "'${'$'}{text:i:1}"
    hash=$(((hash ^ char) * 0x100000001b3))
  done
  printf '%013x' $((hash & 0xfffffffffffff))
}
id=${world.id}
mounts=(${world.mounts.map(q).join(' ')})
seen_in_container() { # PATH: whether the container sees it (under one of the pod's mounts)
  local mount
  for mount in "${'$'}{mounts[@]}"; do
    mount=${world.mountPath}
    if [[ $1 == "$mount" || $1 == "$mount"/* ]]; then return 0; fi
  done
  return 1
}
case ${'$'}{1:-} in
  ps)
    shift
    name= state= quiet=no
    while (($#)); do
      case $1 in
        --name) name=${'$'}{2:?}; shift ;;
        --name=*) name=${'$'}{1#*=} ;;
        --state) state=${'$'}{2:?}; shift ;;
        --state=*) state=${'$'}{1#*=} ;;
        -q | --quiet) quiet=yes ;;
        *) printf 'crictl stand-in: ps option %s is not supported\n' "$1" >&2; exit 2 ;;
      esac
      shift
    done
    [[ $quiet == yes ]] || { echo 'crictl stand-in: only "ps --quiet" is supported' >&2; exit 2; }
    [[ $state == running || $state == Running ]] || { echo 'crictl stand-in: only "ps --state running" is supported' >&2; exit 2; }
    if running && [[ etcd =~ $name ]]; then echo "$id"; fi
    ;;
  exec)
    shift
    [[ ${'$'}{1:-} == "$id" ]] || { printf 'crictl: no such container: %s\n' "${'$'}{1:-}" >&2; exit 1; }
    running || { printf 'crictl: container %s is not running\n' "$id" >&2; exit 1; }
    tool=${'$'}{2:-}
    case " ${world.tools.join(' ')} " in
      *" ${'$'}{tool##*/} "*) if [[ $tool == */* && $tool != /usr/local/bin/* ]]; then tool=; fi ;;
      *) tool= ;;
    esac
    if [[ -z $tool ]]; then printf 'crictl: exec failed: "%s": executable file not found in $PATH\n' "${'$'}{2:-}" >&2; exit 127; fi
    tool=${'$'}{tool##*/}
    shift 2
    # Paths are an option's value (--cacert=/…) or, for snapshot and the data tools, a word of their own; the words
    # of a key-value command (get, put, lease…) are keys and values, which may start with / as well.
    command=
    for arg; do
      if [[ $arg != -* ]]; then command=$arg; break; fi
    done
    for arg; do
      path=$arg
      if [[ $arg == --*=* ]]; then
        path=${'$'}{arg#*=}
      elif [[ $tool == etcdctl && " get put del lease watch txn lock elect " == *" $command "* ]]; then
        continue
      fi
      if [[ $path == /* ]] && ! seen_in_container "$path"; then
        printf '%s: %s: no such file or directory in the etcd container (it mounts only %s)\n' "$tool" "$path" "${'$'}{mounts[*]}" >&2
        exit 1
      fi
    done
    exec env -i PATH=/usr/local/bin:/usr/bin:/bin HOME=/root ${q(world.bin)}/"$tool" "$@"
    ;;
  *) printf 'crictl stand-in: only ps and exec are supported, got "crictl %s"\n' "$*" >&2; exit 2 ;;
esac
`;
}

const NOT_ROOT = "echo 'crictl: validate service connection: dial unix /run/containerd/containerd.sock: connect: permission denied' >&2";

/** crictl on the stand-in transport's fake masters, backed by the kubelet stand-in's pid file. */
export function installCrictl(world: World, options: CrictlOptions): void {
  const text = crictlText({
    // The stand-in sudo sets SUDO_USER: without it, the caller is not root.
    prelude: String.raw`${REMOTE_LOG}
remote_log crictl "$@"
if [[ -z ${'$'}{SUDO_USER:-} ]]; then
  ${NOT_ROOT}
  exit 1
fi
host_root=$STANDIN_DIR/hosts/$STANDIN_HOST`,
    // Read with bash's own read, not cat and grep: the scripts call crictl hundreds of times a suite.
    running: String.raw`  local pid= comm=
  { read -r pid <"$host_root/kubelet/etcd.pid"; } 2>/dev/null || [[ -n $pid ]] || return 1
  [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null && { read -r comm <"/proc/$pid/comm"; } 2>/dev/null && [[ $comm == etcd* ]]`,
    id: String.raw`$(container_id "etcd $STANDIN_HOST")`,
    mounts: options.mounts,
    mountPath: '$host_root/fs/$mount',
    bin: options.etcdBin,
    tools: ['etcdctl', 'etcdutl'],
  });
  const file = join(world.dir, 'remote-bin', 'crictl');
  writeFileSync(file, text);
  chmodSync(file, 0o755);
}

/**
 * crictl for the real-sshd world (test/support/sshd.ts), where each master is a mount namespace of its own with
 * real sudo: the etcd container is the etcd process that runs in the caller's mount namespace (started by the test
 * from the placed manifest, as kubelet would). Only root may use it, as only root may open the runtime's socket.
 * `exec` runs the host's etcdctl as root in that namespace (the image's etcdctl, with the pod's hostPath mounts,
 * which are at their own paths), refusing a path outside `mounts` (absolute paths in the master).
 */
export function crictlForNamespaces(options: { etcdctl: string; mounts: string[] }): string {
  const slash = options.etcdctl.lastIndexOf('/');
  return crictlText({
    prelude: String.raw`if [[ $(id -u) != 0 ]]; then
  ${NOT_ROOT}
  exit 1
fi
mine=$(readlink /proc/self/ns/mnt)`,
    // -ef: the same namespace (one nsfs inode), without a readlink and a cat per process.
    running: String.raw`  local dir comm
  for dir in /proc/[0-9]*; do
    { read -r comm <"$dir/comm"; } 2>/dev/null || continue
    if [[ $comm == etcd && $dir/ns/mnt -ef /proc/self/ns/mnt ]]; then return 0; fi
  done
  return 1`,
    id: String.raw`$(container_id "$mine")`,
    mounts: options.mounts,
    mountPath: '$mount',
    bin: options.etcdctl.slice(0, slash),
    tools: [options.etcdctl.slice(slash + 1)],
  });
}
