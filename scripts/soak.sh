#!/usr/bin/env bash
# A soak under faults (issue 11 §3). Builds, starts the emulator and a mount with ttl=1,
# runs 64 readers walking the whole tree over and over (tests/soak/soak_readers), sends the
# daemon SIGHUP every 2 s, and every 5 s moves the emulator to the next phase of the cycle
#   down (service disabled: connections refused) / 500 / 429 (Retry-After: 1) /
#   garbage (200 with a body that is not JSON) / hang (requests never answered) /
#   token expiry (every token expired, then again every second) / healthy.
# Every 10 s it samples the daemon's RSS, open fds and threads (and its inode count).
# The mount's timeout=2 ends a hung request within its phase, and max_stale=2 makes every
# fault phase serve stale copies first and errors after.
#
#   scripts/soak.sh [--minutes N]     (default 30; CI runs --minutes 2)
#   options: --readers N (64)  --timeout S (the mount's timeout=, 2)  --max-stale S (2)
#            --build-dir DIR (build)  --no-build  --out FILE (also write the table there)
#   for experiments: --phases "500 healthy" (another cycle; it must end with healthy)
#            --hup-every S (0: no SIGHUP)  --fs-options OPTS (more -o options for the mount)
#            --wrap CMD (run the daemon under CMD, e.g. "heaptrack -o FILE"; the daemon
#            must be a direct child of CMD)
# The daemon's log, the events (phases, SIGHUPs), the readers' report and the emulator's
# log are copied to DIR/soak-logs/ when the soak fails; their lines start with the time.
#
# It fails (exit 1) when
#  - after the first minute, any sample of RSS, fds or threads is more than 5 % above the
#    highest of the first minute's samples (for RSS, above the first minute's peak, VmHWM
#    at its end, which the samples may miss). By the end of the first minute the readers have
#    walked the whole tree many times and the 35 s fault cycle has run through every phase,
#    so everything that may legitimately grow has: the FUSE worker pool (idle workers are
#    kept, so the thread count is a plateau of at most max_threads workers plus the
#    daemon's own threads), the HTTP connections of the transport's fixed handle pool
#    (their sockets come and go with the faults, so the fd count moves under a ceiling),
#    malloc's arenas. What still grows after that is a leak. The inode count, which follows
#    what the kernel's caches hold, must never exceed the tree's paths plus the root;
#  - a reader sees an undocumented outcome. Documented, and so accepted, are: EIO,
#    ETIMEDOUT and EACCES (DESIGN §3: service unreachable, timed out, 5xx/429 after the
#    deadline, malformed answer, token refused) from a call that overlapped a fault phase
#    (the script announces a fault phase before it applies the fault, and "healthy" only
#    after the fault is cleared; token expiry is a fault phase. After an outage the daemon
#    fails requests at once until its probe sees the service again, at most a few seconds
#    later: the cycle puts token expiry between the hang and the healthy phase to leave
#    the probe that time, and at the end the readers stop before the faults are cleared,
#    so a failure in the healthy phase is a defect); and ENOENT for a name that is not in
#    the tree at all (a listing made while a child endpoint's existence could not be learnt
#    shows its name; looking it up later says ENOENT, truthfully). Everything else is a
#    defect: any errno with the service healthy, ENOENT for a path the tree has (the
#    scenario never changes), ENOTCONN, ESTALE, EINVAL, EINTR…, a read whose bytes differ
#    from the reference walk made at start-up or from st_size, a healthy listing that
#    differs from the reference listing;
#  - a single call (open, read, getdents, stat, readlink, close) takes longer than
#    timeout= + 1 s, or is still running after that;
#  - the daemon dies, or does not exit 0 within 5 s of SIGTERM at the end.
# It prints a table of the samples and the maximum call latency.
#
# Needs root (it mounts), cmake, curl, fusermount3. Everything it starts is stopped and
# everything it creates is removed on every exit path, Ctrl-C included.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

minutes=30
readers=64
timeout_s=2
max_stale=2
build_dir="$root/build"
do_build=1
out_file=""
phases=(down 500 429 garbage hang token-expiry healthy)
hup_every=2
fs_options=""
wrap=()
while (($#)); do
  case $1 in
    --minutes | --readers | --timeout | --max-stale | --build-dir | --out | --phases | --hup-every | --fs-options | --wrap)
      (($# >= 2)) || { echo "soak.sh: $1 needs a value" >&2; exit 2; } ;;&
    --minutes) minutes=$2; shift ;;
    --readers) readers=$2; shift ;;
    --timeout) timeout_s=$2; shift ;;
    --max-stale) max_stale=$2; shift ;;
    --build-dir) build_dir=$(cd "$(dirname "$2")" && pwd)/$(basename "$2"); shift ;;
    --no-build) do_build=0 ;;
    --out) out_file=$2; shift ;;
    --phases) read -ra phases <<<"$2"; shift ;;
    --hup-every) hup_every=$2; shift ;;
    --fs-options) fs_options=,$2; shift ;;
    --wrap) read -ra wrap <<<"$2"; shift ;;
    -h | --help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) echo "soak.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done
[[ ${phases[-1]} == healthy ]] || { echo "soak.sh: --phases must end with healthy" >&2; exit 2; }
[[ $hup_every =~ ^[0-9]+$ ]] || { echo "soak.sh: --hup-every needs a whole number" >&2; exit 2; }
for v in minutes readers timeout_s; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || { echo "soak.sh: ${v%_s} needs a positive whole number" >&2; exit 2; }
done
[[ $max_stale =~ ^[0-9]+$ ]] || { echo "soak.sh: --max-stale needs a whole number" >&2; exit 2; }
((minutes >= 2)) || { echo "soak.sh: --minutes must be at least 2 (the first is the baseline)" >&2; exit 2; }

say() { printf '[soak %4ds] %s\n' "$SECONDS" "$*" >&2; }
die() { echo "soak.sh: FAILED: $*" >&2; exit 1; }

[[ $(id -u) -eq 0 ]] || die "mounting needs root"
for tool in cmake curl fusermount3 awk stat; do
  command -v "$tool" >/dev/null || die "$tool is missing; run scripts/install-deps.sh"
done

# ---------------------------------------------------------------- build
if ((do_build)); then
  say "building in $build_dir"
  config=()
  [[ -f $build_dir/CMakeCache.txt ]] || config+=(-DCMAKE_BUILD_TYPE=RelWithDebInfo)
  cmake -S "$root" -B "$build_dir" "${config[@]}" >/dev/null || die "cmake configure of $build_dir"
  mkdir -p "$build_dir"
  cmake --build "$build_dir" -j"$(nproc)" --target metadatafs metadata-emulator soak_readers \
    >"$build_dir/soak-build.log" 2>&1 || { tail -40 "$build_dir/soak-build.log" >&2; die "build"; }
fi
FS=$build_dir/metadatafs
EMU=$build_dir/metadata-emulator
READERS=$build_dir/tests/soak/soak_readers
for p in "$FS" "$EMU" "$READERS"; do
  [[ -x $p ]] || die "$p is missing (build the targets metadatafs metadata-emulator soak_readers)"
done

# ---------------------------------------------------------------- processes and cleanup
work=$(mktemp -d /tmp/metadatafs-soak.XXXXXX)
mnt=$work/mnt
mkdir "$mnt"
emu_pid=""
emu_url=""
ctl_url=""
fs_pid=""  # the daemon
fs_job=""  # what the script started: the daemon, or the --wrap command running it
rd_pid=""

is_mounted() { awk -v m="$mnt" '$2 == m { found = 1 } END { exit !found }' /proc/mounts; }

# Waits up to $2 tenths of a second for process $1 to end; true when it did.
wait_gone() {
  local i
  for ((i = 0; i < $2; i++)); do
    kill -0 "$1" 2>/dev/null || return 0
    sleep 0.1
  done
  ! kill -0 "$1" 2>/dev/null
}

stop_pid() {  # pid, tenths of a second to wait after SIGTERM before SIGKILL
  [[ -n $1 ]] || return 0
  kill -TERM "$1" 2>/dev/null || true
  wait_gone "$1" "$2" || kill -KILL "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if ((rc != 0)); then
    mkdir -p "$build_dir/soak-logs"
    local f
    for f in fs.log events.log readers.out readers.err emu.out emu.err rss.log; do
      [[ ! -f $work/$f ]] || cp "$work/$f" "$build_dir/soak-logs/"
    done
    echo "soak.sh: logs in $build_dir/soak-logs/" >&2
  fi
  # Hung requests first, so that nothing waits on them.
  [[ -z $ctl_url ]] || { ctl DELETE faults && ctl PUT service '{"enabled":true}'; } >/dev/null 2>&1 || true
  stop_pid "$rd_pid" 100
  stop_pid "$fs_pid" 100
  [[ $fs_job == "$fs_pid" ]] || stop_pid "$fs_job" 300
  is_mounted && { fusermount3 -u "$mnt" 2>/dev/null || fusermount3 -uz "$mnt" || true; }
  stop_pid "$emu_pid" 50
  # Never remove anything below a mount that is still there.
  if is_mounted; then
    echo "soak.sh: $mnt is still mounted; left $work in place" >&2
  else
    rm -rf "$work"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

ctl() {  # METHOD PATH [JSON]
  # POST and PUT always carry a body: the emulator answers 400 to one without Content-Length.
  local body=()
  [[ $1 == POST || $1 == PUT ]] && body=(-d "${3-}")
  curl -sS --fail --max-time 5 -X "$1" "$ctl_url/_emulator/$2" "${body[@]}"
}

emu_start() {
  : >"$work/emu.out"
  "$EMU" --port 0 --control-port 0 >"$work/emu.out" 2>"$work/emu.err" &
  emu_pid=$!
  local i
  for ((i = 0; i < 300; i++)); do
    emu_url=$(awk '$1 == "listening" { print $3 }' "$work/emu.out")
    ctl_url=$(awk '$1 == "control" { print $3 }' "$work/emu.out")
    [[ -n $emu_url && -n $ctl_url ]] && return 0
    kill -0 "$emu_pid" 2>/dev/null || break
    sleep 0.02
  done
  cat "$work/emu.err" >&2
  die "the emulator did not start"
}

# Prefixes each line with the time, so the daemon's log lines up with events.log.
stamp() { local line; while IFS= read -r line; do printf '%s %s\n' "$EPOCHREALTIME" "$line"; done; }
event() { printf '%s %s\n' "$EPOCHREALTIME" "$*" >>"$work/events.log"; }

fs_mount() {
  "${wrap[@]}" "$FS" "$mnt" -f -o "endpoint=$emu_url,cloud=ibm,ttl=1,timeout=$timeout_s,max_stale=$max_stale$fs_options" \
    2> >(stamp >>"$work/fs.log") &
  fs_pid=$!
  fs_job=$fs_pid
  local i
  for ((i = 0; i < 1000; i++)); do
    if is_mounted; then
      ((${#wrap[@]} == 0)) || fs_pid=$(pgrep -n -x metadatafs -P "$fs_job")
      return 0
    fi
    kill -0 "$fs_pid" 2>/dev/null || break
    sleep 0.01
  done
  tail -20 "$work/fs.log" >&2
  die "metadatafs did not mount"
}

# ---------------------------------------------------------------- the fault cycle
phase=healthy
announce() { echo "$1" >"$work/phase.tmp" && mv "$work/phase.tmp" "$work/phase" && event "phase $1"; }

enter_phase() {  # name
  if [[ $phase == healthy ]]; then
    announce "$1"
    sleep 0.2  # the readers see the word before the fault can touch them
  else
    announce "$1"
  fi
  { ctl DELETE faults && ctl PUT service '{"enabled":true}'; } >/dev/null ||
    die "control request clearing the faults for phase $1"
  case $1 in
    down) ctl PUT service '{"enabled":false}' ;;
    500) ctl POST faults '{"kind":"status","status":500}' ;;
    429) ctl POST faults '{"kind":"status","status":429,"retry_after_s":1}' ;;
    garbage) ctl POST faults '{"kind":"malformed"}' ;;
    hang) ctl POST faults '{"kind":"hang"}' ;;
    token-expiry) ctl POST tokens/expire && event "tokens expired" ;;
    healthy) announce healthy ;;
  esac >/dev/null || die "control request for phase $1"
  phase=$1
}

# ---------------------------------------------------------------- sampling
now_ms() { local t=${EPOCHREALTIME/./}; echo $((t / 1000)); }
samples=()    # "t rss_kib fds threads inodes calls errors defects max_us requests hwm_kib"
sample() {  # elapsed seconds
  local st=/proc/$fs_pid/status rss hwm thr fds ino prog calls errs defs maxus reqs
  rss=$(awk '/^VmRSS:/ { print $2 }' "$st")
  hwm=$(awk '/^VmHWM:/ { print $2 }' "$st")
  echo "$1 $(grep -E '^(RssAnon|RssFile|RssShmem):' "$st" | tr -s ' \t' ' ' | tr '\n' ' ')" >>"$work/rss.log"
  thr=$(awk '/^Threads:/ { print $2 }' "$st")
  fds=$(find "/proc/$fs_pid/fd" -mindepth 1 -maxdepth 1 | wc -l)
  # f_files of statfs is the daemon's inode count (statfs needs no network).
  ino=$(timeout 5 stat -f -c %c "$mnt" 2>/dev/null) || ino="-"
  prog=$(cat "$work/progress" 2>/dev/null || true)
  calls=$(kv "$prog" calls) errs=$(kv "$prog" errors) defs=$(kv "$prog" defects) maxus=$(kv "$prog" max_us)
  reqs=$(ctl GET counters 2>/dev/null | sed -n 's/.*"total":\([0-9]*\).*/\1/p') || reqs="-"
  samples+=("$1 $rss $fds $thr $ino ${calls:--} ${errs:--} ${defs:--} ${maxus:--} ${reqs:--} $hwm")
  say "sample: RSS $rss KiB, fds $fds, threads $thr, inodes $ino, calls ${calls:--}, errors ${errs:--}, defects ${defs:--}, phase $phase"
}
kv() { awk -v k="$2" '{ for (i = 1; i <= NF; i++) { split($i, a, "="); if (a[1] == k) { print a[2]; exit } } }' <<<"$1"; }
fmt_ms() { awk -v v="$1" 'BEGIN { if (v == "-") print "-"; else printf "%.1f ms", v / 1000 }'; }

# ================================================================ run
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
emu_start
announce healthy
fs_mount
say "mounted $mnt (ttl=1, timeout=$timeout_s, max_stale=$max_stale), emulator $emu_url"
"$READERS" --root "$mnt" --threads "$readers" --phase-file "$work/phase" \
  --limit-ms $(((timeout_s + 1) * 1000)) --progress "$work/progress" \
  >"$work/readers.out" 2>"$work/readers.err" &
rd_pid=$!
for ((i = 0; i < 600; i++)); do
  [[ ! -f $work/progress ]] || break
  kill -0 "$rd_pid" 2>/dev/null || { cat "$work/readers.err" >&2; die "the readers did not start"; }
  sleep 0.1
done
[[ -f $work/progress ]] || die "the readers did not start within 60 s"
n_paths=$(sed -n 's/.*reference: \([0-9]*\) paths.*/\1/p' "$work/readers.err")
say "$readers readers walking $n_paths paths; $minutes minute(s) of faults"

start=$(now_ms)
end=$((start + minutes * 60000))
next_hup=$((start + hup_every * 1000))
next_phase=$((start + 5000))
next_sample=$((start + 10000))
next_expiry=0
phase_i=0
while :; do
  t=$(now_ms)
  ((t < end)) || break
  if ! kill -0 "$fs_pid" 2>/dev/null; then
    tail -30 "$work/fs.log" >&2
    grep -q 'received SIG' "$work/fs.log" && die "metadatafs was stopped by a signal from outside the soak"
    die "metadatafs died"
  fi
  kill -0 "$emu_pid" 2>/dev/null || { tail -30 "$work/emu.err" >&2; die "the emulator died"; }
  kill -0 "$rd_pid" 2>/dev/null || { cat "$work/readers.err" >&2; die "the readers died"; }
  if ((hup_every > 0 && t >= next_hup)); then
    kill -HUP "$fs_pid"
    event SIGHUP
    next_hup=$((next_hup + hup_every * 1000))
  fi
  if ((t >= next_phase)); then
    enter_phase "${phases[phase_i]}"
    phase_i=$(((phase_i + 1) % ${#phases[@]}))
    next_expiry=$((next_phase + 1000))
    next_phase=$((next_phase + 5000))
  elif [[ $phase == token-expiry ]] && ((t >= next_expiry)); then
    ctl POST tokens/expire >/dev/null || die "control request tokens/expire"
    event "tokens expired"
    next_expiry=$((next_expiry + 1000))
  fi
  if ((t >= next_sample)); then
    sample $(((next_sample - start) / 1000))
    next_sample=$((next_sample + 10000))
  fi
  sleep 0.05
done

# ---------------------------------------------------------------- stop and judge
# The readers stop first, judged by the phase they are in; then the faults go.
problems=()
kill -TERM "$rd_pid"
wait_gone "$rd_pid" $(((timeout_s + 1) * 50 + 50)) || problems+=("the readers did not stop")
rd_rc=0
wait "$rd_pid" || rd_rc=$?
rd_pid=""
enter_phase healthy
summary=$(head -1 "$work/readers.out")
((rd_rc == 0)) || problems+=("the readers saw $(kv "$summary" defects) defect(s) (exit status $rd_rc), listed below")

kill -TERM "$fs_pid"
if wait_gone "$fs_pid" 50; then
  fs_rc=0
  wait "$fs_job" || fs_rc=$?
  ((fs_rc == 0)) || problems+=("metadatafs exited with status $fs_rc after SIGTERM")
else
  problems+=("metadatafs did not exit within 5 s of SIGTERM")
fi
fs_pid=""
fs_job=""
is_mounted && problems+=("$mnt is still mounted after metadatafs stopped")

# The growth check: every sample after the first minute against the first minute's
# highest (see the header).
brss=0 bfds=0 bthr=0 base_t=""
for s in "${samples[@]}"; do
  read -r t rss fds thr ino _ _ _ _ _ hwm <<<"$s"
  if [[ -z $base_t ]]; then
    ((rss > brss)) && brss=$rss
    # The peak itself, which samples 10 s apart miss: a fault phase's burst of listings
    # lifts RSS for a moment (the refresher trims it back).
    ((t >= 60 && hwm > brss)) && brss=$hwm
    ((fds > bfds)) && bfds=$fds
    ((thr > bthr)) && bthr=$thr
    ((t >= 60)) && base_t=$t
    continue
  fi
  for m in "RSS:$rss:$brss" "fds:$fds:$bfds" "threads:$thr:$bthr"; do
    IFS=: read -r name v b <<<"$m"
    if ((v * 100 > b * 105)); then problems+=("$name grew to $v at ${t} s from $b in the first minute (more than 5 %)"); fi
  done
  if [[ $ino != - ]] && ((ino > n_paths + 1)); then
    problems+=("$ino inodes at ${t} s, more than the tree's $n_paths paths and the root")
  fi
done
[[ -n $base_t ]] || problems+=("no sample after the first minute")

load_end=$(cut -d' ' -f1-3 /proc/loadavg)
commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
{
  echo "## metadatafs soak ($minutes min)"
  echo
  echo "- machine: $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo), $(nproc) cores, kernel $(uname -r)"
  echo "- load average at start: $load_start; at end: $load_end"
  echo "- commit $commit, $(date -u +%Y-%m-%dT%H:%MZ); mount ttl=1,timeout=$timeout_s,max_stale=$max_stale$fs_options;"
  echo "  $readers readers over $n_paths paths; SIGHUP every $hup_every s; phases of 5 s: ${phases[*]}"
  echo
  echo "| t (s) | RSS (KiB) | fds | threads | inodes | reader calls | errors (in faults) | defects | max call | service requests |"
  echo "|---|---|---|---|---|---|---|---|---|---|"
  for s in "${samples[@]}"; do
    read -r t rss fds thr ino calls errs defs maxus reqs _ <<<"$s"
    mark=""
    [[ $t == "${base_t-}" ]] && mark=" (end of the first minute)"
    echo "| $t$mark | $rss | $fds | $thr | $ino | $calls | $errs | $defs | $(fmt_ms "$maxus") | $reqs |"
  done
  echo
  echo "Readers: $summary"
  echo
  echo "Maximum latency of a single call: $(fmt_ms "$(kv "$summary" max_us)") (limit: timeout=$timeout_s s + 1 s)"
  grep '^errno: ' "$work/readers.out" | sed 's/^errno: /- /' | sort || true
} >"$work/table.md"
cat "$work/table.md"
[[ -z $out_file ]] || cp "$work/table.md" "$out_file"
if ((${#problems[@]})); then
  grep '^defect: ' "$work/readers.out" | head -50 >&2 || true
  printf 'soak.sh: %s\n' "${problems[@]}" >&2
  die "${#problems[@]} problem(s)"
fi
say "passed in $SECONDS s"
