#!/usr/bin/env bash
# The demo's scenarios, shortened (3 s analysis interval), on the already built
# binaries, with the same machinery as hack/demo.sh (hack/demo/lib.sh): kube-emulator,
# real Prometheus and nginx, demo-bridge, demo-app backends and load, `canaryd run`.
#   demo_test.sh <bad|healthy> <canaryd> <kube-emulator> <demo-app> <demo-bridge> <source dir>
# bad:     v2 is promoted; v3 (8% errors) is aborted and nginx sends everything back to v2.
# healthy: the same with v3's error injection at 0%: v3 is promoted too, which shows that
#          the abort comes from the measurements and nothing else.
set -euo pipefail
variant=$1
demo_canaryd=$2
demo_emulator=$3
demo_app=$4
demo_bridge=$5
demo_src=$6

export DEMO_INTERVAL=${DEMO_INTERVAL:-3s} DEMO_COUNT=${DEMO_COUNT:-2} DEMO_RPS=${DEMO_RPS:-100}
case $variant in
  bad) export DEMO_BAD_ERROR_RATE=0.08 ;;
  healthy) export DEMO_BAD_ERROR_RATE=0 ;;
  *) echo "demo_test.sh: unknown variant $variant" >&2; exit 2 ;;
esac
# shellcheck source=../../hack/demo/lib.sh
. "$demo_src/hack/demo/lib.sh"
demo_traps

check() {
  if [ "$2" = "$3" ]; then echo "ok: $1"; else demo_die "$1: expected [$3], got [$2]"; fi
}

demo_start
echo "ok: started; v1 is stable and serving"

demo_scenario "Scenario 1" v2
check "healthy v2 promoted" "$demo_outcome" Promoted

demo_scenario "Scenario 2" v3
if [ "$variant" = bad ]; then
  check "faulty v3 aborted" "$demo_outcome" Aborted
  case $demo_reason in
    *error-rate* | *latency-p95*) echo "ok: the abort reason names the metric: $demo_reason" ;;
    *) demo_die "abort reason does not name a metric: $demo_reason" ;;
  esac
  check "nginx sends nothing to the canary" "$(grep -c 'canary;' "$demo_work/nginx/split.conf" || true)" 0
  # The load generator's last full second: every answer from the stable version.
  deadline=$((SECONDS + 30))
  while [ $SECONDS -lt $deadline ]; do
    last=$(grep '^load: [0-9]' "$demo_work/load.log" | tail -1)
    case $last in *v3=*) sleep 0.5 ;; *) break ;; esac
  done
  case $last in
    *v3=*) demo_die "v3 still answers after the abort: $last" ;;
    *v2=*) echo "ok: traffic back on v2: $last" ;;
    *) demo_die "no traffic after the abort: $last" ;;
  esac
else
  check "v3 without injected errors promoted" "$demo_outcome" Promoted
fi

demo_chart "$demo_work/chart.svg"
python3 -c 'import sys, xml.etree.ElementTree as e; r = e.parse(sys.argv[1]).getroot(); sys.exit(0 if len(r.findall(".//{http://www.w3.org/2000/svg}polyline")) >= 4 else 1)' \
  "$demo_work/chart.svg" || demo_die "chart is not the expected SVG"
echo "ok: chart drawn"
echo "PASS demo $variant"
