# shellcheck shell=bash
# Shared helpers of the packaging tests (sourced, not run). Every helper that starts
# something records it, so that the caller's EXIT trap can stop exactly that.

# fail MESSAGE...: print and exit non-zero (the EXIT trap cleans up).
fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# wait_until SECONDS COMMAND...: polls COMMAND every 50 ms until it succeeds.
wait_until() {
  local limit=$1 i
  shift
  for ((i = 0; i < limit * 20; i++)); do
    "$@" && return 0
    sleep 0.05
  done
  "$@"
}

# mounted DIR: DIR is a metadatafs mount in this mount namespace, dead or alive. Reads
# the mount table itself: findmnt -M would resolve DIR first, which a dead mount can fail.
mounted() {
  awk -v dir="$1" '$2 == dir && $3 == "fuse.metadatafs" { found = 1 } END { exit !found }' \
    /proc/self/mounts
}

# dead_mount DIR: DIR is a FUSE mount whose daemon is gone. Probes a name never looked
# up, because the kernel may still answer stat of DIR itself from its attribute cache.
# A killed daemon's threads may still be ending when its main thread shows as a zombie:
# a probe sent before the last of them closed the device ends with "Software caused
# connection abort", and the next one sees the dead mount.
dead_mount() {
  local out
  mounted "$1" || return 1
  for _ in 1 2 3; do
    out=$(stat "$1/.mdfs-probe-$$-$RANDOM" 2>&1 >/dev/null) && return 1
    [[ $out == *"Software caused connection abort"* ]] || break
    sleep 0.2
  done
  [[ $out == *"Transport endpoint is not connected"* ]]
}

# gone PID: the process has exited (a zombie counts: this machine's PID 1 does not reap).
gone() {
  [[ ! -e /proc/$1 ]] || grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null
}

# daemon_of DIR: the pid of the metadatafs process serving DIR ("" if none).
daemon_of() {
  local p
  for p in $(pgrep -x metadatafs || true); do
    # (No `| grep -q` under pipefail: an early exit of grep would fail the pipe.)
    if [[ "$(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null)" == *" $1 "* ]]; then
      gone "$p" || {
        echo "$p"
        return 0
      }
    fi
  done
}

# start_emulator BUILD_DIR WORK_DIR: starts metadata-emulator on a free port; sets
# EMULATOR_PID and EMULATOR_URL.
start_emulator() {
  "$1/metadata-emulator" --port 0 >"$2/emulator.out" 2>"$2/emulator.err" &
  EMULATOR_PID=$!
  wait_until 10 grep -q '^listening on ' "$2/emulator.out" ||
    fail "the emulator did not start: $(cat "$2/emulator.err")"
  EMULATOR_URL=$(awk '/^listening on / { print $3; exit }' "$2/emulator.out")
}

# stop_emulator: stops the emulator start_emulator started, if any.
stop_emulator() {
  if [[ -n ${EMULATOR_PID:-} ]]; then
    kill "$EMULATOR_PID" 2>/dev/null || true
    wait "$EMULATOR_PID" 2>/dev/null || true
    EMULATOR_PID=
  fi
}

# requests "METHOD /path": how many such requests the emulator has answered.
requests() {
  curl -fsS "$EMULATOR_URL/_emulator/counters" | jq -r --arg k "$1" '.requests[$k] // 0'
}
