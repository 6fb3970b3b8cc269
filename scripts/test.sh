#!/usr/bin/env bash
# Builds saddle and runs the whole Criterion suite, in the release and the asan (ASan + UBSan) builds, and the
# fault-injection script (scripts/faults.sh) on the release build.
# Fails on any failing test and on any sanitizer report (Criterion itself does not see leak reports).
set -uo pipefail
cd "$(dirname "$0")/.."

export OPENBLAS_NUM_THREADS=1          # bitwise reproducibility across runs
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"

status=0
for preset in release asan; do
  echo "== $preset: configure and build"
  cmake --preset "$preset" > "build-$preset.configure.log" 2>&1 || { cat "build-$preset.configure.log"; exit 1; }
  rm -f "build-$preset.configure.log"
  cmake --build --preset "$preset" || exit 1
  echo "== $preset: tests"
  log="build/$preset/tests.log"
  ./build/"$preset"/saddle_tests --jobs 2 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  if [ "$rc" -ne 0 ]; then
    echo "== $preset: tests failed (exit $rc)"
    status=1
  fi
  if grep -qE "SUMMARY: (AddressSanitizer|UndefinedBehaviorSanitizer|LeakSanitizer)|runtime error:" "$log"; then
    echo "== $preset: sanitizer reports above"
    status=1
  fi
  if [ "$preset" = release ]; then
    # outside Criterion's forking runner: SIGKILL at random moments, resume, bitwise comparisons, races
    echo "== $preset: fault injection (scripts/faults.sh)"
    scripts/faults.sh "build/$preset" || status=1
  fi
done
[ "$status" -eq 0 ] && echo "== all tests passed in release and asan"
exit "$status"
