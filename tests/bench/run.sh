#!/usr/bin/env bash
# Builds canaryd and the benchmarks as Release (no sanitizers) and runs every benchmark with
# the sizes the README's "Performance" section reports, printing each command, its table
# and its JSON file (under $OUT_DIR).
#   tests/bench/run.sh [scale|burst|steps|latency|cpu|micro|informer ...]   (default: all)
# Environment: BUILD_DIR (default build/bench), OUT_DIR (default $BUILD_DIR/bench-results),
#   SCALE_SIZES (default "100 1000 10000"), JOBS (default 2).
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
build=${BUILD_DIR:-build/bench}
out=${OUT_DIR:-$build/bench-results}
sizes=${SCALE_SIZES:-100 1000 10000}
jobs=${JOBS:-2}
export CCACHE_SLOPPINESS=pch_defines,time_macros,include_file_mtime,include_file_ctime
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$root} CCACHE_NOHASHDIR=1
export CCACHE_MAXSIZE=${CCACHE_MAXSIZE:-8G}

scenarios=("$@")
[ ${#scenarios[@]} -gt 0 ] || scenarios=(scale burst steps latency cpu micro informer)

cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCANARYD_SANITIZE=OFF \
  -DCANARYD_BUILD_BENCHMARKS=ON >/dev/null
ninja -C "$build" -j "$jobs" canaryd canaryd_cluster_bench canaryd_micro_bench \
  canaryd_informer_bench
mkdir -p "$out"
bench=$build/tests/bench
common=(--canaryd "$build/src/canaryd" --source-dir "$root")

echo "# canaryd benchmarks ($(git rev-parse --short HEAD 2>/dev/null || echo unknown), $(date -u +%Y-%m-%dT%H:%M:%SZ))"
echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'),"\
  "$(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), Linux $(uname -r)"

# run <name> <command...>: prints the command, runs it with --json $out/<name>.json.
run() {
  local name=$1
  shift
  echo
  echo "\$ $(printf '%q ' "$@")--json $out/$name.json"
  "$@" --json "$out/$name.json" | tee "$out/$name.md"
}

for s in "${scenarios[@]}"; do
  case "$s" in
  scale)
    for n in $sizes; do
      # The start-up writes and reads (one status write and four Ingress reads per Rollout)
      # would take requests/50 s at the default --kube-api-qps 50; raised so that 10,000
      # Rollouts settle in a minute. The steady state does not depend on it.
      run "scale-$n" "$bench/canaryd_cluster_bench" scale --rollouts "$n" --namespaces 10 \
        --window-seconds 60 --canaryd-args "--kube-api-qps 1000 --kube-api-burst 1000" \
        "${common[@]}"
    done
    ;;
  burst)
    run burst "$bench/canaryd_cluster_bench" burst --rollouts 1000 --namespaces 10 \
      --replay-threads 16 \
      --canaryd-args "--kube-api-qps 5000 --kube-api-burst 5000 --workers 16" "${common[@]}"
    ;;
  steps)
    run steps "$bench/canaryd_cluster_bench" steps --rollouts 10 "${common[@]}"
    ;;
  latency)
    run latency "$bench/canaryd_cluster_bench" latency --aborts 200 --concurrency 10 "${common[@]}"
    # The same with the client-side limit raised: what is left is canaryd's own path.
    run latency-qps1000 "$bench/canaryd_cluster_bench" latency --aborts 200 --concurrency 10 \
      --canaryd-args "--kube-api-qps 1000 --kube-api-burst 1000" "${common[@]}"
    ;;
  cpu)
    run cpu "$bench/canaryd_cluster_bench" cpu --rollouts 100 "${common[@]}"
    ;;
  micro)
    echo
    echo "\$ $bench/canaryd_micro_bench --benchmark_min_time=0.5"
    "$bench/canaryd_micro_bench" --benchmark_min_time=0.5 \
      --benchmark_out="$out/micro.json" --benchmark_out_format=json | tee "$out/micro.md"
    ;;
  informer)
    echo
    echo "\$ $bench/canaryd_informer_bench --objects 10000 --updates 20000"
    "$bench/canaryd_informer_bench" --objects 10000 --updates 20000 | tee "$out/informer.md"
    ;;
  *)
    echo "unknown benchmark: $s" >&2
    exit 2
    ;;
  esac
done
echo
echo "results: $out"
