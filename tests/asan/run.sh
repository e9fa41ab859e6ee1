#!/bin/bash
# The whole CTest suite under AddressSanitizer and UndefinedBehaviorSanitizer.
#
#   tests/asan/run.sh SOURCE_DIR BUILD_DIR
#
# Builds kiln, kiln_tests and the test helpers with -fsanitize=address,undefined into BUILD_DIR (GCC, as the
# release build; ccache makes reruns cheap) and runs every CTest test of that build: unit, ops, passes,
# e2e against PyTorch, bad input, conformance. Any sanitizer report fails the run (UBSan does not recover;
# ASan aborts). The ThreadSanitizer test and this one are switched off inside, so it does not recurse.
# libgomp and oneDNN are not instrumented: their memory is checked only where our code touches it.
# The Python package is off here (tested in the release build): an instrumented extension would need libasan
# preloaded into the interpreter, whose own allocations LeakSanitizer would then report.
set -euo pipefail
src=$1
build=$2
cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DKILN_TSAN_TEST=OFF -DKILN_ASAN_TEST=OFF -DKILN_PYTHON=OFF \
  -DCMAKE_CXX_FLAGS="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -O1 -g" \
  -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" > "$build.configure.log"
cmake --build "$build" -j 2 > "$build.build.log" 2>&1 || { tail -50 "$build.build.log"; exit 1; }
# detect_leaks: our allocations are checked; a leak report fails the test that made it.
export ASAN_OPTIONS="abort_on_error=1:detect_leaks=1:check_initialization_order=1:strict_string_checks=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
# gRPC, OpenSSL and cpp-httplib (kiln serve) keep process-lifetime allocations; see the file.
export LSAN_OPTIONS="suppressions=$src/tests/asan/lsan.supp:print_suppressions=0"
cd "$build"
ctest --output-on-failure -j 1 --timeout 1800
