#!/usr/bin/env bash
# Builds the libFuzzer targets with clang and runs each for a bounded time, starting
# from its seed corpus (manifests: tests/fuzz/corpus, the examples and the api test
# data; Prometheus responses: tests/analysis/testdata/prometheus_responses).
#   hack/fuzz.sh [SECONDS]   seconds per target (default 60); CI runs a short bound.
# New interesting inputs stay in build/fuzz/corpus-*; a crash leaves crash-* files
# there and exits non-zero.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
build=build/fuzz
export CCACHE_SLOPPINESS=pch_defines,time_macros,include_file_mtime,include_file_ctime
# Relative paths in the cache keys, so that another clone of the tree hits the cache.
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$PWD} CCACHE_NOHASHDIR=1
cmake -S . -B "$build" -G Ninja -DCANARYD_FUZZ=ON -DCMAKE_BUILD_TYPE=Debug \
  -DCMAKE_CXX_COMPILER=clang++-14 >/dev/null
cmake --build "$build" -j "$(nproc)"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:suppressions=$PWD/tests/fuzz/ubsan.supp"
for target in fuzz_manifest fuzz_prometheus_response; do
  corpus="$build/corpus-$target"
  mkdir -p "$corpus"
  case $target in
    fuzz_manifest) seeds="tests/fuzz/corpus/* manifests/examples/*.yaml tests/api/testdata/*.yaml" ;;
    fuzz_prometheus_response) seeds="tests/analysis/testdata/prometheus_responses/*" ;;
  esac
  for seed in $seeds; do
    [ -f "$seed" ] && cp "$seed" "$corpus/seed-$(basename "$seed")"
  done
  echo "fuzz: $target for ${seconds}s"
  log="$build/$target.log"
  if ! (cd "$build" && "./tests/fuzz/$target" -max_total_time="$seconds" -timeout=10 \
          -rss_limit_mb=2048 -print_final_stats=1 "corpus-$target" >"$target.log" 2>&1); then
    tail -n 60 "$log"
    echo "fuzz: $target FAILED (inputs in $build)"
    exit 1
  fi
  grep -E '^(#[0-9]+.*DONE|stat::number_of_executed_units|stat::peak_rss_mb)' "$log" || tail -n 3 "$log"
done
