#!/usr/bin/env bash
# What the tests need from this machine, in one place: `npm test` runs this first, and so does .ci/run.
#
# As root on Debian (apt-get present) it installs every missing package with apt-get and fetches etcd 3.5 for the
# kubeadm profile's live suites (scripts/fetch-etcd35.sh: into ~/.cache/etcd-bootstrap, once; the machine's apt
# set-up is not touched), so that a newcomer's `npm test` skips nothing. Anywhere else it names what is missing and
# the command that installs it, and the suites that need it are skipped, loudly (under CI=true they fail instead).
# Nothing is installed when nothing is missing: a second run only looks.
#
# --all: install every package of the list, present or not (.ci/run on a fresh machine: `apt-get install -y` of
# all of them, so a package that is there but broken is repaired too).
set -euo pipefail
cd "$(dirname "$0")/.."

# What a test runs → the Debian package that has it. Why each is needed:
#   etcd-server, etcd-client   the live suites run real etcd 3.4 members and etcdctl
#   shellcheck                 every emitted script is linted
#   openssl                    the tests make their own CA and certificates (and certs.sh runs it)
#   openssh-server, sudo       test/sshd.test.ts and the other real-sshd suites run the scripts against one sshd per node
#   util-linux, iproute2       unshare, nsenter, setpriv; ss and ip: simulated masters in namespaces of their own,
#                              and the test runner puts every suite in a network namespace of its own
#   systemd, tzdata            systemd-analyze verifies the backup timer and judges backup.schedule's calendar events
#                              (with tzdata it reads "daily Europe/Berlin" as a time zone, which generate refuses)
#   perl, git                  used by the backup and certificate suites
needs=(
  etcd:etcd-server
  etcdctl:etcd-client
  shellcheck:shellcheck
  openssl:openssl
  /usr/sbin/sshd:openssh-server
  ssh:openssh-client
  ssh-keygen:openssh-client
  sudo:sudo
  unshare:util-linux
  nsenter:util-linux
  setpriv:util-linux
  ss:iproute2
  ip:iproute2
  systemd-analyze:systemd
  /usr/share/zoneinfo/Europe/Berlin:tzdata
  perl:perl
  git:git
)

have() {
  if [[ $1 == /* ]]; then [[ -e $1 ]]; else command -v "$1" >/dev/null 2>&1; fi
}

all=no
if [[ ${1:-} == --all ]]; then all=yes; fi

missing=() packages=()
for need in "${needs[@]}"; do
  what=${need%%:*} package=${need#*:}
  if [[ $all == yes ]] || ! have "$what"; then
    if [[ $all == no ]]; then missing+=("$what"); fi
    if [[ " ${packages[*]} " != *" $package "* ]]; then packages+=("$package"); fi
  fi
done

fetch_etcd35=(scripts/fetch-etcd35.sh)
etcd35_present() { "${fetch_etcd35[@]}" --check >/dev/null 2>&1; }

can_install=no
if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null 2>&1 && command -v dpkg-deb >/dev/null 2>&1; then can_install=yes; fi

if ((${#packages[@]})); then
  if [[ $can_install == yes ]]; then
    if ((${#missing[@]})); then echo "test-machine: installing ${packages[*]} (for ${missing[*]})" >&2; fi
    etcd_was_there=no
    if have etcd; then etcd_was_there=yes; fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${packages[@]}" >/dev/null
    # Debian starts etcd as a service when it installs it; the tests start their own members, and a service left
    # running would hold 2379 on this machine for nothing. Only the one this run started is stopped.
    if [[ $etcd_was_there == no ]]; then
      systemctl stop etcd 2>/dev/null || service etcd stop 2>/dev/null || true
    fi
  else
    echo "test-machine: missing ${missing[*]}: the suites that need them are skipped (under CI=true they fail)." >&2
    echo "  install with: sudo apt-get install -y ${packages[*]}" >&2
  fi
fi

if ! etcd35_present; then
  if [[ $can_install == yes ]] || [[ $(id -u) != 0 && -x /usr/bin/apt-get ]]; then
    # fetch-etcd35.sh needs no root: it downloads into the user's cache with an apt configuration of its own.
    echo 'test-machine: fetching etcd 3.5 for the kubeadm live suites (scripts/fetch-etcd35.sh, cached)' >&2
    "${fetch_etcd35[@]}" >/dev/null || echo 'test-machine: could not fetch etcd 3.5: the etcd 3.5 suites are skipped (under CI=true they fail). Run scripts/fetch-etcd35.sh to see why.' >&2
  else
    echo 'test-machine: etcd 3.5 is missing (Debian only): run scripts/fetch-etcd35.sh; the etcd 3.5 suites are skipped' >&2
  fi
fi
