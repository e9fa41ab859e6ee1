#!/bin/bash
# Builds the libFuzzer targets (tests/fuzz/CMakeLists.txt, clang-14) and runs them.
#
#   tests/fuzz/run.sh SOURCE_DIR BUILD_DIR TARGET SECONDS
#
# For TARGET (onnx, artifact, npy, ...; the fuzz_<TARGET>.cc file) it
#   1. builds fuzz_TARGET into BUILD_DIR (ccache and make keep rebuilds cheap);
#   2. replays every file in tests/fuzz/regressions/TARGET/ (inputs that once crashed: each must now be
#      rejected cleanly or accepted);
#   3. fuzzes for SECONDS from a working copy of tests/fuzz/corpus/TARGET/ (BUILD_DIR/corpus/TARGET, so
#      the committed seeds stay small; new inputs accumulate there across runs). SECONDS 0 skips this.
# A crash, leak, UB report, timeout (10 s per input) or allocation over 2 GB fails the run; libFuzzer writes
# the input to BUILD_DIR/findings/TARGET/ -- copy it to tests/fuzz/regressions/TARGET/ once fixed.
#
# It does not take /tmp/kiln-cpu.lock itself: `make fuzz` and whoever runs ctest hold it around the run.
set -euo pipefail
src=$(cd "$1" && pwd)
build=$2
target=$3
seconds=$4
bin=$build/fuzz_$target
mkdir -p "$build"
if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S "$src/tests/fuzz" -B "$build" -DCMAKE_CXX_COMPILER=clang++-14 -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    > "$build/configure.log" 2>&1 || { tail -30 "$build/configure.log"; exit 1; }
fi
cmake --build "$build" -j 2 --target "fuzz_$target" > "$build/build_$target.log" 2>&1 || { tail -50 "$build/build_$target.log"; exit 1; }

export ASAN_OPTIONS="detect_leaks=1:allocator_may_return_null=0:abort_on_error=1:symbolize=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
limits=(-rss_limit_mb=2048 -malloc_limit_mb=2048 -timeout=10)

regressions=("$src/tests/fuzz/regressions/$target"/*)
if [ -e "${regressions[0]}" ]; then
  echo "fuzz_$target: replaying ${#regressions[@]} regression input(s)"
  "$bin" "${limits[@]}" "${regressions[@]}" > "$build/replay_$target.log" 2>&1 || { tail -60 "$build/replay_$target.log"; exit 1; }
fi

if [ "$seconds" != 0 ]; then
  corpus=$build/corpus/$target
  findings=$build/findings/$target
  mkdir -p "$corpus" "$findings"
  cp -n "$src/tests/fuzz/corpus/$target"/* "$corpus"/ 2>/dev/null || true
  echo "fuzz_$target: fuzzing for $seconds s from $(ls "$corpus" | wc -l) corpus input(s)"
  log=$build/fuzz_$target.log
  status=0
  "$bin" "${limits[@]}" -max_total_time="$seconds" -print_final_stats=1 -artifact_prefix="$findings/" "$corpus" > "$log" 2>&1 || status=$?
  grep -E "^stat::number_of_executed_units|^stat::peak_rss_mb|^#[0-9]+ +DONE" "$log" || true
  if [ $status != 0 ]; then
    tail -80 "$log"
    echo "fuzz_$target: FAILED (exit $status); the input is in $findings/"
    exit 1
  fi
fi
echo "fuzz_$target: ok"
