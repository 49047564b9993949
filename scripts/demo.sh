#!/usr/bin/env bash
# Installs what is missing, builds, starts the bundled emulator with the default
# scenario, mounts metadatafs, and shows the tree.
#
#   scripts/demo.sh [MOUNTPOINT]     mount at MOUNTPOINT (default: ./metadata)
#   scripts/demo.sh --stop [MOUNTPOINT]
#
# Running it again replaces the previous demo. Needs root (FUSE mounts, packages).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
state="$root/build/demo"

stop=0
if [[ ${1:-} == --stop ]]; then
  stop=1
  shift
fi
mnt=$(realpath -m "${1:-./metadata}")

say() { printf '\n\033[1m%s\033[0m\n' "$*"; }
show() {
  printf '$ %s\n' "$*"
  (cd "$(dirname "$mnt")" && eval "$*") || true
}

# Stops what an earlier run left: the mount (live or dead) and the emulator.
cleanup_previous() {
  if grep -q " $mnt fuse.metadatafs " /proc/mounts 2>/dev/null ||
    ! stat "$mnt" >/dev/null 2>&1; then
    fusermount3 -u "$mnt" 2>/dev/null || fusermount3 -uz "$mnt" 2>/dev/null || true
  fi
  if [[ -f "$state/emulator.pid" ]]; then
    kill "$(cat "$state/emulator.pid")" 2>/dev/null || true
    rm -f "$state/emulator.pid"
  fi
}

if ((stop)); then
  cleanup_previous
  echo "demo stopped: $mnt unmounted, emulator stopped"
  exit 0
fi

say "1. Installing what is missing and building"
"$root/scripts/install-deps.sh"
cmake -S "$root" -B "$root/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$root/build" -j"$(nproc)" --target metadatafs metadata-emulator >/dev/null

cleanup_previous
mkdir -p "$state" "$mnt"

say "2. Starting the metadata service emulator (scenario: default)"
setsid "$root/build/metadata-emulator" --port 0 --scenario default \
  >"$state/emulator.out" 2>"$state/emulator.log" </dev/null &
echo $! >"$state/emulator.pid"
url=""
for _ in $(seq 100); do
  url=$(sed -n '1s/^listening on //p' "$state/emulator.out" 2>/dev/null || true)
  [[ -n $url ]] && break
  sleep 0.05
done
[[ -n $url ]] || { echo "demo: the emulator did not start:" >&2; cat "$state/emulator.log" >&2; exit 1; }
echo "emulator listening on $url"

say "3. Mounting metadatafs at $mnt"
"$root/build/metadatafs" metadatafs "$mnt" -o "endpoint=$url,allow_other,identity"
echo "mounted (the daemon logs to syslog; run it with -f to keep it in the foreground)"

say "4. A short tour"
rel=$(realpath --relative-to="$(dirname "$mnt")" "$mnt")
key=$(find "$mnt/keys/by-name" -mindepth 1 -maxdepth 1 -printf '%f\n' | sort | head -1)
show ls "$rel"
show cat "$rel/instance/name"
show ls "$rel/keys"
show "cut -c1-60 $rel/keys/by-name/$key/public_key"
show "jq -r .zone.name $rel/instance.json"
show "ls -l $rel/instance/initialization"
show "jq '{api_version, endpoint, identity_token}' $rel/.status"

say "5. Stopping"
echo "scripts/demo.sh --stop${1:+ $1}    (unmounts $mnt and stops the emulator)"
