#!/usr/bin/env bash
# The test command: installs what is missing, builds canaryd with AddressSanitizer and
# UndefinedBehaviorSanitizer, runs every test with ctest, then runs the fuzz targets
# for a bounded time. Exits non-zero on any failure.
#   BUILD_DIR   build directory (default build/test)
#   FUZZ_SECONDS  seconds per fuzz target (default 20; 0 skips the fuzz run)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

hack/install-deps.sh

build=${BUILD_DIR:-build/test}
fuzz_seconds=${FUZZ_SECONDS:-20}
jobs=$(nproc)
export CCACHE_SLOPPINESS=pch_defines,time_macros,include_file_mtime,include_file_ctime
# Relative paths in the cache keys, so that another clone of the tree hits the cache.
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$PWD} CCACHE_NOHASHDIR=1
export CCACHE_MAXSIZE=${CCACHE_MAXSIZE:-5G}

# The sanitizer build takes about 3.6 GiB (and the fuzz build ~0.3 GiB): say so up front
# rather than leave a linker's "No space left on device" to explain it.
mkdir -p "$build"
free_kib=$(df -Pk "$build" | awk 'NR == 2 {print $4}')
echo "test.sh: $((free_kib / 1048576)) GiB free for $build"
if [ "$free_kib" -lt $((5 * 1048576)) ]; then
  echo "test.sh: warning: less than 5 GiB free; the build needs about 4 GiB" >&2
fi

start=$(date +%s)
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCANARYD_SANITIZE=ON >/dev/null
cmake --build "$build" -j "$jobs"
built=$(date +%s)
echo "test.sh: build took $((built - start)) s; $(du -sh "$build" | cut -f1) on disk"

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
ctest --test-dir "$build" --output-on-failure -j "$jobs" --timeout 900
tested=$(date +%s)
echo "test.sh: tests took $((tested - built)) s"

if [ "$fuzz_seconds" -gt 0 ]; then
  hack/fuzz.sh "$fuzz_seconds"
fi
echo "test.sh: all passed in $(( $(date +%s) - start )) s"
