#!/usr/bin/env bash
# Fetch etcd 3.5 (Debian's etcd-server and etcd-client, from sid, else trixie) for the live tests, without touching
# this machine's apt set-up: an apt configuration of its own under the cache directory (sources, lists, archives),
# `apt-get download`, then `dpkg-deb -x`. Nothing is installed; the machine's packages never change.
#
# Prints the directory that holds etcd and etcdctl. Cached: once they are there, a run downloads nothing.
# --check: downloads nothing; exits 0 when etcd 3.5 is there, 1 when it is not.
# The cache is $ETCD_BOOTSTRAP_CACHE, else ~/.cache/etcd-bootstrap; the tests look in the same place.
set -euo pipefail

cache=${ETCD_BOOTSTRAP_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/etcd-bootstrap}
dest=$cache/etcd-3.5
bin=$dest/usr/bin

is_35() {
  [[ -x $bin/etcd && -x $bin/etcdctl ]] && "$bin/etcd" --version 2>/dev/null | grep -q '^etcd Version: 3\.5\.'
}

if is_35; then
  printf '%s\n' "$bin"
  exit 0
fi
if [[ ${1:-} == --check ]]; then
  exit 1
fi

# The Debian mirror this machine already uses: a URIs: line of a deb822 .sources file, or a `deb URI suite` line.
debian_uri() {
  local file line
  for file in /etc/apt/sources.list.d/*.sources; do
    [[ -r $file ]] || continue
    while read -r line; do
      if [[ $line =~ ^URIs:[[:space:]]*([^[:space:]]+/debian)/?([[:space:]]|$) ]]; then
        printf '%s\n' "${BASH_REMATCH[1]}"
        return 0
      fi
    done <"$file"
  done
  for file in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [[ -r $file ]] || continue
    while read -r line; do
      if [[ $line =~ ^deb[[:space:]]+(\[[^]]*\][[:space:]]+)?([^[:space:]]+/debian)/?[[:space:]] ]]; then
        printf '%s\n' "${BASH_REMATCH[2]}"
        return 0
      fi
    done <"$file"
  done
  return 1
}

uri=$(debian_uri) || {
  echo 'fetch-etcd35: no Debian mirror (a .../debian URI) in /etc/apt/sources.list or /etc/apt/sources.list.d/' >&2
  exit 1
}
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
[[ -r $keyring ]] || {
  echo "fetch-etcd35: $keyring is missing (apt-get install debian-archive-keyring)" >&2
  exit 1
}

apt_dir=$cache/apt
debs=$cache/debs
mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$debs"
options=(
  -o "Dir::Etc::SourceList=$apt_dir/sources.list"
  -o Dir::Etc::SourceParts=/dev/null
  -o "Dir::State::Lists=$apt_dir/lists"
  -o "Dir::Cache=$apt_dir/cache"
  -o Dir::Etc::Preferences=/dev/null
  -o Dir::Etc::PreferencesParts=/dev/null
  -o APT::Sandbox::User=root
)

fetched=no
for suite in sid trixie; do
  printf 'deb [signed-by=%s] %s %s main\n' "$keyring" "$uri" "$suite" >"$apt_dir/sources.list"
  echo "fetch-etcd35: etcd-server and etcd-client from $uri $suite" >&2
  rm -f "$debs"/*.deb
  if apt-get "${options[@]}" -qq update >&2 && (cd "$debs" && apt-get "${options[@]}" -qq download etcd-server etcd-client >&2); then
    rm -rf "$dest.new"
    for deb in "$debs"/*.deb; do dpkg-deb -x "$deb" "$dest.new"; done
    if [[ -d $dest ]]; then mv "$dest" "$dest.old.$(date +%s)"; fi
    mv "$dest.new" "$dest"
    if is_35; then
      fetched=yes
      break
    fi
    echo "fetch-etcd35: $suite's etcd is not 3.5 ($("$bin/etcd" --version 2>&1 | head -1)); trying the next suite" >&2
  fi
done
if [[ $fetched != yes ]]; then
  echo 'fetch-etcd35: could not fetch etcd 3.5 from sid or trixie' >&2
  exit 1
fi
printf '%s\n' "$bin"
