// The stand-in transports: the scripts in out/ run for real against a stand-in `vagrant` (and `ssh`), on fake machines.
//
// One stand-in, installed as bin/vagrant and bin/ssh, records every call (its argv, standard input, start and end
// times) and runs the script it is given on a fake machine per host, a directory under the test's temporary
// directory. The calls it accepts are the only ones the scripts make:
//   vagrant ssh HOST -- bash -euo pipefail -s             runs the script on HOST (a vagrant machine name)
//   ssh [OPTION...] -- ADDRESS bash -euo pipefail -s      runs it on the host whose address is ADDRESS
//                                                         (the world's addresses file: masters[].address, else
//                                                         the master's host, a worker's name)
// The command's words are joined into one string for `bash -c`, as ssh does, and run in hosts/HOST/home with a
// fresh login environment, the script on standard input, TMPDIR=tmp/HOST (so that the test sees the remote
// stage, mktemp -d, removed). Knobs, as environment variables of the script under test:
//   STANDIN_FAIL="HOST ssh[,HOST ssh…]"   the connection to HOST fails before running anything
//   STANDIN_SLEEP=SECONDS                 every connection takes that long to set up
//   STANDIN_SKEW_<HOST>=SECONDS           HOST's clock is that far off (HOST with every non-word character as _)
//
// On the fake machines, `sudo` runs its command as the test's user (dropping DEBIAN_FRONTEND, as sudo's env_reset
// does; off root, it answers for root where only root could act: install -o/-g, stat's owner), `apt-get` records how
// it was called and on what standard input (and, like the real one, stops at its prompt without -y) and what it installed, `dpkg-query` answers
// from that, `date` records the call and prints the date (skewed by STANDIN_SKEW_<HOST>), `ss` answers from
// state/HOST/listening, `ip -o addr show` from state/HOST/addresses (the master's configured ip, unless a test
// changes it), `timedatectl` records the call, and `docker` records the call and answers verify.sh's
// `etcdctl member list` and `etcdctl endpoint health` as a healthy cluster matching cluster.json would; `systemctl`
// answers from state/HOST/units and state/HOST/active, and `apt-cache show` as bookworm's lists would. A node made
// RHEL-like or SUSE with makeFamilyNode has dnf and yum, or zypper, and rpm instead of apt-get and dpkg-query (its
// PATH has no Debian package tool). Installing a time-sync package starts it on Debian, not elsewhere, and writes the
// package's default configuration (PACKAGES). Every other command (mktemp, base64, install, cmp, stat, mv, test,
// awk) is the real one.
//
// ntp.sh's configuration paths (/etc/chrony…, /etc/ntp…, /etc/systemd/timesyncd…) are rewritten to the host's own
// file system the same way as the remote/ prefix below.
//
// The scripts name absolute remote paths (etcd.certDir, etcd.manifestDir). The test's cluster.json points them
// under <tmp>/remote/, and the stand-in rewrites that prefix to hosts/HOST/fs/ in the script it runs, so each
// host gets its own file system; the call log keeps the script exactly as the script under test sent it. (Files
// travel base64-encoded inside the script, so their bytes are never rewritten.)
//
// Used by test/scripts.test.ts, test/operator.test.ts and test/injection.test.ts.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { parseCluster } from '../../src/load.js';
import { plan } from '../../src/plan.js';
import { runCli, tempDir, writeFile } from './fixtures.js';
import { requireTools } from './tools.js';
import { test } from 'uvu';

export const MASTERS = ['master1', 'master2', 'master3'];
export const WORKERS = ['worker1', 'worker2'];
export const NODES = [...MASTERS, ...WORKERS];

/** The one call every script makes per host, as the stand-in vagrant records it. */
export const vagrantCall = (host: string) => `vagrant ssh ${host} -- bash -euo pipefail -s`;

// ---------------------------------------------------------------------------------------------------------------
// The stand-ins. Each is a bash script written into the test's temporary directory.

const TRANSPORT = String.raw`#!/bin/bash
# Stand-in for vagrant and ssh (see test/support/transport.ts). Records each call, then runs it on hosts/HOST.
set -euo pipefail
: "${'$'}{STANDIN_DIR:?}"
tool=${'$'}{0##*/}
calls=$STANDIN_DIR/log/calls
[[ -d $calls ]] || mkdir -p "$calls"
# Times in nanoseconds from bash's own clock (EPOCHREALTIME, microseconds): every process a stand-in starts costs
# milliseconds of CPU on a small machine, and the tests start thousands.
now() { printf '%s000\n' "${'$'}{EPOCHREALTIME/[.,]/}"; }
# One record per call, named by its start time (and pid): calls made in parallel never share one.
id=${'$'}{EPOCHREALTIME/[.,]/}000-$$
printf '%s\n' "$tool" >"$calls/$id.tool"
printf '%s\0' "$@" >"$calls/$id.argv"
: >"$calls/$id.stdin"
now >"$calls/$id.start"
trap 'now >"$calls/$id.end"' EXIT

unsupported() {
  printf 'stand-in %s: unsupported call: %s %s\n' "$tool" "$tool" "$*" >&2
  exit 2
}

case $tool in
  vagrant)
    [[ ${'$'}{1:-} == ssh && ${'$'}{3:-} == -- && $# -gt 3 ]] || unsupported "$@"
    host=$2
    shift 3
    if [[ ! -d $STANDIN_DIR/hosts/$host ]]; then
      printf "The machine with the name '%s' was not found configured for this Vagrant environment.\n" "$host" >&2
      exit 1
    fi
    ;;
  ssh)
    # OpenSSH's options that take an argument; the scripts end their options with --.
    while (($#)); do
      case $1 in
        --) shift; break ;;
        -[BbcDEeFIiJLlmOoPpQRSWw]) (($# >= 2)) || unsupported "$@"; shift 2 ;;
        -?*) shift ;;
        *) break ;;
      esac
    done
    (($# >= 2)) || unsupported "$@"
    address=$1
    shift
    host=$(awk -F '\t' -v a="$address" '$1 == a { print $2; exit }' "$STANDIN_DIR/addresses")
    if [[ -z $host ]]; then
      printf 'ssh: Could not resolve hostname %s: Name or service not known\n' "$address" >&2
      exit 255
    fi
    ;;
  *) unsupported "$@" ;;
esac

# Kept as it came, bytes and all: restore.sh sends a snapshot's bytes after its script.
cat >"$calls/$id.stdin"
if [[ ,${'$'}{STANDIN_FAIL:-}, == *",$host ssh,"* ]]; then
  printf 'stand-in %s: ssh to %s failed (simulated)\n' "$tool" "$host" >&2
  exit 255
fi
if [[ -n ${'$'}{STANDIN_SLEEP:-} ]]; then sleep "$STANDIN_SLEEP"; fi

root=$STANDIN_DIR/hosts/$host
# The rewritten path lands in the script's text, so it must mean nothing to the shell there: a host name that
# is not a plain word is reached through an alias (a symbolic link named by its hash).
fs=$root/fs
if [[ ! $host =~ ^[A-Za-z0-9._-]+$ ]]; then
  fs=$STANDIN_DIR/aliases/$(printf '%s' "$host" | sha256sum | cut -c1-16)
  mkdir -p "$STANDIN_DIR/aliases" "$root/fs"
  ln -sfn "$root/fs" "$fs"
fi
# The rewrites below, done by perl over the bytes as they are (a shell variable would drop NUL bytes).
# A host whose 127.0.0.1 is another loopback address here (state/HOST/loopback, written by the kubelet stand-in's
# world: members sharing this machine cannot share 127.0.0.1): what the script sends to 127.0.0.1 goes there.
loopback=
if [[ -f $STANDIN_DIR/state/$host/loopback ]]; then loopback=$(<"$STANDIN_DIR/state/$host/loopback"); fi
# The time services' configuration (/etc/chrony…, /etc/ntp…, /etc/systemd/timesyncd…) is on the host's file system
# too. A path that is text inside a configuration file (chrony.conf's "confdir /etc/chrony/conf.d", which ntp.sh
# looks for) is the service's view and stays as it is.
rewrite() {
  FROM="$STANDIN_DIR/remote/" TO="$fs/" FS="$fs" LOOPBACK="$loopback" perl -0777 -pe '
    s/\Q$ENV{FROM}\E/$ENV{TO}/g;
    s#confdir /etc/#confdir /\@etc\@/#g;
    s#(^|[^A-Za-z0-9_./-])/etc/(chrony|ntp|systemd/timesyncd)#$1$ENV{FS}/etc/$2#gm;
    s#confdir /\@etc\@/#confdir /etc/#g;
    s/127\.0\.0\.1/$ENV{LOOPBACK}/g if $ENV{LOOPBACK} ne "";
  ' "$calls/$id.stdin"
}
# A node of another family than Debian's (state/HOST/family: rhel or suse) has that family's package tools and
# none of Debian's: its PATH holds the family's stand-ins, the common ones, and this machine's tools without apt or dpkg.
path="$STANDIN_DIR/remote-bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
if [[ -f $STANDIN_DIR/state/$host/family ]]; then
  family=$(<"$STANDIN_DIR/state/$host/family")
  path="$STANDIN_DIR/remote-bin-$family:$STANDIN_DIR/remote-bin-common:$STANDIN_DIR/system-bin"
fi
tmp=$STANDIN_DIR/tmp/$host
[[ -d $tmp ]] || mkdir -p "$tmp"
skew=STANDIN_SKEW_${'$'}{host//[^A-Za-z0-9_]/_}
cd "$root/home"
# ssh joins the command's words with spaces and hands the string to the login shell.
rewrite | env -i HOME="$root/home" USER=vagrant LOGNAME=vagrant SHELL=/bin/bash LANG=C.UTF-8 \
  PATH="$path" TMPDIR="$tmp" \
  STANDIN_DIR="$STANDIN_DIR" STANDIN_HOST="$host" STANDIN_SKEW="${'$'}{!skew:-0}" bash -c "$*"
`;

/** Each remote stand-in appends "HOST<TAB>WORD<TAB>WORD..." to log/remote.log. */
export const REMOTE_LOG = String.raw`remote_log() { local IFS=$'\t'; printf '%s\t%s\n' "$STANDIN_HOST" "$*" >>"$STANDIN_DIR/log/remote.log"; }
state=$STANDIN_DIR/state/$STANDIN_HOST`;

const SUDO = String.raw`#!/bin/bash
# Stand-in for sudo: records the command, runs it as this user without DEBIAN_FRONTEND (sudo's env_reset drops
# it), then records what the manifest directory holds, so the test sees every state kubelet could have seen.
# For install, it also records the mode of the directory the file comes from (the remote stage).
set -uo pipefail
${REMOTE_LOG}
remote_log sudo "$@"
# -n (never ask for a password): this sudo never asks. Like the real one, it tells the command who called it.
if [[ ${'$'}{1:-} == -n ]]; then shift; fi
export SUDO_USER=${'$'}{USER:-vagrant}
command=("$@")
if ((EUID != 0)); then
  # Off root, only root may give a file away, and stat would name this user: answer as root would.
  case ${'$'}{1:-} in
    chown) remote_log note 'chown skipped: not root'; exit 0 ;;
    install)
      command=()
      while (($#)); do
        case $1 in
          -o | -g) shift 2 ;;
          *) command+=("$1"); shift ;;
        esac
      done
      ;;
    stat)
      env -u DEBIAN_FRONTEND "$@" | sed "s/:$(id -un):$(id -gn)\$/:root:root/"
      exit "${'$'}{PIPESTATUS[0]}"
      ;;
  esac
fi
if [[ ${'$'}{command[0]:-} == install ]]; then
  source_file=${'$'}{command[${'$'}{#command[@]} - 2]}
  remote_log stage "$(stat -c %a "${'$'}{source_file%/*}")" "$source_file"
fi
# In a subshell, exec'd: the command named, never a bash builtin of that name (as env -u would run it, in one process
# fewer: each costs milliseconds here, and the tests run sudo thousands of times).
(
  unset DEBIAN_FRONTEND
  exec "${'$'}{command[@]}"
)
status=$?
manifests=$STANDIN_DIR/hosts/$STANDIN_HOST/fs/etc/kubernetes/manifests
if [[ -d $manifests ]]; then
  # What ls -A lists, from a glob: hidden files too, sorted alike (the remote login's locale is C.UTF-8).
  shopt -s dotglob nullglob
  listing=("$manifests"/*)
  listing=("${'$'}{listing[@]##*/}")
  remote_log manifests "${'$'}{listing[*]}"
fi
exit "$status"
`;

/**
 * What installing a time-sync package does on a node, by family: the units it brings (state/HOST/units) and the
 * configuration file it writes, in the words of the real packages' defaults (Debian bookworm's from the .deb files
 * themselves: chrony 4.3's /usr/share/chrony/chrony.conf, ntpsec 1.2.2's /etc/ntpsec/ntp.conf; `ntp` installs
 * ntpsec, whose unit has Alias=ntp.service; RHEL 9's and openSUSE's chrony.conf shortened to their source lines).
 */
const PACKAGES = String.raw`fs=$STANDIN_DIR/hosts/$STANDIN_HOST/fs
service_units() { # PACKAGE FAMILY
  case $2:$1 in
    debian:chrony) echo chrony ;;
    debian:ntp | debian:ntpsec) echo ntpsec ntp ;;
    debian:systemd-timesyncd) echo systemd-timesyncd ;;
    *:chrony) echo chronyd ;;
  esac
}
installed_service() { # PACKAGE FAMILY: the package's units, and its configuration file unless one is there
  local unit file= text=
  [[ -d $state ]] || mkdir -p "$state"
  for unit in $(service_units "$1" "$2"); do printf '%s\n' "$unit" >>"$state/units"; done
  case $2:$1 in
    debian:chrony)
      file=$fs/etc/chrony/chrony.conf
      text=$'# Include configuration files found in /etc/chrony/conf.d.\nconfdir /etc/chrony/conf.d\n\npool 2.debian.pool.ntp.org iburst\n\nsourcedir /run/chrony-dhcp\nsourcedir /etc/chrony/sources.d\nkeyfile /etc/chrony/chrony.keys\ndriftfile /var/lib/chrony/chrony.drift\nmakestep 1 3\nleapsectz right/UTC\n' ;;
    debian:ntp | debian:ntpsec)
      file=$fs/etc/ntpsec/ntp.conf
      text=$'driftfile /var/lib/ntpsec/ntp.drift\nleapfile /usr/share/zoneinfo/leap-seconds.list\ntos maxclock 11\ntos minclock 4 minsane 3\npool 0.debian.pool.ntp.org iburst\npool 1.debian.pool.ntp.org iburst\nrestrict default kod nomodify nopeer noquery limited\nrestrict 127.0.0.1\nrestrict ::1\n' ;;
    rhel:chrony)
      file=$fs/etc/chrony.conf
      text=$'# Use public servers from the pool.ntp.org project.\npool 2.rhel.pool.ntp.org iburst\nsourcedir /run/chrony-dhcp\ndriftfile /var/lib/chrony/drift\nmakestep 1.0 3\nrtcsync\nkeyfile /etc/chrony.keys\nntsdumpdir /var/lib/chrony\nleapsectz right/UTC\nlogdir /var/log/chrony\n' ;;
    suse:chrony)
      file=$fs/etc/chrony.conf
      text=$'# Use public servers from the pool.ntp.org project.\n! pool pool.ntp.org iburst\ndriftfile /var/lib/chrony/drift\nmakestep 1.0 3\nrtcsync\nlogdir /var/log/chrony\ninclude /etc/chrony.d/*.conf\n' ;;
  esac
  if [[ -n $file && ! -e $file ]]; then
    mkdir -p "${'$'}{file%/*}"
    printf '%s' "$text" >"$file"
  fi
}`;

const APT_GET = String.raw`#!/bin/bash
# Stand-in for apt-get: records its arguments and DEBIAN_FRONTEND. Like the real one, "install" without -y asks
# "Do you want to continue? [Y/n]" and reads the answer from standard input (which, under "bash -s", is the rest
# of the script); anything but y aborts. What it installs, dpkg-query then knows (state/HOST/packages), and, as
# Debian bookworm's packages do, its service runs and its configuration file is there (see PACKAGES).
set -euo pipefail
${REMOTE_LOG}
${PACKAGES}
remote_log apt-get "DEBIAN_FRONTEND=${'$'}{DEBIAN_FRONTEND:-}" "$@"
# What its standard input is: /dev/null, or the pipe that carries the rest of the remote script.
remote_log apt-get-stdin "$(readlink /proc/self/fd/0 || echo unknown)"
yes=no
for arg in "$@"; do [[ $arg == -y || $arg == --yes || $arg == --assume-yes ]] && yes=yes; done
if [[ ${'$'}{1:-} == install && $yes == no ]]; then
  printf 'Do you want to continue? [Y/n] '
  answer=
  read -r answer || true
  [[ $answer == [Yy]* ]] || { echo 'Abort.'; exit 1; }
fi
if [[ ${'$'}{1:-} == install ]]; then
  [[ -d $state ]] || mkdir -p "$state"
  for arg in "${'$'}{@:2}"; do
    if [[ $arg != -* ]]; then
      printf '%s\n' "$arg" >>"$state/packages"
      installed_service "$arg" debian
      # Debian's packages start their service on install (deb-systemd-invoke start in the postinst).
      for unit in $(service_units "$arg" debian); do printf '%s\n' "$unit" >>"$state/active"; done
    fi
  done
fi
`;

const APT_CACHE = String.raw`#!/bin/bash
# Stand-in for apt-cache show PACKAGE: the node's apt lists are Debian bookworm's, as far as ntp.sh asks (chrony, ntp,
# ntpsec, systemd-timesyncd): exit 0 and a Package: line for those; like the real one (test/time-sync.test.ts
# compares), "E: No packages found" and exit 100 for any other.
set -euo pipefail
${REMOTE_LOG}
remote_log apt-cache "$@"
[[ ${'$'}{1:-} == show && $# -eq 2 ]] || { echo "stand-in apt-cache: unsupported call: apt-cache $*" >&2; exit 2; }
case $2 in
  chrony | ntp | ntpsec | systemd-timesyncd) printf 'Package: %s\n' "$2" ;;
  *) echo 'E: No packages found' >&2; exit 100 ;;
esac
`;

const DPKG_QUERY = String.raw`#!/bin/bash
# Stand-in for dpkg-query -W -f=FORMAT PACKAGE: "install ok installed" for what the stand-in apt-get installed.
set -euo pipefail
${REMOTE_LOG}
remote_log dpkg-query "$@"
package=${'$'}{!#}
if [[ -f $state/packages ]] && grep -Fqx -- "$package" "$state/packages"; then
  printf 'install ok installed'
else
  printf 'dpkg-query: no packages found matching %s\n' "$package" >&2
  exit 1
fi
`;

const SYSTEMCTL = String.raw`#!/bin/bash
# Stand-in for systemctl, as ntp.sh calls it (systemctl(1)). is-active [--quiet] UNIT: exit 0 for a unit in
# state/HOST/active, else "inactive" (unless --quiet) and exit 3. cat UNIT: its unit file and exit 0 for a unit in
# state/HOST/units, else "No files found for UNIT.service." and exit 1. enable --now UNIT and restart UNIT start
# the unit; like the real one they need root (here: the stand-in sudo), else "Access denied", and a unit that is not
# there fails ("Unit UNIT.service not found.", exit 5 for restart; exit 1 for enable).
set -euo pipefail
${REMOTE_LOG}
remote_log systemctl "$@"
[[ -d $state ]] || mkdir -p "$state"
[[ -f $state/units ]] || : >>"$state/units"
[[ -f $state/active ]] || : >>"$state/active"
listed() { grep -Fqx -- "${'$'}{2%.service}" "$state/$1"; }
unit=${'$'}{!#}
case ${'$'}{1:-} in
  is-active)
    if listed active "$unit"; then
      [[ ${'$'}{2:-} == --quiet ]] || echo active
      exit 0
    fi
    [[ ${'$'}{2:-} == --quiet ]] || echo inactive
    exit 3
    ;;
  cat)
    if listed units "$unit"; then
      printf '# /usr/lib/systemd/system/%s.service\n[Service]\n' "${'$'}{unit%.service}"
      exit 0
    fi
    printf 'No files found for %s.service.\n' "${'$'}{unit%.service}" >&2
    exit 1
    ;;
  enable | restart)
    [[ ${'$'}{1} == restart || ${'$'}{2:-} == --now ]] || { echo "stand-in systemctl: unsupported call: systemctl $*" >&2; exit 2; }
    if [[ -z ${'$'}{SUDO_USER:-} ]]; then echo "Failed to $1 unit: Access denied" >&2; exit 1; fi
    if ! listed units "$unit"; then
      if [[ $1 == restart ]]; then printf 'Failed to restart %s.service: Unit %s.service not found.\n' "${'$'}{unit%.service}" "${'$'}{unit%.service}" >&2; exit 5; fi
      printf 'Failed to enable unit: Unit file %s.service does not exist.\n' "${'$'}{unit%.service}" >&2
      exit 1
    fi
    listed active "$unit" || printf '%s\n' "${'$'}{unit%.service}" >>"$state/active"
    ;;
  *) echo "stand-in systemctl: unsupported call: systemctl $*" >&2; exit 2 ;;
esac
`;

const DNF = String.raw`#!/bin/bash
# Stand-in for dnf, and for yum (RHEL 7's, which takes the same install -y), on a RHEL-like node. As dnf(8) documents
# (https://dnf.readthedocs.io/en/latest/command_ref.html, "Return values: 0 operation was successful, 1 an error
# occurred, which was handled by dnf"): install without -y/--assumeyes shows the transaction and asks
# "Is this ok [y/N]: ", and anything but y (end of input included) ends with "Operation aborted." and exit 1; a
# package no repository has gives "No match for argument: PKG" and "Error: Unable to find a match: PKG", exit 1; one
# already installed "Package PKG is already installed.", "Nothing to do.", "Complete!", exit 0; off root: "Error: This
# command has to be run with superuser privileges (under the root user on most systems).", exit 1. The repositories
# here hold chrony and not ntp, as RHEL 9's do. As on RHEL, an installed package's unit is there (enabled by preset)
# but not started. No dnf is on this machine to compare with: the stand-in refuses every other call.
set -euo pipefail
${REMOTE_LOG}
${PACKAGES}
tool=${'$'}{0##*/}
remote_log "$tool" "$@"
[[ ${'$'}{1:-} == install ]] || { echo "stand-in $tool: unsupported call: $tool $*" >&2; exit 2; }
shift
yes=no packages=()
for arg; do
  case $arg in
    -y | --assumeyes) yes=yes ;;
    -*) echo "stand-in $tool: unsupported option $arg" >&2; exit 2 ;;
    *) packages+=("$arg") ;;
  esac
done
if [[ -z ${'$'}{SUDO_USER:-} ]]; then
  echo 'Error: This command has to be run with superuser privileges (under the root user on most systems).' >&2
  exit 1
fi
[[ -d $state ]] || mkdir -p "$state"
[[ -f $state/packages ]] || : >>"$state/packages"
new=()
for package in "${'$'}{packages[@]}"; do
  if grep -Fqx -- "$package" "$state/packages"; then echo "Package $package is already installed."; continue; fi
  if [[ $package != chrony ]]; then
    echo "No match for argument: $package"
    echo "Error: Unable to find a match: $package" >&2
    exit 1
  fi
  new+=("$package")
done
if ((${'$'}{#new[@]} == 0)); then
  echo 'Dependencies resolved.'
  echo 'Nothing to do.'
  echo 'Complete!'
  exit 0
fi
printf 'Installing:\n %s\n' "${'$'}{new[@]}"
if [[ $yes == no ]]; then
  printf 'Is this ok [y/N]: '
  answer=
  read -r answer || true
  [[ $answer == [Yy]* ]] || { echo 'Operation aborted.'; exit 1; }
fi
for package in "${'$'}{new[@]}"; do
  printf '%s\n' "$package" >>"$state/packages"
  installed_service "$package" rhel
done
echo 'Complete!'
`;

const ZYPPER = String.raw`#!/bin/bash
# Stand-in for zypper on a SUSE node. As zypper(8) documents: --non-interactive (-n) is a global option, given before
# the command, that takes the default answer to every question; without it, install asks
# "Continue? [y/n/v/...? shows all options] (y): " (here it then stops: nobody answers). A package no repository
# provides: "No provider of 'PKG' found.", exit 104 (ZYPPER_EXIT_INF_CAP_NOT_FOUND, zypper(8) EXIT CODES); off root:
# "Root privileges are required to run this command.", exit 5 (ZYPPER_EXIT_ERR_PRIVILEGES). The repositories here
# hold chrony and not ntp, as SLES 15's do. An installed package's unit is there, not started. No zypper is on this
# machine to compare with: the stand-in refuses every other call. The exit codes are zypper(8)'s (EXIT CODES, read in
# Debian's zypper 1.14.42). A test may ask for another status through makeFamilyNode's zypperExit: the file
# state/HOST/zypper-exit holds "STATUS installs" (the packages are installed, then zypper exits STATUS: 100-103 and 106
# are information after an install) or "STATUS nothing" (it exits STATUS before installing anything).
set -euo pipefail
${REMOTE_LOG}
${PACKAGES}
remote_log zypper "$@"
interactive=yes
while [[ ${'$'}{1:-} == -* ]]; do
  case $1 in
    -n | --non-interactive) interactive=no ;;
    *) echo "stand-in zypper: unsupported global option $1" >&2; exit 2 ;;
  esac
  shift
done
[[ ${'$'}{1:-} == install || ${'$'}{1:-} == in ]] || { echo "stand-in zypper: unsupported call: zypper $*" >&2; exit 2; }
shift
if [[ -z ${'$'}{SUDO_USER:-} ]]; then echo 'Root privileges are required to run this command.' >&2; exit 5; fi
[[ -d $state ]] || mkdir -p "$state"
[[ -f $state/packages ]] || : >>"$state/packages"
for package; do
  if [[ $package != chrony ]]; then echo "No provider of '$package' found." >&2; exit 104; fi
done
if [[ $interactive == yes ]]; then
  printf 'Continue? [y/n/v/...? shows all options] (y): '
  echo 'stand-in zypper: no answer' >&2
  exit 1
fi
exit_status=0 installs=installs
if [[ -s $state/zypper-exit ]]; then read -r exit_status installs <"$state/zypper-exit"; fi
if [[ $installs == nothing ]]; then exit "$exit_status"; fi
for package; do
  if grep -Fqx -- "$package" "$state/packages"; then echo "'$package' is already installed."; continue; fi
  printf '%s\n' "$package" >>"$state/packages"
  installed_service "$package" suse
done
exit "$exit_status"
`;

const RPM = String.raw`#!/bin/bash
# Stand-in for rpm -q PACKAGE… (rpm(8)): prints each installed package's name-version, or "package PKG is not
# installed"; the exit status is the number of packages not installed.
set -euo pipefail
${REMOTE_LOG}
remote_log rpm "$@"
[[ ${'$'}{1:-} == -q ]] || { echo "stand-in rpm: unsupported call: rpm $*" >&2; exit 2; }
shift
missing=0
for package; do
  if [[ -f $state/packages ]] && grep -Fqx -- "$package" "$state/packages"; then
    echo "$package-4.5-1.el9.x86_64"
  else
    echo "package $package is not installed"
    missing=$((missing + 1))
  fi
done
exit "$missing"
`;

const DATE = String.raw`#!/bin/bash
# Stand-in for date: records the call; answers as a clock STANDIN_SKEW seconds off this machine's would.
set -euo pipefail
${REMOTE_LOG}
remote_log date "$@"
if [[ ${'$'}{STANDIN_SKEW:-0} != 0 ]]; then
  shifted=$(awk -v n="$(PATH=/usr/bin:/bin date +%s.%N)" -v s="$STANDIN_SKEW" 'BEGIN { printf "%.6f", n + s }')
  PATH=/usr/bin:/bin exec date -d "@$shifted" "$@"
fi
PATH=/usr/bin:/bin exec date "$@"
`;

const SS = String.raw`#!/bin/bash
# Stand-in for ss -Htlnp "sport = :PORT": prints the lines of state/HOST/listening (each as ss prints a listening
# socket) whose local port is PORT. Like the real ss (test/sshd.test.ts compares them), it names a socket's process
# (users:(…)) only to root: here, only under the stand-in sudo, as the login user (vagrant) owns no listening socket.
set -euo pipefail
${REMOTE_LOG}
remote_log ss "$@"
filter=${'$'}{!#}
[[ $filter == 'sport = :'* ]] || { echo "stand-in ss: unsupported call: ss $*" >&2; exit 2; }
[[ -f $state/listening ]] || exit 0
awk -v port="${'$'}{filter##*:}" -v root="${'$'}{SUDO_USER:+yes}" '{
  n = split($4, a, ":")
  if (a[n] != port) next
  if (root != "yes") sub(/ users:\(\(.*$/, "")
  print
}' "$state/listening"
`;

const IP = String.raw`#!/bin/bash
# Stand-in for ip -o addr show: the loopback addresses, then each address in state/HOST/addresses on eth1.
set -euo pipefail
${REMOTE_LOG}
remote_log ip "$@"
[[ "$*" == '-o addr show' ]] || { echo "stand-in ip: unsupported call: ip $*" >&2; exit 2; }
printf '1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever preferred_lft forever\n'
printf '1: lo    inet6 ::1/128 scope host \\       valid_lft forever preferred_lft forever\n'
if [[ -f $state/addresses ]]; then
  while read -r address; do
    if [[ $address == *:* ]]; then family=inet6 length=64; else family=inet length=24; fi
    printf '3: eth1    %s %s/%s scope global eth1\\       valid_lft forever preferred_lft forever\n' "$family" "$address" "$length"
  done <"$state/addresses"
fi
`;

const TIMEDATECTL = String.raw`#!/bin/bash
${REMOTE_LOG}
remote_log timedatectl "$@"
`;

const DOCKER = String.raw`#!/bin/bash
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
  /** The stand-ins' own knowledge of a host (packages, addresses, listening): not part of its file system. */
  state: (host: string, ...path: string[]) => string;
  /** The host's TMPDIR, where the remote script's stage (mktemp -d) lives while it runs. */
  tmp: (host: string) => string;
  /** Runs `generate --config <project>/cluster.json --out <out>` in-process; on success, primes the stand-in docker. */
  generate: () => ReturnType<typeof runCli>;
}

export const TLS = { ca: 'ca.pem', cert: 'kubernetes.pem', key: 'kubernetes-key.pem' } as const;
export const dummy = (file: string) => `dummy ${file}: not a real certificate, only bytes to follow\n`;

/** The world's cluster.json before any edit: MASTERS and WORKERS, remote paths under <dir>/remote/. */
export interface ClusterDoc {
  masters: { name: string; ip: string; host: string; address?: string }[];
  workers: { name: string; address?: string }[];
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
  script(join(root, 'bin', 'vagrant'), TRANSPORT);
  script(join(root, 'bin', 'ssh'), TRANSPORT);
  for (const [name, text] of Object.entries({
    sudo: SUDO, 'apt-get': APT_GET, 'apt-cache': APT_CACHE, 'dpkg-query': DPKG_QUERY, date: DATE, ss: SS, ip: IP, timedatectl: TIMEDATECTL, docker: DOCKER, systemctl: SYSTEMCTL,
  })) script(join(root, 'remote-bin', name), text);
  mkdirSync(join(root, 'log'), { recursive: true });
  // One fake machine per node that cluster.json names (MASTERS and WORKERS unless edited), for names a file
  // system can hold. The ssh transport finds a node by its address: masters[].address, else its host; a
  // worker's address, else its name.
  const list = (value: unknown) => (Array.isArray(value) ? value : []) as { name?: unknown; address?: unknown; host?: unknown; ip?: unknown }[];
  const text = (value: unknown) => (typeof value === 'string' ? value : undefined);
  const masters = list(cluster.masters).flatMap((m) => (text(m?.name) ? [{ name: text(m.name)!, address: text(m.address) ?? text(m.host), ip: text(m.ip) }] : []));
  const workers = list(cluster.workers).flatMap((w) => (text(w?.name) ? [{ name: text(w.name)!, address: text(w.address) ?? text(w.name), ip: undefined }] : []));
  const addresses: string[] = [];
  for (const node of [...masters, ...workers]) {
    if (node.address !== undefined && !/[\t\n]/.test(node.address + node.name)) addresses.push(`${node.address}\t${node.name}\n`);
    if (relative(join(root, 'hosts'), join(root, 'hosts', node.name)).startsWith('..')) continue;
    try {
      mkdirSync(join(root, 'hosts', node.name, 'home'), { recursive: true });
      // kubelet's manifest directory exists on a master before etcd is distributed.
      if (masters.includes(node)) mkdirSync(join(root, 'hosts', node.name, 'fs', 'etc', 'kubernetes', 'manifests'), { recursive: true });
      // `ip addr` on a master shows the ip cluster.json gives it.
      if (node.ip !== undefined) writeFile(join(root, 'state', node.name, 'addresses'), `${node.ip}\n`);
    } catch {
      // Not a name a directory can have: the stand-in vagrant answers that it knows no such machine.
    }
  }
  writeFile(join(root, 'addresses'), addresses.join(''));
  mkdirSync(join(root, 'elsewhere'));
  const world: World = {
    dir: root,
    project,
    config,
    out,
    remove: dir.remove,
    fs: (host, ...path) => join(root, 'hosts', host, 'fs', ...path),
    home: (host) => join(root, 'hosts', host, 'home'),
    state: (host, ...path) => join(root, 'state', host, ...path),
    tmp: (host) => join(root, 'tmp', host),
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

/** What a node of another family than Debian's already has: packages (rpm -q knows them), units, running units, files. */
export interface FamilyNode {
  family: 'rhel' | 'suse';
  packages?: string[];
  units?: string[];
  active?: string[];
  /** Files on the node, by absolute path (e.g. /etc/chrony.conf). */
  files?: Record<string, string>;
  /** The status the zypper stand-in exits with, after installing the packages or without installing anything. */
  zypperExit?: { status: number; installs: boolean };
}

/**
 * Makes HOST a node of a RHEL-like or SUSE family: the stand-in transport then gives it that family's package tools
 * (dnf and yum, or zypper; rpm) and none of Debian's (no apt-get, no dpkg-query on its PATH).
 */
export function makeFamilyNode(world: World, host: string, node: FamilyNode): void {
  const root = world.dir;
  const link = (target: string, path: string) => {
    if (!existsSync(path)) symlinkSync(target, path);
  };
  // This machine's tools, without Debian's package tools, once per world.
  const system = join(root, 'system-bin');
  if (!existsSync(system)) {
    mkdirSync(system);
    for (const dir of ['/usr/sbin', '/usr/bin']) {
      for (const name of readdirSync(dir)) if (!/^(apt|dpkg|dnf|yum|zypper|rpm)/.test(name)) link(join(dir, name), join(system, name));
    }
    const common = join(root, 'remote-bin-common');
    mkdirSync(common);
    for (const name of readdirSync(join(root, 'remote-bin'))) if (!/^(apt|dpkg)/.test(name)) link(join(root, 'remote-bin', name), join(common, name));
    for (const [family, tools] of [['rhel', { dnf: DNF, yum: DNF, rpm: RPM }], ['suse', { zypper: ZYPPER, rpm: RPM }]] as const) {
      for (const [name, text] of Object.entries(tools)) {
        writeFile(join(root, `remote-bin-${family}`, name), text);
        chmodSync(join(root, `remote-bin-${family}`, name), 0o755);
      }
    }
  }
  writeFile(world.state(host, 'family'), node.family);
  const lines = (list: string[] | undefined) => (list ?? []).map((line) => `${line}\n`).join('');
  writeFile(world.state(host, 'packages'), lines(node.packages));
  writeFile(world.state(host, 'units'), lines(node.units));
  writeFile(world.state(host, 'active'), lines(node.active));
  for (const [path, text] of Object.entries(node.files ?? {})) writeFile(world.fs(host, path), text);
  if (node.zypperExit) writeFile(world.state(host, 'zypper-exit'), `${node.zypperExit.status} ${node.zypperExit.installs ? 'installs' : 'nothing'}\n`);
}

/** A uvu test with its own world, removed afterwards; skipped (loudly, or failed under CI) without bash or `tools`. */
export function withWorld(name: string, body: (world: World) => void, options: WorldOptions & { tools?: string[] } = {}): void {
  test(name, () => {
    if (!requireTools(name, 'bash', ...(options.tools ?? []))) return;
    const world = makeWorld(options);
    try {
      body(world);
    } finally {
      world.remove();
    }
  });
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
  /** Wall time of the run, in milliseconds. */
  ms: number;
  /** What a failure message shows. */
  shown: string;
}

/** Where and how runScript starts a script, when a test needs other than the usual. */
export interface RunOptions {
  /** The working directory (default: a directory that is neither out/ nor the project). */
  cwd?: string;
  /** The script as named on the command line, relative to cwd (default: its absolute path). */
  invoked?: string;
  /** PATH (default: the stand-in vagrant and ssh first, then this process's PATH). */
  path?: string;
}

/** How runScript starts out/SCRIPT: the file, the working directory and the environment (for an asynchronous run too). */
export function scriptLaunch(world: World, script: string, env: Record<string, string> = {}, how: RunOptions = {}): { file: string; cwd: string; env: NodeJS.ProcessEnv } {
  const { DEBIAN_FRONTEND: _dropped, ...inherited } = process.env;
  return {
    file: how.invoked ?? join(world.out, script),
    cwd: how.cwd ?? join(world.dir, 'elsewhere'),
    env: { ...inherited, ...env, PATH: how.path ?? `${join(world.dir, 'bin')}:${process.env['PATH'] ?? '/usr/bin:/bin'}`, STANDIN_DIR: world.dir },
  };
}

/**
 * Runs out/SCRIPT with ARGS from a directory that is neither out/ nor the project, with the stand-in vagrant and
 * ssh first on PATH (unless `how` says otherwise).
 */
export function runScript(world: World, script: string, env: Record<string, string> = {}, args: string[] = [], how: RunOptions = {}): Run {
  const started = process.hrtime.bigint();
  const { file, cwd, env: scriptEnv } = scriptLaunch(world, script, env, how);
  const result = spawnSync(file, args, { cwd, encoding: 'utf8', timeout: 60_000, env: scriptEnv });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (result.error) throw result.error;
  const shown = `${script} ${args.join(' ')}: exit status ${result.status}\n--- stdout ---\n${result.stdout}--- stderr ---\n${result.stderr}`;
  return { status: result.status, stdout: result.stdout, stderr: result.stderr, ms, shown };
}

export interface Call {
  /** vagrant or ssh. */
  tool: string;
  argv: string[];
  stdin: string;
  /** When the call started and ended, in milliseconds on this machine's clock (end: NaN if it never ended). */
  start: number;
  end: number;
}

/** Every call of the stand-in transports, in the order they started. */
export function calls(world: World): Call[] {
  const dir = join(world.dir, 'log', 'calls');
  if (!existsSync(dir)) return [];
  const read = (file: string) => (existsSync(join(dir, file)) ? readFileSync(join(dir, file), 'utf8') : '');
  const ms = (text: string) => (text.trim() ? Number(BigInt(text.trim()) / 1000n) / 1000 : NaN);
  return readdirSync(dir)
    .filter((f) => f.endsWith('.argv'))
    .map((f) => f.replace(/\.argv$/, ''))
    .sort()
    .map((id) => ({
      tool: read(`${id}.tool`).trim(),
      argv: read(`${id}.argv`).split('\0').slice(0, -1),
      stdin: read(`${id}.stdin`),
      start: ms(read(`${id}.start`)),
      end: ms(read(`${id}.end`)),
    }));
}

/** The stand-in calls, one line each ("vagrant ssh master1 -- bash -euo pipefail -s"): what a failure message shows. */
export function callLines(list: Call[]): string[] {
  return list.map(({ tool, argv }) => [tool, ...argv].join(' '));
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

/**
 * Every file and directory on every fake host: path → type, mode, owner, inode, modification time and content. Two
 * equal snapshots mean nothing was written, replaced, renamed, created or removed (a directory's mtime changes
 * when an entry in it does). Paths that `omit` matches are neither read nor walked into: a live etcd's data directory
 * holds 64 MiB write-ahead logs, which reading on every snapshot cost a live suite a minute of CPU.
 */
export function hostsSnapshot(world: World, omit?: RegExp): Record<string, string> {
  const state: Record<string, string> = {};
  const walk = (path: string, shown: string) => {
    for (const name of readdirSync(path).sort()) {
      const full = join(path, name);
      const key = `${shown}/${name}`;
      if (omit?.test(key)) continue;
      const stat = lstatSync(full, { bigint: true });
      const meta = `mode 0${(stat.mode & 0o777n).toString(8)} owner ${stat.uid}:${stat.gid} inode ${stat.ino} mtime ${stat.mtimeNs}`;
      if (stat.isDirectory()) {
        state[key] = `dir ${meta}`;
        walk(full, key);
      } else state[key] = `file ${meta} ${readFileSync(full, 'utf8')}`;
    }
  };
  walk(join(world.dir, 'hosts'), 'hosts');
  return state;
}

/** How makeCertificates makes the certificate. */
export interface CertOptions {
  /** The subjectAltName value (default: DNS: every master's host, IP: every master's ip). */
  sans?: string;
  /** openssl x509 -days for the certificate (default 365); ignored with `dates`. */
  days?: number;
  /** [notBefore, notAfter] as YYYYMMDDHHMMSSZ: signs with `openssl ca` instead, which takes any dates. */
  dates?: [string, string];
  /** Where the files go, relative to the project (default: the world's tls paths). */
  files?: { ca: string; cert: string; key: string };
}

function openssl(cwd: string, args: string[]): void {
  const result = spawnSync('openssl', args, { cwd, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`openssl ${args.join(' ')} failed:\n${result.stdout}${result.stderr}`);
}

/**
 * A real CA and a certificate signed by it, made with openssl, in place of the world's dummy files: SANs for
 * every master's host and ip unless `sans` says otherwise; serverAuth and clientAuth. Returns the CA's key path,
 * for tests that make more certificates with it.
 */
export function makeCertificates(world: World, options: CertOptions = {}): { caKey: string } {
  const files = options.files ?? TLS;
  const work = join(world.dir, 'pki-work');
  mkdirSync(work, { recursive: true });
  const sans =
    options.sans ?? [...MASTERS.map((m) => `DNS:${m}.node.local.consul`), ...MASTERS.map((_, i) => `IP:192.168.56.${11 + i}`)].join(',');
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  const ca = join(world.project, files.ca);
  const caKey = join(work, `${files.ca}.key`);
  const cert = join(world.project, files.cert);
  const key = join(world.project, files.key);
  openssl(work, ['req', '-x509', ...ec, '-keyout', caKey, '-out', ca, '-days', '3650', '-subj', '/CN=etcd-bootstrap test CA']);
  openssl(work, ['req', '-new', ...ec, '-keyout', key, '-out', 'server.csr', '-subj', '/CN=kubernetes']);
  writeFile(join(work, 'ext.cnf'), `subjectAltName=${sans}\nextendedKeyUsage=serverAuth,clientAuth\nkeyUsage=digitalSignature,keyEncipherment\n`);
  if (options.dates) {
    rmSync(join(work, 'db'), { recursive: true, force: true });
    writeFile(join(work, 'db', 'index'), '');
    writeFile(join(work, 'db', 'serial'), '01\n');
    writeFile(
      join(work, 'ca.cnf'),
      '[ca]\ndefault_ca = test\n[test]\ndatabase = db/index\nnew_certs_dir = db\nserial = db/serial\ndefault_md = sha256\npolicy = any\n[any]\ncommonName = supplied\n',
    );
    openssl(work, ['ca', '-batch', '-notext', '-config', 'ca.cnf', '-cert', ca, '-keyfile', caKey, '-in', 'server.csr', '-startdate', options.dates[0], '-enddate', options.dates[1], '-extfile', 'ext.cnf', '-out', cert]);
  } else {
    openssl(work, ['x509', '-req', '-in', 'server.csr', '-CA', ca, '-CAkey', caKey, '-set_serial', '2', '-days', String(options.days ?? 365), '-extfile', 'ext.cnf', '-out', cert]);
  }
  return { caKey };
}
