// A stand-in for docker on the stand-in transport's fake masters (test/support/transport.ts) that runs the real
// etcdctl, for scripts that change a live cluster of the kubelet stand-in (test/support/kubelet.ts) through
// verify.via "docker", the tutorial profile's way: `docker run --rm --net=host -v DIR:DIR:ro -e ETCDCTL_API=3 IMAGE
// /usr/local/bin/etcdctl ARGS`. (The world's own docker stand-in only answers verify.sh from canned text.)
// dockerForNamespaces is the same docker for the real-sshd world's masters (test/support/sshd.ts, ownNetworks).
//
// Strict, as docker is: only `run`, with the options docker run has and these scripts use (each command line is
// also given to the real docker client in the tests that use it, which parses every flag before it looks for a
// daemon); only root may use it (the daemon's socket is root's); the image must be cluster.json's; the container
// has only the host's network with --net=host, only the environment given with -e (etcdctl of etcd 3.3 and before
// speaks the v2 API without ETCDCTL_API=3), and sees the master's files only through the -v mounts: a certificate
// path outside them is not found.
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REMOTE_LOG, type World } from './transport.js';

export interface DockerOptions {
  /** The directory of the etcdctl the image has (/usr/bin for Debian's 3.4). */
  etcdBin: string;
  /** cluster.json's etcd.image. */
  image: string;
}

const q = (word: string) => `'${word.replace(/'/g, `'\\''`)}'`;

const NOT_ROOT = "echo 'permission denied while trying to connect to the Docker daemon socket at unix:///var/run/docker.sock' >&2";

export function installDocker(world: World, options: DockerOptions): void {
  const text = dockerText(
    options,
    // The stand-in sudo sets SUDO_USER: without it, the caller is not root.
    String.raw`${REMOTE_LOG}
remote_log docker "$@"
if [[ -z ${'$'}{SUDO_USER:-} ]]; then
  ${NOT_ROOT}
  exit 1
fi`,
  );
  const file = join(world.dir, 'remote-bin', 'docker');
  writeFileSync(file, text);
  chmodSync(file, 0o755);
}

/**
 * docker for the real-sshd world (test/support/sshd.ts), where each master is a mount namespace of its own with real
 * sudo: only root may use it; the container's --net=host is the caller's network namespace, its -v mounts the
 * caller's mount namespace's paths.
 */
export function dockerForNamespaces(options: DockerOptions): string {
  return dockerText(options, String.raw`if [[ $(id -u) != 0 ]]; then
  ${NOT_ROOT}
  exit 1
fi`);
}

/** The stand-in's text: `prelude` (bash run first: who may call it), then docker run, the same in every world. */
function dockerText(options: DockerOptions, prelude: string): string {
  return String.raw`#!/bin/bash
# Stand-in for docker: see test/support/docker.ts.
set -euo pipefail
${prelude}
image=${q(options.image)}
if [[ ${'$'}{1:-} != run ]]; then
  printf 'docker stand-in: only "docker run" is supported, got "docker %s"\n' "$*" >&2
  exit 1
fi
shift
net_host=no mounts=() envs=()
while (($#)); do
  case $1 in
    --rm) ;;
    --net=host | --network=host) net_host=yes ;;
    -v | --volume) mounts+=("${'$'}{2:?}"); shift ;;
    -e | --env) envs+=("${'$'}{2:?}"); shift ;;
    -*) printf 'docker stand-in: option %s is not supported\n' "$1" >&2; exit 125 ;;
    *) break ;;
  esac
  shift
done
if [[ ${'$'}{1:-} != "$image" ]]; then
  printf 'docker: expected the image %s from cluster.json, got "%s"\n' "$image" "${'$'}{1:-}" >&2
  exit 125
fi
if [[ ${'$'}{2:-} != /usr/local/bin/etcdctl ]]; then
  printf 'docker: only /usr/local/bin/etcdctl is in the stand-in image %s, got "%s"\n' "$image" "${'$'}{2:-}" >&2
  exit 127
fi
shift 2
if [[ $net_host != yes ]]; then
  echo 'docker stand-in: without --net=host the container has its own loopback and cannot reach the members' >&2
  exit 1
fi
api=
for e in "${'$'}{envs[@]}"; do if [[ $e == ETCDCTL_API=* ]]; then api=${'$'}{e#*=}; fi; done
if [[ $api != 3 ]]; then
  echo 'docker stand-in: the etcdctl of etcd 3.3 and before speaks the v2 API unless run with -e ETCDCTL_API=3' >&2
  exit 1
fi
# The container sees host files only through -v HOST:CONTAINER[:ro]: each path argument mapped back, or not found.
# Paths are an option's value (--cacert=/…) or, for snapshot, a word of its own; the words of a key-value command
# (get, put, lease…) are keys and values, which may start with / as well.
command=
for arg in "$@"; do
  if [[ $arg != -* ]]; then command=$arg; break; fi
done
args=()
for arg in "$@"; do
  path=$arg
  if [[ $arg == --*=* ]]; then
    path=${'$'}{arg#*=}
  elif [[ " get put del lease watch txn lock elect " == *" $command "* ]]; then
    path=
  fi
  if [[ $path == /* ]]; then
    found=
    for mount in "${'$'}{mounts[@]}"; do
      IFS=: read -r host_path container_path _ <<<"$mount"
      if [[ $path == "$container_path" || $path == "$container_path"/* ]]; then found=$host_path${'$'}{path#"$container_path"}; fi
    done
    if [[ -z $found || ! -e $found ]]; then
      printf 'etcdctl: %s: no such file or directory in the container (mounted: %s)\n' "$path" "${'$'}{mounts[*]:-nothing}" >&2
      exit 1
    fi
    arg=${'$'}{arg%"$path"}$found
  fi
  args+=("$arg")
done
exec env -i PATH=/usr/local/bin:/usr/bin:/bin HOME=/root "${'$'}{envs[@]}" ${q(options.etcdBin)}/etcdctl "${'$'}{args[@]}"
`;
}
