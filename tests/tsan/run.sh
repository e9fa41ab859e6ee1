#!/bin/bash
# ThreadSanitizer run of the concurrency tests (EngineTest.*, SessionTest.*: many caller threads on one
# session, replicas, pipelines, the dynamic batcher, the bounded queue).
#
#   tests/tsan/run.sh SOURCE_DIR BUILD_DIR
#
# Builds kiln_tests with -fsanitize=thread into BUILD_DIR (ccache makes reruns cheap) and runs it pinned to
# one CPU: every OpenMP team then has one thread, so the only concurrency is Kiln's own threads (client
# threads, lane workers, pipeline stages). libgomp and oneDNN are not instrumented, so races between
# OpenMP worker threads would be invisible or falsely reported; one thread per team sidesteps both.
set -euo pipefail
src=$1
build=$2
cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DKILN_TSAN_TEST=OFF -DKILN_PYTHON=OFF \
  -DCMAKE_CXX_FLAGS="-fsanitize=thread -O1 -g" -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=thread" > "$build.configure.log"
cmake --build "$build" -j 2 --target kiln_tests > "$build.build.log" 2>&1 || { tail -50 "$build.build.log"; exit 1; }
export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 suppressions=$src/tests/tsan/suppressions.txt"
taskset -c "$(cut -d, -f1 <<<"$(taskset -pc $$ | sed 's/.*: //' | cut -d- -f1)")" \
  "$build/kiln_tests" --gtest_filter='EngineTest.*:SessionTest.*:CoreGroups.*'
