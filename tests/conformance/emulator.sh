# shellcheck shell=bash
# Sourced by the conformance scripts: starts build/metadata-emulator in the background,
# waits for its "listening on URL" line, sets $url and $port, and stops it on exit.
# Needs a fail() function from the sourcing script.
#   start_emulator <path to metadata-emulator> [emulator options, e.g. --cloud aws]

start_emulator() {
  local emulator=$1 out
  shift
  out=$(mktemp)
  "$emulator" --port 0 "$@" >"$out" 2>&1 &
  emulator_pid=$!
  # shellcheck disable=SC2064 # expand now: the values are fixed
  trap "kill $emulator_pid 2>/dev/null; wait $emulator_pid 2>/dev/null; rm -f '$out'" EXIT
  for _ in $(seq 100); do
    grep -q '^listening on ' "$out" && break
    kill -0 "$emulator_pid" 2>/dev/null || { cat "$out" >&2; fail "the emulator did not start"; }
    sleep 0.1
  done
  url=$(sed -n 's/^listening on //p' "$out" | head -1)
  [[ -n $url ]] || fail "the emulator printed no 'listening on' line"
  # shellcheck disable=SC2034 # for the sourcing script
  port=${url##*:}
}

# The emulator's request counter for "METHOD /path" (0 when absent).
#   request_count "GET /latest/meta-data/instance-id"
request_count() {
  curl -sf "$url/_emulator/counters" | node -e '
    let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
      console.log(JSON.parse(s).requests[process.argv[1]] || 0);
    });' "$1"
}
