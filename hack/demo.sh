#!/usr/bin/env bash
# The canaryd demo: a real canary with real traffic, decided by real measurements.
# Installs what is missing, builds (Release, build/demo), then starts on loopback ports
# chosen now: the kube-emulator, Prometheus (scraping every second), nginx in front of
# two demo-app backends, demo-bridge (canary Ingress weight -> nginx split, graceful
# reload), a load generator and `canaryd run`. Then:
#   scenario 1: v1 stable, v2 applied (healthy)      -> promoted through 10/30/60/100%
#   scenario 2: v3 applied (8% errors, slow errors)  -> aborted, traffic back to v2
# with a live timeline, and an SVG chart of both at the end (its path is printed).
# Everything started is stopped on exit, Ctrl-C included.
#
#   hack/demo.sh [--healthy-v3] [--keep-logs DIR]
#     --healthy-v3     v3 without injected errors (DEMO_BAD_ERROR_RATE=0): promoted too
#     --keep-logs DIR  keep every component's log in DIR
# Settings: see hack/demo/lib.sh (DEMO_RPS, DEMO_INTERVAL, DEMO_BAD_ERROR_RATE, ...);
# DEMO_JOBS build jobs (default: nproc); DEMO_NO_HELM=1 skips the helm install.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

while [ $# -gt 0 ]; do
  case $1 in
    --healthy-v3) export DEMO_BAD_ERROR_RATE=0 ;;
    --keep-logs) export DEMO_KEEP=$2; shift ;;
    -h | --help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "demo.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

began=$SECONDS
"$root/hack/install-deps.sh"
helm=""
if [ -f "$root/charts/canaryd/Chart.yaml" ] && [ -z "${DEMO_NO_HELM:-}" ]; then
  helm=$("$root/hack/install-helm.sh")
fi

build=$root/build/demo
export CCACHE_SLOPPINESS=pch_defines,time_macros,include_file_mtime,include_file_ctime
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$root} CCACHE_NOHASHDIR=1
echo "demo: building canaryd, kube-emulator, demo-app and demo-bridge (Release, $build)"
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCANARYD_BUILD_TESTS=OFF \
  -DCANARYD_BUILD_BENCHMARKS=OFF >/dev/null
ninja -C "$build" -j "${DEMO_JOBS:-$(nproc)}" canaryd kube-emulator demo-app demo-bridge | tail -1

demo_src=$root
demo_canaryd=$build/src/canaryd
demo_emulator=$build/hack/kube-emulator/kube-emulator
demo_app=$build/hack/demo/app/demo-app
demo_bridge=$build/hack/demo/bridge/demo-bridge
DEMO_HELM=$helm
# shellcheck source=demo/lib.sh
. "$root/hack/demo/lib.sh"
demo_traps

started=$SECONDS
echo
echo "demo: starting (every port on 127.0.0.1, chosen now)"
demo_start

demo_scenario "Scenario 1 (v1 -> v2, healthy)" v2
[ "$demo_outcome" = Promoted ] || demo_die "scenario 1: expected Promoted, got $demo_outcome: $demo_reason"

expected=Aborted
title="Scenario 2 (v2 -> v3, ${DEMO_BAD_ERROR_RATE} errors)"
if awk -v r="$DEMO_BAD_ERROR_RATE" 'BEGIN { exit !(r == 0) }'; then
  expected=Promoted
  title="Scenario 2 (v2 -> v3, no injected errors)"
fi
demo_scenario "$title" v3
[ "$demo_outcome" = "$expected" ] || demo_die "scenario 2: expected $expected, got $demo_outcome: $demo_reason"

chart=$build/canaryd-demo.svg
demo_chart "$chart"
echo
echo "demo: both scenarios done in $((SECONDS - started)) s (with install and build: $((SECONDS - began)) s)"
echo "demo: chart written to $chart"
