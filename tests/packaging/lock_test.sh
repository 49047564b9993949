#!/usr/bin/env bash
# metadatafs-lock (issue 13): with the lock on, only the daemon's user reaches the metadata
# service; root's curl to the same address is refused at once (curl: (7), a TCP reset); with the lock off again it
# is not. All of it in a network namespace this test creates and deletes: an interface
# there holds the service's address 169.254.169.254, the emulator listens on it (port 80),
# and metadatafs mounts from it as root and serves as its unprivileged user. The machine's
# own network and nftables rule set are never touched.
#
#   lock_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$(cd "$1" && pwd)
source_dir=$(cd "$2" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=SCRIPTDIR/lib.sh
source "$here/lib.sh"

[[ $(id -u) -eq 0 ]] || fail "needs root (network namespaces, nftables, mounting)"
for tool in ip nft nsenter curl setpriv; do
  command -v "$tool" >/dev/null || fail "$tool is missing (scripts/install-deps.sh)"
done
lock=$source_dir/packaging/metadatafs-lock
address=169.254.169.254
ns=mdfs-lock-$$
work=$(mktemp -d /tmp/mdfs-lock-XXXXXX)
mnt=$work/metadata
mkdir "$mnt"
EMULATOR_PID=
DAEMON_PID=
host_tables_before=$(nft list tables 2>/dev/null | sort || true)

in_ns() {
  nsenter --net="/run/netns/$ns" "$@"
}
# reach [setpriv options]: curl to the service as that user; prints the HTTP status (any
# answer means the connection was made) or curl's error, and fails on no answer.
reach() {
  in_ns setpriv "$@" curl -sS --max-time 5 -o /dev/null -w '%{http_code}' "$url/metadata/v1/instance" 2>&1
}
cleanup() {
  set +e
  [[ -n $DAEMON_PID ]] && kill "$DAEMON_PID" 2>/dev/null && wait "$DAEMON_PID" 2>/dev/null
  if mounted "$mnt" || dead_mount "$mnt"; then umount -l "$mnt"; fi
  [[ -n $EMULATOR_PID ]] && kill "$EMULATOR_PID" 2>/dev/null && wait "$EMULATOR_PID" 2>/dev/null
  ip netns del "$ns" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

echo "== network namespace $ns: $address on an interface of its own"
ip netns add "$ns"
in_ns ip link set lo up
# A dummy interface where the kernel has them; a veth pair (both ends inside) otherwise.
if in_ns ip link add mdfs-imds type dummy 2>/dev/null; then
  kind=dummy
else
  in_ns ip link add mdfs-imds type veth peer name mdfs-peer
  in_ns ip link set mdfs-peer up
  kind=veth
fi
in_ns ip addr add "$address/32" dev mdfs-imds
in_ns ip link set mdfs-imds up
echo "interface mdfs-imds ($kind) holds $address"

echo "== the emulator on $address:80"
: >"$work/emulator.out"
nsenter --net="/run/netns/$ns" "$build/metadata-emulator" --bind "$address" --port 80 >"$work/emulator.out" \
  2>"$work/emulator.err" &
EMULATOR_PID=$!
wait_until 10 grep -q '^listening on ' "$work/emulator.out" ||
  fail "the emulator did not start: $(cat "$work/emulator.err")"
url=http://$address
out=$(reach --reuid=0) || fail "the service is not reachable in the namespace: $out"
echo "root reaches the service before the lock (HTTP $out)"

echo "== metadatafs mounts as root and serves as its user"
nsenter --net="/run/netns/$ns" "$build/metadatafs" "$mnt" -f -o "allow_other,identity,endpoint=$url" >"$work/daemon.log" 2>&1 &
DAEMON_PID=$!
wait_until 20 mounted "$mnt" || fail "metadatafs did not mount: $(cat "$work/daemon.log")"
# It mounts first, then gives up root: wait for that.
uid_of_daemon() { awk '/^Uid:/ { print $2 }' "/proc/$DAEMON_PID/status"; }
dropped_root() { [[ $(uid_of_daemon) != 0 ]]; }
wait_until 10 dropped_root ||
  fail "the daemon serves as root: $(grep -E 'Uid|Seccomp' "/proc/$DAEMON_PID/status"; cat "$work/daemon.log")"
serving_uid=$(uid_of_daemon)
serving_user=$(id -nu "$serving_uid")
echo "the daemon serves as $serving_user (uid $serving_uid)"

echo "== metadatafs-lock start --user $serving_user"
in_ns "$lock" start --user "$serving_user"
# (The listing is captured first: under pipefail a grep -q that stops reading early fails
# the pipe when nft is still writing.)
rules=$(in_ns "$lock" status) || fail "status failed"
grep -q "meta skuid != $serving_uid" <<<"$rules" || fail "status does not show the rule: $rules"
[[ $(cat "$mnt/instance/name") == web-frontend-01 ]] || fail "the daemon cannot read through the lock"
[[ -n $(cat "$mnt/identity/token") ]] || fail "no identity token through the lock"
out=$(reach --reuid=0) && fail "root's curl reached the service through the lock: HTTP $out"
[[ $out == *"curl: (7)"* ]] || fail "root's curl failed otherwise than refused: $out"
echo "root: $out"
# Another unprivileged user is refused as well; the daemon's user is not.
other=daemon
[[ $serving_user == daemon ]] && other=bin
if out=$(reach --reuid="$other" --regid="$other" --clear-groups); then
  fail "user $other reached the service through the lock: HTTP $out"
fi
[[ $out == *"curl: (7)"* ]] || fail "user $other failed otherwise than refused: $out"
out=$(reach --reuid="$serving_uid" --regid="$serving_uid" --clear-groups) ||
  fail "the daemon's user $serving_user cannot connect: $out"
# A fresh connection of the daemon after the lock (SIGHUP drops the cache) still works.
kill -HUP "$DAEMON_PID"
[[ $(cat "$mnt/instance/name") == web-frontend-01 ]] || fail "refetch through the lock failed"

echo "== metadatafs-lock stop"
in_ns "$lock" stop
in_ns "$lock" status >/dev/null && fail "the table is still there after stop"
out=$(reach --reuid=0) || fail "root still cannot reach the service after stop: $out"

echo "== unmount, and remove the namespace"
kill -TERM "$DAEMON_PID"
wait "$DAEMON_PID" || fail "the daemon exited non-zero: $(cat "$work/daemon.log")"
DAEMON_PID=
mounted "$mnt" && fail "still mounted after SIGTERM"
kill "$EMULATOR_PID"
wait "$EMULATOR_PID" 2>/dev/null || true
EMULATOR_PID=
ip netns del "$ns"
grep -qw "$ns" <<<"$(ip netns list)" && fail "namespace $ns is left"
[[ $(nft list tables 2>/dev/null | sort || true) == "$host_tables_before" ]] ||
  fail "the machine's own nftables tables changed"
echo "PASS"
