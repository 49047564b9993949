#!/usr/bin/env bash
# Installs what is missing, builds, starts the bundled emulator with the default
# scenario, mounts metadatafs, and shows the tree.
#
#   scripts/demo.sh [MOUNTPOINT]     mount at MOUNTPOINT (default: ./metadata)
#   scripts/demo.sh --cloud aws|gcp|azure [MOUNTPOINT]
#                                    the same with another cloud's metadata service
#   scripts/demo.sh --stop [MOUNTPOINT]
#
# Running it again replaces the previous demo. Needs root (FUSE mounts, packages).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
state="$root/build/demo"

stop=0
cloud=ibm
if [[ ${1:-} == --stop ]]; then
  stop=1
  shift
fi
if [[ ${1:-} == --cloud ]]; then
  cloud=${2:?--cloud needs ibm, aws, gcp or azure}
  shift 2
fi
case $cloud in
  ibm | aws | gcp | azure) ;;
  *) echo "demo: unknown cloud '$cloud' (ibm, aws, gcp or azure)" >&2; exit 2 ;;
esac
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

say "2. Starting the metadata service emulator (cloud: $cloud, its default scenario)"
setsid "$root/build/metadata-emulator" --port 0 --cloud "$cloud" --scenario default \
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
case $cloud in
  ibm) extra=identity ;;
  azure) extra=azure_resource=https://management.azure.com/ ;;
  gcp) extra=gcp_audience=https://example.com/ ;;
  aws) extra=aws_token_ttl=21600 ;;
esac
"$root/build/metadatafs" metadatafs "$mnt" -o "endpoint=$url,cloud=$cloud,allow_other,$extra"
echo "mounted (the daemon logs to syslog; run it with -f to keep it in the foreground)"

say "4. A short tour"
rel=$(realpath --relative-to="$(dirname "$mnt")" "$mnt")
tour_aws() {
  show ls "$rel" "$rel/meta-data"
  show cat "$rel/meta-data/placement/availability-zone"
  show "ls -l $rel/meta-data/public-keys/by-name"
  show "cut -c1-60 $rel/meta-data/public-keys/by-name/*/openssh-key"
  show "ls -l $rel/user-data $rel/meta-data/iam/security-credentials"
  show "jq .region $rel/dynamic/instance-identity/document"
}
tour_gcp() {
  show ls "$rel" "$rel/instance"
  show cat "$rel/instance/id" "$rel/instance/zone"
  show "ls -l $rel/instance/service-accounts/default"
  show "jq .expires_in $rel/instance/service-accounts/default/token"
  show "ls -l $rel/instance/attributes"
}
tour_azure() {
  show ls "$rel" "$rel/instance/compute"
  show cat "$rel/instance/compute/location" "$rel/instance/compute/vmSize"
  show "ls -l $rel/instance/compute/userData $rel/identity/oauth2/token"
  show "jq .expires_in $rel/identity/oauth2/token"
}
if [[ $cloud != ibm ]]; then
  "tour_$cloud"
  show "head -n 20 $rel/well-known.env"
  show "jq '{cloud, cloud_reason}' $rel/.status"
  say "5. Stopping"
  echo "scripts/demo.sh --stop${1:+ $1}    (unmounts $mnt and stops the emulator)"
  exit 0
fi
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
