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

export function installCrictl(world: World, options: CrictlOptions): void {
  const q = (word: string) => `'${word.replace(/'/g, `'\\''`)}'`;
  const text = String.raw`#!/usr/bin/env bash
# Stand-in for crictl: see test/support/crictl.ts.
set -euo pipefail
${REMOTE_LOG}
remote_log crictl "$@"
if [[ -z ${'$'}{SUDO_USER:-} ]]; then
  echo 'crictl: validate service connection: dial unix /run/containerd/containerd.sock: connect: permission denied' >&2
  exit 1
fi
host_root=$STANDIN_DIR/hosts/$STANDIN_HOST
id=$(printf '%s' "etcd $STANDIN_HOST" | sha256sum | cut -c1-13)
running() {
  local pid
  pid=$(cat "$host_root/kubelet/etcd.pid" 2>/dev/null) || return 1
  [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null && grep -q etcd "/proc/$pid/cmdline" 2>/dev/null
}
mounts=(${options.mounts.map(q).join(' ')})
seen_in_container() { # PATH: whether the container sees it (under one of the pod's mounts)
  local mount
  for mount in "${'$'}{mounts[@]}"; do
    if [[ $1 == "$host_root/fs/$mount" || $1 == "$host_root/fs/$mount"/* ]]; then return 0; fi
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
    case $tool in
      etcdctl | etcdutl | /usr/local/bin/etcdctl | /usr/local/bin/etcdutl) tool=${'$'}{tool##*/} ;;
      *) printf 'crictl: exec failed: "%s": executable file not found in $PATH\n' "$tool" >&2; exit 127 ;;
    esac
    shift 2
    for arg; do
      path=$arg
      if [[ $arg == --*=* ]]; then path=${'$'}{arg#*=}; fi
      if [[ $path == /* ]] && ! seen_in_container "$path"; then
        printf '%s: %s: no such file or directory in the etcd container (it mounts only %s)\n' "$tool" "$path" "${'$'}{mounts[*]}" >&2
        exit 1
      fi
    done
    exec env -i PATH=/usr/local/bin:/usr/bin:/bin HOME=/root ${q(options.etcdBin)}/"$tool" "$@"
    ;;
  *) printf 'crictl stand-in: only ps and exec are supported, got "crictl %s"\n' "$*" >&2; exit 2 ;;
esac
`;
  const file = join(world.dir, 'remote-bin', 'crictl');
  writeFileSync(file, text);
  chmodSync(file, 0o755);
}
