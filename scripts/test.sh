#!/usr/bin/env bash
# Installs what is missing, then builds and runs every test through CTest in three
# configurations: plain (gcc), AddressSanitizer+UndefinedBehaviorSanitizer (gcc), and
# ThreadSanitizer built with clang, whose -Wthread-safety checks every annotated lock.
# The plain configuration also runs the benchmarks' smoke run (scripts/bench.sh --quick),
# the fuzz harnesses for 20 s each and two minutes of the soak under faults.
# Exits non-zero if any build or test fails.
#
#   scripts/test.sh                 all three configurations
#   scripts/test.sh plain asan      only the named ones (plain, asan, tsan)
#   CTEST_ARGS="-R Emulator" scripts/test.sh plain
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root" || exit 1

"$root/scripts/install-deps.sh" || { echo "test.sh: install-deps failed" >&2; exit 1; }

# Sanitizers halt on the first report, in every process a test starts.
export ASAN_OPTIONS="halt_on_error=1:abort_on_error=1:detect_leaks=1:strict_string_checks=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1"
export LSAN_OPTIONS="suppressions=$root/tests/lsan.supp"  # why: in the file

configs=("$@")
((${#configs[@]})) || configs=(plain asan tsan)
jobs=$(nproc)
failed=()

run_config() {
  local name=$1 dir sanitize build_type extra=""
  case $name in
    plain) dir=build sanitize="" build_type=RelWithDebInfo extra=-DMDFS_BUILD_BENCH=ON ;;
    asan) dir=build-asan sanitize="address,undefined" build_type=Debug ;;
    tsan) dir=build-tsan sanitize="thread" build_type=RelWithDebInfo
      extra="-DCMAKE_CXX_COMPILER=clang++ -DCMAKE_C_COMPILER=clang" ;;
    *) echo "test.sh: unknown configuration '$name' (plain, asan, tsan)" >&2; return 2 ;;
  esac
  echo "=== $name: configure and build ($dir)"
  # shellcheck disable=SC2086 # $extra holds several arguments
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=$build_type -DMDFS_SANITIZE="$sanitize" $extra >/dev/null ||
    return 1
  cmake --build "$dir" -j"$jobs" >"$dir/build.log" 2>&1 || { tail -50 "$dir/build.log"; return 1; }
  grep -E "warning:" "$dir/build.log" | sort -u | head -20
  echo "=== $name: test"
  # Mount tests mostly wait on I/O, so run more of them than there are cores.
  local ctest_args=()
  read -ra ctest_args <<<"${CTEST_ARGS:-}"
  (cd "$dir" && ctest --output-on-failure -j$((jobs * 2)) --timeout 300 "${ctest_args[@]}") ||
    return 1
  if [[ $name == plain && -z ${CTEST_ARGS:-} ]]; then
    # The benchmarks' smoke run: fails when something breaks, never on a timing.
    echo "=== $name: benchmark smoke run (scripts/bench.sh --quick)"
    scripts/bench.sh --quick --no-build --build-dir "$dir" >"$dir/bench-quick.log" 2>&1 ||
      { tail -40 "$dir/bench-quick.log"; return 1; }
    # The fuzz harnesses, 20 s each (build-fuzz, clang): fails on any finding.
    echo "=== $name: fuzz smoke run (scripts/fuzz.sh --smoke)"
    scripts/fuzz.sh --smoke >"$dir/fuzz-smoke.log" 2>&1 || { tail -40 "$dir/fuzz-smoke.log"; return 1; }
    # Two minutes of the soak under faults: fails on a leak, a hang or an undocumented errno.
    echo "=== $name: soak under faults (scripts/soak.sh --minutes 2)"
    scripts/soak.sh --minutes 2 --no-build --build-dir "$dir" >"$dir/soak.log" 2>&1 ||
      { tail -60 "$dir/soak.log"; return 1; }
  fi
}

mounts_before=$(grep " fuse.metadatafs " /proc/mounts | sort)
start=$SECONDS
for c in "${configs[@]}"; do
  t=$SECONDS
  if run_config "$c"; then
    echo "=== $c: passed in $((SECONDS - t)) s"
  else
    echo "=== $c: FAILED after $((SECONDS - t)) s"
    failed+=("$c")
  fi
done

# Nothing a test started may outlive it.
stray=$(comm -13 <(echo "$mounts_before") <(grep " fuse.metadatafs " /proc/mounts | sort))
if [[ -n $stray ]]; then
  echo "test.sh: stray metadatafs mounts left behind:" >&2
  echo "$stray" >&2
  failed+=(stray-mounts)
fi

echo "=== total $((SECONDS - start)) s"
if ((${#failed[@]})); then
  echo "test.sh: FAILED: ${failed[*]}" >&2
  exit 1
fi
echo "test.sh: all configurations passed"
