#!/usr/bin/env bash
# Builds the libFuzzer harnesses of tests/fuzz with clang (ASan + UBSan) in build-fuzz and
# runs them, each on a scratch copy of its corpus so the committed seeds stay as they are.
# Exits non-zero when a harness finds a crash; the input is left in build-fuzz/crashes/.
#
#   scripts/fuzz.sh                     every harness for 600 s
#   scripts/fuzz.sh --smoke             every harness for 20 s (part of scripts/test.sh)
#   scripts/fuzz.sh --seconds 60 snapshot collection
#   scripts/fuzz.sh --no-build ...      reuse build-fuzz as it is
# Harnesses: snapshot collection service_bodies options.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root" || exit 1

seconds=600
build=1
harnesses=()
while (($#)); do
  case $1 in
    --smoke) seconds=20 ;;
    --seconds) seconds=$2; shift ;;
    --no-build) build=0 ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
    -*) echo "fuzz.sh: unknown option $1" >&2; exit 2 ;;
    *) harnesses+=("$1") ;;
  esac
  shift
done
((${#harnesses[@]})) || harnesses=(snapshot collection service_bodies options)

dir=build-fuzz
if ((build)); then
  flags="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all"
  flags+=" -fno-omit-frame-pointer -fsanitize-ignorelist=$root/tests/fuzz/ubsan.ignorelist"
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ \
    -DMDFS_FUZZ=ON -DCMAKE_CXX_FLAGS="$flags" -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" \
    >/dev/null || exit 1
  targets=()
  for h in "${harnesses[@]}"; do targets+=(--target "fuzz_$h"); done
  cmake --build "$dir" -j"$(nproc)" "${targets[@]}" >"$dir/build.log" 2>&1 ||
    { tail -40 "$dir/build.log"; exit 1; }
fi

export ASAN_OPTIONS="halt_on_error=1:abort_on_error=1:detect_leaks=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
mkdir -p "$dir/crashes"
failed=()
for h in "${harnesses[@]}"; do
  work="$dir/corpus/$h"
  mkdir -p "$work"
  cp -n tests/fuzz/corpus/"$h"/* "$work"/ 2>/dev/null
  echo "=== fuzz $h for $seconds s"
  # -rss_limit_mb: the builder must stay far below 2 GiB whatever the input.
  if "$dir/fuzz/fuzz_$h" -max_total_time="$seconds" -dict=tests/fuzz/json.dict \
    -max_len=65536 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$dir/crashes/$h-" "$work" >"$dir/$h.log" 2>&1; then
    grep -E "^#[0-9]+.*(DONE|pulse)|stat::number_of_executed_units|stat::peak_rss" "$dir/$h.log" | tail -3
  else
    tail -40 "$dir/$h.log"
    echo "fuzz.sh: $h found a crash (see $dir/crashes/); add it to tests/fuzz/corpus/$h/" >&2
    failed+=("$h")
  fi
done
if ((${#failed[@]})); then
  echo "fuzz.sh: FAILED: ${failed[*]}" >&2
  exit 1
fi
echo "fuzz.sh: no findings"
