#!/usr/bin/env bash
# Conformance test: Debian's amazon-ec2-utils `ec2-metadata` (AWS's own IMDSv2 script)
# against build/metadata-emulator --cloud aws. The script hard-codes
# http://169.254.169.254, so the test makes a network namespace of its own with that
# address on its loopback and runs the emulator and the script inside it: no traffic
# leaves the namespace. Needs root (ip netns); exits 77 (skipped) without it.
#   ec2-metadata.sh <path to metadata-emulator>
set -euo pipefail
emulator=${1:?usage: ec2-metadata.sh <path to metadata-emulator>}
emulator=$(realpath "$emulator")

fail() { echo "ec2-metadata conformance: $*" >&2; exit 1; }
if [[ $(id -u) -ne 0 ]]; then
  echo "ec2-metadata conformance: skipped (a network namespace needs root)"
  exit 77
fi
command -v ip >/dev/null || fail "ip (iproute2) is not installed"
command -v ec2-metadata >/dev/null ||
  fail "ec2-metadata is not installed (scripts/install-deps.sh installs amazon-ec2-utils)"

ns=mdfs-ec2-$$
out=$(mktemp)
emulator_pid=
cleanup() {
  if [[ -n $emulator_pid ]]; then
    kill "$emulator_pid" 2>/dev/null || true
    wait "$emulator_pid" 2>/dev/null || true
  fi
  ip netns del "$ns" 2>/dev/null || true
  rm -f "$out"
}
trap cleanup EXIT
ip netns add "$ns"
inns() { ip netns exec "$ns" "$@"; }
inns ip link set lo up
inns ip addr add 169.254.169.254/32 dev lo

ip netns exec "$ns" "$emulator" --cloud aws --bind 169.254.169.254 --port 80 >"$out" 2>&1 &
emulator_pid=$!
for _ in $(seq 100); do
  grep -q '^listening on ' "$out" && break
  kill -0 "$emulator_pid" 2>/dev/null || { cat "$out" >&2; fail "the emulator did not start"; }
  sleep 0.1
done
grep -q '^listening on http://169.254.169.254:80' "$out" || fail "unexpected: $(cat "$out")"

scenario=$(inns curl -sf http://169.254.169.254/_emulator/scenario)
md() { jq -r ".latest[\"meta-data\"]$1" <<<"$scenario"; }
expect() { # expect <ec2-metadata option> <expected output>
  local got
  got=$(inns ec2-metadata "$1") || fail "ec2-metadata $1 failed: $got"
  [[ $got == "$2" ]] || fail "ec2-metadata $1: expected '$2', got '$got'"
  echo "ok: ec2-metadata $1 -> ${got%%$'\n'*}"
}
expect -i "instance-id: $(md '["instance-id"]')"
expect -t "instance-type: $(md '["instance-type"]')"
expect -z "placement: $(md '.placement["availability-zone"]')"
expect -o "local-ipv4: $(md '["local-ipv4"]')"
expect -v "public-ipv4: $(md '["public-ipv4"]')"
expect -a "ami-id: $(md '["ami-id"]')"
user_data=$(inns ec2-metadata -d)
[[ $user_data == "user-data: $(jq -r '.latest["user-data"]' <<<"$scenario")" ]] ||
  fail "ec2-metadata -d: got '$user_data'"
echo "ok: ec2-metadata -d -> user data"
keys=$(inns ec2-metadata -u)
[[ $keys == *"$(md '["public-keys"][0]["openssh-key"]')"* ]] || fail "ec2-metadata -u: got '$keys'"
echo "ok: ec2-metadata -u -> public keys"

counters=$(inns curl -sf http://169.254.169.254/_emulator/counters)
jq -e '.requests["PUT /latest/api/token"] >= 8 and
  .requests["GET /latest/meta-data/instance-id"] == 1 and
  .requests["GET /latest/meta-data/placement/availability-zone"] == 1 and
  .requests["GET /latest/user-data"] == 1' >/dev/null <<<"$counters" ||
  fail "counters do not show the expected IMDSv2 requests: $counters"
echo "ok: every call took a session token first (counters: $(jq -c .requests <<<"$counters" | head -c 300))"
echo "ec2-metadata conformance: amazon-ec2-utils $(dpkg-query -W -f='${Version}' amazon-ec2-utils 2>/dev/null || echo '?') passed"
