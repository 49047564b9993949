#!/usr/bin/env bash
# Benchmarks of issue 7: metadatafs against the tmpfs copy of its own tree (the limit) and
# against IBM's documented curl+jq way, all in one run, printed as one markdown table.
# These are figures, not pass/fail tests: a missed goal never fails the script. It does
# exit non-zero when something breaks (a build, a mount, a program, a request count).
#
#   scripts/bench.sh                 full run (several runs per figure, a few minutes)
#   scripts/bench.sh --quick         smoke run, one run per figure, under a minute
#   scripts/bench.sh --only parallel-lookups   only the concurrent cold lookup figures
#   scripts/bench.sh --only watch-latency      only the change-to-wake-up latency figures
#   scripts/bench.sh --only clouds             only the AWS, GCE and Azure figures
#   options: --runs N  --build-dir DIR (default build-bench)  --no-build  --out FILE
#
# Needs root (it mounts), cmake, jq, curl, fusermount3. Everything it starts is stopped
# and everything it creates is removed on every exit path.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

quick=0
runs=""
build_dir="$root/build-bench"
do_build=1
out_file=""
only=""
while (($#)); do
  case $1 in
    --runs | --build-dir | --out | --only)
      (($# >= 2)) || { echo "bench.sh: $1 needs a value" >&2; exit 2; } ;;&
    --quick) quick=1 ;;
    --runs) runs=$2; shift ;;
    --build-dir) build_dir=$(cd "$(dirname "$2")" && pwd)/$(basename "$2"); shift ;;
    --no-build) do_build=0 ;;
    --out) out_file=$2; shift ;;
    --only) only=$2; shift ;;
    -h | --help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done
[[ -z $only || $only == parallel-lookups || $only == watch-latency || $only == clouds ]] ||
  { echo "bench.sh: --only takes parallel-lookups, watch-latency or clouds" >&2; exit 2; }
if [[ -z $runs ]]; then ((quick)) && runs=1 || runs=5; fi
[[ $runs =~ ^[1-9][0-9]*$ ]] || { echo "bench.sh: --runs needs a positive count" >&2; exit 2; }

say() { printf '[bench %3ds] %s\n' "$SECONDS" "$*" >&2; }
die() { echo "bench.sh: FAILED: $*" >&2; exit 1; }

[[ $(id -u) -eq 0 ]] || die "mounting needs root"
for tool in cmake jq curl fusermount3 find awk sort cp; do
  command -v "$tool" >/dev/null || die "$tool is missing; run scripts/install-deps.sh"
done

# ---------------------------------------------------------------- build
if ((do_build)); then
  say "building in $build_dir"
  config=(-DMDFS_BUILD_BENCH=ON)
  [[ -f $build_dir/CMakeCache.txt ]] || config+=(-DCMAKE_BUILD_TYPE=RelWithDebInfo)
  cmake -S "$root" -B "$build_dir" "${config[@]}" >/dev/null || die "cmake configure of $build_dir"
  cmake --build "$build_dir" -j"$(nproc)" --target bench_programs >"$build_dir/bench-build.log" 2>&1 ||
    { tail -40 "$build_dir/bench-build.log" >&2; die "build"; }
fi
if grep -qE '^MDFS_SANITIZE:STRING=.+' "$build_dir/CMakeCache.txt" 2>/dev/null; then
  say "warning: $build_dir is a sanitizer build; its timings mean nothing"
fi
FS=$build_dir/metadatafs
EMU=$build_dir/metadata-emulator
RUN=$build_dir/tests/bench/bench_run
PROBE=$build_dir/tests/bench/bench_probe
WARM=$build_dir/tests/bench/bench_warm_read
WATCH=$build_dir/tests/bench/bench_watch
for p in "$FS" "$EMU" "$RUN" "$PROBE" "$WARM" "$WATCH"; do
  [[ -x $p ]] || die "$p is missing (build with -DMDFS_BUILD_BENCH=ON, target bench_programs)"
done
scale_small=$root/tests/bench/scenarios/scale-1000.json

# ---------------------------------------------------------------- processes and cleanup
work=$(mktemp -d /tmp/mdfs-bench.XXXXXX)
shm=$(mktemp -d /dev/shm/mdfs-bench.XXXXXX)
mnt=$work/mnt
mkdir "$mnt"
emu_pid=""
emu_url=""
fs_pid=""

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

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [[ -n $fs_pid ]]; then
    kill -TERM "$fs_pid" 2>/dev/null || true
    wait_gone "$fs_pid" 100 || kill -KILL "$fs_pid" 2>/dev/null || true
    wait "$fs_pid" 2>/dev/null || true
  fi
  is_mounted && { fusermount3 -u "$mnt" 2>/dev/null || fusermount3 -uz "$mnt" || true; }
  if [[ -n $emu_pid ]]; then
    kill -TERM "$emu_pid" 2>/dev/null || true
    wait_gone "$emu_pid" 50 || kill -KILL "$emu_pid" 2>/dev/null || true
    wait "$emu_pid" 2>/dev/null || true
  fi
  # Never remove anything below a mount that is still there.
  if is_mounted; then
    echo "bench.sh: $mnt is still mounted; left $work in place" >&2
  else
    chmod -R u+w "$work" "$shm" 2>/dev/null || true
    rm -rf "$work" "$shm"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

emu_start() {  # scenario name or file [cloud]
  : >"$work/emu.out"
  "$EMU" --port 0 --cloud "${2:-ibm}" --scenario "$1" >"$work/emu.out" 2>"$work/emu.err" &
  emu_pid=$!
  local i
  for ((i = 0; i < 300; i++)); do
    emu_url=$(awk 'NR == 1 && $1 == "listening" { print $3 }' "$work/emu.out")
    [[ -n $emu_url ]] && return 0
    kill -0 "$emu_pid" 2>/dev/null || break
    sleep 0.02
  done
  cat "$work/emu.err" >&2
  die "the emulator did not start with scenario $1"
}

emu_stop() {
  kill -TERM "$emu_pid"
  wait "$emu_pid" || die "the emulator exited with status $?"
  emu_pid=""
}

ctl() {  # METHOD PATH [JSON]
  # POST and PUT always carry a body: the emulator answers 400 to one without Content-Length.
  local body=()
  [[ $1 == POST || $1 == PUT ]] && body=(-d "${3-}")
  curl -sS --fail -X "$1" "$emu_url/_emulator/$2" "${body[@]}" || die "control request $1 $2"
}
set_latency() {  # ms; 0 clears every fault
  ctl DELETE faults >/dev/null
  if (($1 > 0)); then ctl POST faults "{\"kind\":\"latency\",\"path\":\"*\",\"latency_ms\":$1}" >/dev/null; fi
}
counters_reset() { ctl POST counters/reset >/dev/null; }
requests_total() { ctl GET counters | jq -r '.total'; }
requests_of() { ctl GET counters | jq -r --arg k "$1" '.requests[$k] // 0'; }

# Requests a cold walk must make: 1 token + 1 per endpoint (9 at the default API version)
# + the extra pages of the paginated collections (limit=100; keys is not paginated).
expected_walk_requests() {
  ctl GET scenario | jq '[.placement_groups, .virtual_network_interfaces,
    .cluster_network_attachments] | map((length + 99) / 100 | floor | if . < 1 then 0 else . - 1 end)
    | 10 + add'
}

fs_mount() {  # extra -o options
  "$FS" "$mnt" -f -o "endpoint=$emu_url,cloud=ibm,$1" 2>>"$work/fs.log" &
  fs_pid=$!
  local i
  for ((i = 0; i < 500; i++)); do
    is_mounted && return 0
    kill -0 "$fs_pid" 2>/dev/null || break
    sleep 0.01
  done
  tail -20 "$work/fs.log" >&2
  die "metadatafs did not mount (options $1)"
}

fs_umount() {
  kill -TERM "$fs_pid"
  wait_gone "$fs_pid" 100 || die "metadatafs did not stop within 10 s"
  local rc=0
  wait "$fs_pid" || rc=$?
  fs_pid=""
  ((rc == 0)) || { tail -20 "$work/fs.log" >&2; die "metadatafs exited with status $rc"; }
  ! is_mounted || die "$mnt is still mounted after metadatafs stopped"
}

rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$fs_pid/status"; }
hwm_kib() { awk '/^VmHWM:/ { print $2 }' "/proc/$fs_pid/status"; }
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$fs_pid/stat"; }

# ---------------------------------------------------------------- numbers
kv() { awk -v k="$2" '{ for (i = 1; i <= NF; i++) { split($i, a, "="); if (a[1] == k) { print a[2]; exit } } }' <<<"$1"; }
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0) ? a / b : 0 }'; }
le() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a <= b) }'; }
fmt_us() {  # µs value -> human time
  awk -v v="$1" 'BEGIN { if (v >= 1e6) printf "%.2f s", v / 1e6; else if (v >= 1000) printf "%.1f ms", v / 1000; else printf "%.1f µs", v }'
}
fmt_kib() { awk -v v="$1" 'BEGIN { printf "%.1f MiB", v / 1024 }'; }

# time_run RUNS WARMUP CMD... -> median µs of whole-process runs
time_run() {
  local r=$1 w=$2 line
  shift 2
  line=$("$RUN" --runs "$r" --warmup "$w" -- "$@") || die "timing: $* failed"
  kv "$line" median_us
}

rows=()
problems=()
row() { rows+=("| $1 | $2 | $3 | $4 | $5 | $6 |"); }
goal() { if "$@"; then echo "met"; else echo "**not met**"; fi; }
check() {  # description expected actual
  if [[ $2 != "$3" ]]; then
    problems+=("$1: expected $2, got $3")
    say "PROBLEM: $1: expected $2, got $3"
  fi
}

walk() { "$RUN" --runs 1 --warmup 0 -- find "$mnt" -type f -exec cat {} + >/dev/null || die "full walk of $mnt"; }

# ---- figure 3: concurrent cold lookups (also alone: --only parallel-lookups)
# Are independent endpoints fetched in parallel when asked in parallel? Read the nine
# endpoints' raw .json files at once, cold, with 20 ms per request. The instance/
# directory is looked up first (that brings the token and the instance endpoint, whose
# existence the lookup must know), so no reader's path walk waits behind another reader's
# lookup in the root directory, and the other 8 endpoints are cold. Then the same within one
# directory: once instance/name has brought the token and the instance endpoint, the five
# other endpoints' .json files in instance/ are looked up by five threads at once, each
# lookup a GET. The kernel serializes lookups in one directory unless the filesystem has
# FUSE_PARALLEL_DIROPS, which libfuse passes on from 3.17 and metadatafs itself from 3.14:
# 5 round trips without, 1 with.
endpoint_files=(instance.json instance/initialization.json instance/network_interfaces.json
  instance/network_attachments.json instance/volume_attachments.json
  instance/cluster_network_attachments.json virtual_network_interfaces.json keys.json
  placement_groups.json)
one_dir_files=(instance/initialization.json instance/network_interfaces.json
  instance/network_attachments.json instance/volume_attachments.json
  instance/cluster_network_attachments.json)
lookup_figures() {  # sets par_us and dir_us (medians, µs)
  local r line par=() dir=()
  for ((r = 0; r < runs; r++)); do
    fs_mount "ttl=3600"
    stat "$mnt/instance" >/dev/null
    set_latency 20
    counters_reset
    line=$("$PROBE" readers --threads 9 "${endpoint_files[@]/#/$mnt/}") || die "parallel endpoint readers"
    par+=("$(kv "$line" wall_us)")
    check "requests of 9 concurrent endpoint reads (8 cold)" 8 "$(requests_total)"
    set_latency 0
    fs_umount

    fs_mount "ttl=3600"
    cat "$mnt/instance/name" >/dev/null
    set_latency 20
    counters_reset
    line=$("$PROBE" readers --threads 5 "${one_dir_files[@]/#/$mnt/}") || die "readers in one directory"
    dir+=("$(kv "$line" wall_us)")
    check "requests of 5 concurrent cold lookups in instance/" 5 "$(requests_total)"
    set_latency 0
    fs_umount
  done
  par_us=$(median "${par[@]}")
  dir_us=$(median "${dir[@]}")
}
lookup_rows() {
  local libfuse
  libfuse=$("$FS" --version | sed -n 's/.*(libfuse \([^,)]*\).*/\1/p' | head -1)
  row 3 "the 9 endpoints' .json read by 9 threads at once, cold, latency 20 ms" "$(fmt_us "$par_us")" "all parallel: 1 round trip (8 cold GETs); all serial: 8" "$(awk -v v="$par_us" 'BEGIN{printf "%.1f", v/20000}') round trips" "concurrent misses fetched in parallel: $(awk -v v="$par_us" 'BEGIN{r = v / 20000; print (r < 2) ? "yes" : (r < 7) ? "partly" : "no"}')"
  row 3 "5 cold lookups in one directory (instance/*.json) by 5 threads at once, latency 20 ms, libfuse ${libfuse:-?}" "$(fmt_us "$dir_us")" "overlapping: 1 round trip; one at a time: 5" "$(awk -v v="$dir_us" 'BEGIN{printf "%.1f", v/20000}') round trips" "lookups in one directory overlap: $(awk -v v="$dir_us" 'BEGIN{r = v / 20000; print (r < 2) ? "yes" : (r < 4) ? "partly" : "no"}')"
}

# ---- figure 8: change-to-wake-up latency (issue 15), ttl=1: poll(2) on a file that was
# read, and `metadatafs watch --once` started before the change; each change at a random
# point of the refresh cycle. Its own emulator and mount (bench_watch runs both).
watch_rows() {
  local changes line
  if ((quick)); then changes=3; else changes=20; fi
  line=$("$WATCH" --metadatafs "$FS" --changes "$changes" --ttl 1) || die "bench_watch"
  local waiter
  for waiter in poll metadatafs-watch; do
    local l p50 p99
    l=$(grep "waiter=$waiter " <<<"$line")
    p50=$(kv "$l" p50_ms)
    p99=$(kv "$l" p99_ms)
    row 8 "change → wake-up, \`$([[ $waiter == poll ]] && echo "poll(2)" || echo "metadatafs watch --once")\`, ttl 1 s, $changes changes" "p50 $p50 ms, p99 $p99 ms" "TTL + 1 round trip: ≤ 1 s + RTT" "" "p99 within TTL + 1 s: $(goal le "$p99" 2000)"
  done
  say "watch latency: $(tr '\n' ' ' <<<"$line")"
}

# ---- figure 9: the other clouds (also alone: --only clouds). A cold full walk asks for each
# listing and each value once (AWS: with one session token); a warm cat against tmpfs.
cloud_rows() {
  local c leaf walk_us req gets distinct tokens once cat_m cat_t out
  for c in aws gcp azure; do
    emu_start default "$c"
    case $c in
      aws) leaf=meta-data/instance-id ;;
      gcp) leaf=instance/hostname ;;
      azure) leaf=instance/compute/vmId ;;
    esac
    w_us=() w_req=()
    for ((r = 0; r < runs; r++)); do
      fs_mount "cloud=$c,ttl=3600"
      counters_reset
      w_us+=("$(time_run 1 0 find "$mnt" -path "$mnt/well-known" -prune -o -type f -exec cat {} +)")
      w_req+=("$(requests_total)")
      gets=$(ctl GET counters | jq '[.requests | to_entries[] | select(.key | startswith("GET "))] | length')
      once=$(ctl GET counters | jq '[.requests | to_entries[] | select(.key | startswith("GET ")) | .value] | all(. == 1)')
      tokens=$(requests_of "PUT /latest/api/token")
      check "$c: every resource fetched once in a cold walk" true "$once"
      [[ $c != aws ]] || check "aws: session tokens of a cold walk" 1 "$tokens"
      fs_umount
    done
    walk_us=$(median "${w_us[@]}")
    req=$(median "${w_req[@]}")
    fs_mount "cloud=$c,ttl=3600"
    cat "$mnt/$leaf" >"$shm/$c-leaf"
    if ((quick)); then n_cat=20; else n_cat=300; fi
    out=$("$RUN" --runs "$n_cat" --warmup 5 -- cat "$mnt/$leaf" :: cat "$shm/$c-leaf") || die "timing cat ($c)"
    cat_m=$(kv "$(sed -n 1p <<<"$out")" median_us)
    cat_t=$(kv "$(sed -n 2p <<<"$out")" median_us)
    fs_umount
    emu_stop
    local expect=$gets token_note="" token_goal=""
    if [[ $c == aws ]]; then
      expect=$((gets + 1)) token_note=", $tokens token" token_goal=" + 1 token"
    fi
    row 9 "$c: cold full walk (\`find -type f -exec cat\`, well-known/ aside)" "$(fmt_us "$walk_us"), $req requests" "$gets resources, each fetched once: $once$token_note" "$(ratio "$req" "$gets") requests per resource" "1 request per resource$token_goal: $(goal test "$req" = "$expect")"
    row 9 "$c: \`cat $leaf\` (warm), whole process" "$(fmt_us "$cat_m")" "tmpfs $(fmt_us "$cat_t")" "$(ratio "$cat_m" "$cat_t")×" "≤ 1.2×: $(goal le "$(ratio "$cat_m" "$cat_t")" 1.2)"
  done
}

print_table() {
  local load_end cpu commit
  load_end=$(cut -d' ' -f1-3 /proc/loadavg)
  cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
  commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
  {
    echo "## metadatafs benchmarks ($( ((quick)) && echo quick || echo full) run)"
    echo
    echo "- machine: $cpu, $(nproc) cores, kernel $(uname -r), $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo) RAM"
    echo "- load average (1/5/15 min) at start: $load_start; at end: $load_end"
    echo "- commit $commit, $(date -u +%Y-%m-%dT%H:%MZ), $runs run(s) per figure (medians), build $(basename "$build_dir")"
    echo
    echo "| # | figure | metadatafs | reference | ratio | goal |"
    echo "|---|---|---|---|---|---|"
    printf '%s\n' "${rows[@]}"
    if ((${#problems[@]})); then
      echo
      echo "Problems:"
      printf -- '- %s\n' "${problems[@]}"
    fi
  } >"$work/table.md"
  cat "$work/table.md"
  [[ -z $out_file ]] || cp "$work/table.md" "$out_file"
}

load_start=$(cut -d' ' -f1-3 /proc/loadavg)
say "mode $( ((quick)) && echo quick || echo full), $runs run(s) per figure, work in $work"

if [[ $only == clouds ]]; then
  cloud_rows
  print_table
  say "done in $SECONDS s"
  ((${#problems[@]} == 0)) || die "${#problems[@]} problem(s), listed above"
  exit 0
fi

if [[ $only == watch-latency ]]; then
  watch_rows
  print_table
  say "done in $SECONDS s"
  exit 0
fi

if [[ $only == parallel-lookups ]]; then
  emu_start default
  lookup_figures
  emu_stop
  lookup_rows
  print_table
  say "done in $SECONDS s"
  ((${#problems[@]} == 0)) || die "${#problems[@]} problem(s), listed above"
  exit 0
fi

# ================================================================ default scenario
emu_start default
expected_default=$(expected_walk_requests)

# ---- figures 3 and 7: cold full walks at 0, 1 and 20 ms; idle and walked RSS
declare -A walk_ms walk_req
idle_rss=()
walked_rss=()
for lat in 0 1 20; do
  walls=()
  reqs=()
  for ((r = 0; r < runs; r++)); do
    fs_mount "ttl=3600"
    sleep 0.2
    ((lat == 0)) && idle_rss+=("$(rss_kib)")
    set_latency "$lat"
    counters_reset
    line=$("$RUN" --runs 1 --warmup 0 -- find "$mnt" -type f -exec cat {} +) || die "cold walk"
    walls+=("$(kv "$line" median_us)")
    reqs+=("$(requests_total)")
    ((lat == 0)) && walked_rss+=("$(rss_kib)")
    set_latency 0
    fs_umount
  done
  walk_ms[$lat]=$(median "${walls[@]}")
  walk_req[$lat]=$(median "${reqs[@]}")
  for q in "${reqs[@]}"; do check "requests of a cold walk at $lat ms" "$expected_default" "$q"; done
  say "cold walk at $lat ms: $(fmt_us "${walk_ms[$lat]}"), ${walk_req[$lat]} requests"
done

# The walk at 0 ms is a ping-pong of ~800 requests between the walker and the daemon, and
# its time depends mostly on where the scheduler puts them: on one CPU a request is a
# direct switch, across two it is two wake-ups of an idle CPU (tens of µs each in a VM).
# The placement differs from run to run and from build to build, so the same walk is also
# timed with both placements fixed: those two figures compare builds.
declare -A pin_ms
pinned_walk() {  # key, walker CPU (the daemon is on CPU 0); not in a subshell: it mounts
  local walls=() r line
  for ((r = 0; r < runs; r++)); do
    fs_mount "ttl=3600"
    taskset -a -p -c 0 "$fs_pid" >/dev/null || die "taskset of the daemon"
    sleep 0.2
    counters_reset
    line=$(taskset -c "$2" "$RUN" --runs 1 --warmup 0 -- find "$mnt" -type f -exec cat {} +) ||
      die "pinned cold walk"
    walls+=("$(kv "$line" median_us)")
    check "requests of a pinned cold walk" "$expected_default" "$(requests_total)"
    fs_umount
  done
  pin_ms[$1]=$(median "${walls[@]}")
}
if (($(nproc) >= 2)) && command -v taskset >/dev/null; then
  pinned_walk one 0
  pinned_walk two 1
  say "pinned cold walk at 0 ms: one CPU $(fmt_us "${pin_ms[one]}"), two CPUs $(fmt_us "${pin_ms[two]}")"
fi

lookup_figures

# ---- figure 4: 64 concurrent cold readers of one endpoint (instance), distinct files
fs_mount "ttl=3600"
walk
cp -a "$mnt/." "$shm/copy"
fs_umount
(cd "$shm/copy" && find instance -type f | grep -vE '^instance/(initialization|network_interfaces|network_attachments|volume_attachments|cluster_network_attachments|software_attachments)(/|\.json$)' | sort | awk 'NR <= 64') >"$work/instance-files"
mapfile -t instance_files <"$work/instance-files"
((${#instance_files[@]} > 0)) || die "no files under instance/ in the copy"
declare -A rd_p50 rd_p99 rd_gets
for lat in 0 20; do
  p50=()
  p99=()
  gets=()
  for ((r = 0; r < runs; r++)); do
    fs_mount "ttl=3600"
    set_latency "$lat"
    counters_reset
    line=$("$PROBE" readers --threads 64 "${instance_files[@]/#/$mnt/}") || die "64 concurrent readers"
    p50+=("$(kv "$line" p50_us)")
    p99+=("$(kv "$line" p99_us)")
    gets+=("$(requests_of "GET /metadata/v1/instance")")
    check "GETs of instance by 64 cold readers at $lat ms" 1 "${gets[-1]}"
    check "requests of 64 cold readers at $lat ms" 2 "$(requests_total)"
    set_latency 0
    fs_umount
  done
  rd_p50[$lat]=$(median "${p50[@]}")
  rd_p99[$lat]=$(median "${p99[@]}")
  rd_gets[$lat]=$(median "${gets[@]}")
  say "64 readers at $lat ms: p50 $(fmt_us "${rd_p50[$lat]}"), p99 $(fmt_us "${rd_p99[$lat]}"), ${rd_gets[$lat]} GET"
done

# ---- figure 2 (cold): first cat after mounting: token + GET inside the cat
cold_cat=()
for ((r = 0; r < runs; r++)); do
  fs_mount "ttl=3600"
  cold_cat+=("$(time_run 1 0 cat "$mnt/instance/name")")
  fs_umount
done
cold_cat_us=$(median "${cold_cat[@]}")

# ---- figures 1 and 2 (warm): one long-lived mount, warmed by a full walk
fs_mount "ttl=3600"
walk
(cd "$shm/copy" && find . -type f -size -4097c | sed 's|^\./||' | sort) >"$work/small-files"
n_small=$(wc -l <"$work/small-files")
say "warm reads: $n_small small files, mount against tmpfs"
if ((quick)); then gb=(--benchmark_repetitions=1 --benchmark_min_time=0.05); else
  gb=(--benchmark_repetitions="$runs" --benchmark_min_time=0.5 --benchmark_enable_random_interleaving=true); fi
cpu0=$(cpu_ticks)
"$WARM" --root "mount=$mnt" --root "tmpfs=$shm/copy" --files "$work/small-files" --one instance/name \
  "${gb[@]}" --benchmark_report_aggregates_only=true --benchmark_format=json >"$work/warm.json" \
  2>"$work/warm.err" || { cat "$work/warm.err" >&2; die "bench_warm_read"; }
daemon_cpu_ms=$((($(cpu_ticks) - cpu0) * 1000 / $(getconf CLK_TCK)))
warm() {  # benchmark name -> median ns per iteration (the single run in quick mode)
  jq -r --arg n "$1" '[.benchmarks[] | select(.run_name == $n and
    ((.aggregate_name // "median") == "median") and (.run_type == "aggregate" or .aggregate_name == null))]
    | first | .real_time * ({"ns": 1, "us": 1000, "ms": 1000000}[.time_unit])' "$work/warm.json"
}
w1m=$(warm warm_read/one_file/mount)
w1t=$(warm warm_read/one_file/tmpfs)
wam=$(warm warm_read/all_files/mount)
wat=$(warm warm_read/all_files/tmpfs)
[[ $w1m != null && $w1t != null && $wam != null && $wat != null ]] || die "warm read results missing"

# One value from a shell: cat against cat, and IBM's documented curl+jq way.
port=${emu_url##*:}
cat >"$work/ibm-way.sh" <<EOF
# IBM's "Use the instance metadata service" examples, pointed at the emulator.
curl() { command curl --connect-to api.metadata.cloud.ibm.com:80:127.0.0.1:$port "\$@"; }
instance_identity_token=\`curl -X PUT "http://api.metadata.cloud.ibm.com/instance_identity/v1/token?version=2024-11-12"\\
  -H "Metadata-Flavor: ibm"\\
  -d '{
        "expires_in": 3600
      }' | jq -r '(.access_token)'\`
access_token=\$instance_identity_token
curl -X GET "http://api.metadata.cloud.ibm.com/metadata/v1/instance?version=2024-11-12"\\
  -H "Accept: application/json"\\
  -H "Authorization: Bearer \$access_token" | jq -r .name
EOF
name=$(cat "$mnt/instance/name")
ibm_name=$(sh "$work/ibm-way.sh" 2>/dev/null) || die "the IBM curl way failed"
check "the IBM curl way's answer" "$name" "$ibm_name"
# cat against cat in turn, so load drift hits both alike; the IBM way on its own (its
# curl and jq exits would otherwise disturb whichever cat runs next).
if ((quick)); then n_cat=20 n_ibm=3; else n_cat=300 n_ibm=30; fi
out2=$("$RUN" --runs "$n_cat" --warmup 5 -- cat "$mnt/instance/name" :: cat "$shm/copy/instance/name") ||
  die "timing cat"
cat_mnt_us=$(kv "$(sed -n 1p <<<"$out2")" median_us)
cat_tmp_us=$(kv "$(sed -n 2p <<<"$out2")" median_us)
ibm_us=$(time_run "$n_ibm" 2 sh "$work/ibm-way.sh")
fs_umount

# ---- figure 6: refresh under load, 500 ms per request, reader loop over 5 TTL periods
if ((quick)); then ttl6=2 lat6=300 periods=2; else ttl6=4 lat6=500 periods=5; fi
loop_files=(instance/name instance/zone/name keys.json placement_groups.json virtual_network_interfaces.json)
l_p50=()
l_p99=()
l_rp99=()
l_rmax=()
l_max=()
l_slow=()
l_gets=()
runs6=$runs
((runs6 > 3)) && runs6=3
for ((r = 0; r < runs6; r++)); do
  fs_mount "ttl=$ttl6"
  for f in "${loop_files[@]}"; do cat "$mnt/$f" >/dev/null; done
  set_latency "$lat6"
  counters_reset
  line=$("$PROBE" loop --duration-ms $((ttl6 * periods * 1000)) --interval-us 1000 \
    --slow-ms $((lat6 / 2)) "${loop_files[@]/#/$mnt/}" 2>"$work/loop.err") ||
    { cat "$work/loop.err" >&2; die "reader loop"; }
  l_p50+=("$(kv "$line" p50_us)")
  l_p99+=("$(kv "$line" p99_us)")
  l_rp99+=("$(kv "$line" read_p99_us)")
  l_rmax+=("$(kv "$line" read_max_us)")
  l_max+=("$(kv "$line" max_us)")
  l_slow+=("$(kv "$line" stalls)")
  l_gets+=("$(requests_of "GET /metadata/v1/instance")")
  sed 's/^/  /' "$work/loop.err" >&2
  set_latency 0
  fs_umount
done
loop_p50=$(median "${l_p50[@]}")
loop_p99=$(median "${l_p99[@]}")
loop_rp99=$(median "${l_rp99[@]}")
loop_rmax=$(median "${l_rmax[@]}")
loop_max=$(median "${l_max[@]}")
loop_stalls=$(median "${l_slow[@]}")
loop_gets=$(median "${l_gets[@]}")
say "reader loop: read p99 $(fmt_us "$loop_rp99"), from schedule p99 $(fmt_us "$loop_p99"), max $(fmt_us "$loop_max"), $loop_stalls stalls"
emu_stop

# ================================================================ scale: 1,000 and 10,000
declare -A s_lscold s_lswarm s_first s_findcold s_findwarm s_rss s_hwm s_idle s_req s_exp s_n
declare -A s_lstmp s_findtmp s_entries
scales=("$scale_small" large)
for scen in "${scales[@]}"; do
  emu_start "$scen"
  key=$([[ $scen == large ]] && echo 10k || echo 1k)
  s_exp[$key]=$(expected_walk_requests)
  s_n[$key]=$(ctl GET scenario | jq '.placement_groups | length')
  a=() b=() c=() d=() e=() f=() g=() h=() q=() lt=() ft=()
  ref=$shm/pg-$key  # the limit: the same tree on tmpfs (empty files: listings only)
  for ((r = 0; r < runs; r++)); do
    fs_mount "ttl=3600"
    a+=("$(time_run 1 0 ls "$mnt/placement_groups")")
    fs_umount
    fs_mount "ttl=3600"
    line=$("$PROBE" listing "$mnt/placement_groups") || die "listing"
    c+=("$(kv "$line" first_us)")
    check "entries of placement_groups ($key)" $((s_n[$key] + 3)) "$(kv "$line" entries)"
    fs_umount
    fs_mount "ttl=3600"
    sleep 0.2
    h+=("$(rss_kib)")
    counters_reset
    d+=("$(time_run 1 0 find "$mnt/placement_groups")")
    s_entries[$key]=$(find "$mnt/placement_groups" | wc -l)
    ((r > 0)) || cp -a --attributes-only "$mnt/placement_groups" "$ref"
    # Warm, in turn: ls mount, ls tmpfs, find mount, find tmpfs.
    out5=$("$RUN" --runs 3 --warmup 1 -- ls "$mnt/placement_groups" :: ls "$ref" \
      :: find "$mnt/placement_groups" :: find "$ref") || die "warm listings"
    b+=("$(kv "$(sed -n 1p <<<"$out5")" median_us)")
    lt+=("$(kv "$(sed -n 2p <<<"$out5")" median_us)")
    e+=("$(kv "$(sed -n 3p <<<"$out5")" median_us)")
    ft+=("$(kv "$(sed -n 4p <<<"$out5")" median_us)")
    walk
    q+=("$(requests_total)")
    f+=("$(rss_kib)")
    g+=("$(hwm_kib)")
    fs_umount
  done
  s_lscold[$key]=$(median "${a[@]}")
  s_lswarm[$key]=$(median "${b[@]}")
  s_first[$key]=$(median "${c[@]}")
  s_findcold[$key]=$(median "${d[@]}")
  s_findwarm[$key]=$(median "${e[@]}")
  s_rss[$key]=$(median "${f[@]}")
  s_hwm[$key]=$(median "${g[@]}")
  s_idle[$key]=$(median "${h[@]}")
  s_req[$key]=$(median "${q[@]}")
  s_lstmp[$key]=$(median "${lt[@]}")
  s_findtmp[$key]=$(median "${ft[@]}")
  rm -rf "$ref"
  for x in "${q[@]}"; do check "requests of a full walk ($key)" "${s_exp[$key]}" "$x"; done
  say "scale $key: ls cold $(fmt_us "${s_lscold[$key]}"), warm $(fmt_us "${s_lswarm[$key]}"), RSS $(fmt_kib "${s_rss[$key]}")"
  emu_stop
done

# ================================================================ the table
x() { echo "$(ratio "$1" "$2")×"; }
idle_us=$(median "${idle_rss[@]}")
walked_us=$(median "${walked_rss[@]}")
slope=$(awk -v a="${walk_ms[20]}" -v b="${walk_ms[0]}" 'BEGIN { printf "%.1f", (a - b) / 20000 }')
slope1=$(awk -v a="${walk_ms[1]}" -v b="${walk_ms[0]}" 'BEGIN { printf "%.1f", (a - b) / 1000 }')

row 1 "warm open+read+close, one file (instance/name), in-process" "$(fmt_us "$(awk -v v="$w1m" 'BEGIN{print v/1000}')")" "tmpfs $(fmt_us "$(awk -v v="$w1t" 'BEGIN{print v/1000}')")" "$(x "$w1m" "$w1t")" "≤ 2× tmpfs: $(goal le "$(ratio "$w1m" "$w1t")" 2)"
row 1 "warm open+read+close, all $n_small small files in turn" "$(fmt_us "$(awk -v v="$wam" 'BEGIN{print v/1000}')")" "tmpfs $(fmt_us "$(awk -v v="$wat" 'BEGIN{print v/1000}')")" "$(x "$wam" "$wat")" "≤ 2× tmpfs: $(goal le "$(ratio "$wam" "$wat")" 2); daemon CPU during the benchmark: $daemon_cpu_ms ms"
row 2 "\`cat instance/name\` (warm), whole process" "$(fmt_us "$cat_mnt_us")" "tmpfs $(fmt_us "$cat_tmp_us")" "$(x "$cat_mnt_us" "$cat_tmp_us")" "≤ 1.2×: $(goal le "$(ratio "$cat_mnt_us" "$cat_tmp_us")" 1.2)"
row 2 "IBM's curl PUT token + curl GET + jq (sh script)" "$(fmt_us "$ibm_us")" "warm cat $(fmt_us "$cat_mnt_us")" "cat $(x "$ibm_us" "$cat_mnt_us") faster" "≥ 15×: $(goal le 15 "$(ratio "$ibm_us" "$cat_mnt_us")")"
row 2 "\`cat instance/name\` cold (first read after mount: token + GET)" "$(fmt_us "$cold_cat_us")" "IBM way $(fmt_us "$ibm_us")" "cat $(x "$ibm_us" "$cold_cat_us") faster" "(no goal)"
for lat in 0 1 20; do
  row 3 "cold full walk \`find -type f -exec cat {} +\`, latency $lat ms" "$(fmt_us "${walk_ms[$lat]}")" "requests ${walk_req[$lat]}, expected $expected_default" "" "count: $(goal test "${walk_req[$lat]}" = "$expected_default")"
done
if [[ -n ${pin_ms[one]-} ]]; then
  row 3 "cold full walk, latency 0 ms, daemon and walker on one CPU / on two CPUs (taskset)" "$(fmt_us "${pin_ms[one]}") / $(fmt_us "${pin_ms[two]}")" "unpinned $(fmt_us "${walk_ms[0]}")" "" "(compares builds: the placement is fixed)"
fi
row 3 "walk growth with latency: round trips a cold walk waits for" "+$(fmt_us "$(awk -v a="${walk_ms[20]}" -v b="${walk_ms[0]}" 'BEGIN{print a-b}')") from 0 to 20 ms" "sum of latencies $((walk_req[20] * 20)) ms (one at a time)" "$slope round trips at 20 ms, $slope1 at 1 ms" "within 5 round trips of the 0 ms walk: $(goal le "$slope" 5)"
lookup_rows
for lat in 0 20; do
  row 4 "64 concurrent cold readers of instance/ (${#instance_files[@]} files), latency $lat ms" "p50 $(fmt_us "${rd_p50[$lat]}"), p99 $(fmt_us "${rd_p99[$lat]}")" "GETs ${rd_gets[$lat]}" "" "1 GET: $(goal test "${rd_gets[$lat]}" = 1)"
done
for key in 1k 10k; do
  row 5 "${s_n[$key]} placement groups: \`ls\` cold / warm" "$(fmt_us "${s_lscold[$key]}") / $(fmt_us "${s_lswarm[$key]}")" "tmpfs $(fmt_us "${s_lstmp[$key]}")" "warm $(x "${s_lswarm[$key]}" "${s_lstmp[$key]}")" ""
  row 5 "${s_n[$key]} placement groups: \`find\` cold / warm (${s_entries[$key]} entries)" "$(fmt_us "${s_findcold[$key]}") / $(fmt_us "${s_findwarm[$key]}")" "tmpfs $(fmt_us "${s_findtmp[$key]}")" "warm $(x "${s_findwarm[$key]}" "${s_findtmp[$key]}")" ""
  row 5 "${s_n[$key]} placement groups: time to the first entry, cold" "$(fmt_us "${s_first[$key]}")" "" "" ""
  row 5 "${s_n[$key]} placement groups: RSS after a full walk (peak)" "$(fmt_kib "${s_rss[$key]}") ($(fmt_kib "${s_hwm[$key]}"))" "requests ${s_req[$key]}, expected ${s_exp[$key]}" "" "$( [[ $key == 10k ]] && echo "< 64 MiB: $(goal le "${s_rss[$key]}" 65535)")"
done
row 5 "growth 1k → 10k (×10 entries)" "ls cold $(x "${s_lscold[10k]}" "${s_lscold[1k]}"), warm $(x "${s_lswarm[10k]}" "${s_lswarm[1k]}"); find cold $(x "${s_findcold[10k]}" "${s_findcold[1k]}"), warm $(x "${s_findwarm[10k]}" "${s_findwarm[1k]}")" "first entry $(x "${s_first[10k]}" "${s_first[1k]}")" "RSS above idle $(x "$((s_rss[10k] - s_idle[10k]))" "$((s_rss[1k] - s_idle[1k]))")" ""
row 6 "reader loop, 1 read/ms over 5 files of 4 endpoints, ttl $ttl6 s, $periods TTL periods, latency $lat6 ms" "read p99 $(fmt_us "$loop_rp99"), max $(fmt_us "$loop_rmax"); from schedule p50 $(fmt_us "$loop_p50"), p99 $(fmt_us "$loop_p99"), max $(fmt_us "$loop_max")" "reads over $((lat6 / 2)) ms: $loop_stalls" "GETs of instance: $loop_gets (refreshes)" "p99 < $lat6 ms: $(goal le "$loop_p99" $((lat6 * 1000 - 1)))"
row 7 "daemon RSS: idle / after a walk of default / after a walk of large" "$(fmt_kib "$idle_us") / $(fmt_kib "$walked_us") / $(fmt_kib "${s_rss[10k]}")" "" "" "large < 64 MiB: $(goal le "${s_rss[10k]}" 65535)"
watch_rows
cloud_rows

print_table
say "done in $SECONDS s"
((${#problems[@]} == 0)) || die "${#problems[@]} problem(s), listed above"
