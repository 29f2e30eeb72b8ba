# The demo's machinery, shared by hack/demo.sh (the full demo) and
# tests/e2e/demo_test.sh (the same scenarios, shortened, under ctest). Sourcing it
# defines functions only; the caller sets the binaries and settings below and calls
# demo_start, demo_scenario ..., and demo_chart. Everything demo_start starts is stopped
# by demo_stop, which the EXIT trap runs (also after Ctrl-C or a kill).
#
# Caller sets:  demo_src (the source tree), demo_canaryd, demo_emulator, demo_app,
#               demo_bridge (binaries).
# Settings (environment, with defaults):
#   DEMO_RPS=50                 load through nginx, requests per second
#   DEMO_INTERVAL=5s            analysis interval (and the pause after the first weight)
#   DEMO_COUNT=2                passing measurements each analysis step needs
#   DEMO_MAX_ERROR_RATE=0.02    error-rate threshold (ratio)
#   DEMO_MAX_P95=0.25           latency-p95 threshold (seconds)
#   DEMO_GOOD_LATENCY_MS=20     latency of every healthy answer
#   DEMO_BAD_ERROR_RATE=0.08    v3's injected error fraction (0: v3 is healthy)
#   DEMO_BAD_ERROR_LATENCY_MS=800  how long v3's failed answers take (timeouts upstream)
#   DEMO_KEEP=<dir>             copy every log there at the end
#   DEMO_HELM=<helm binary>     also `helm install` charts/canaryd into the emulator

DEMO_RPS=${DEMO_RPS:-50}
DEMO_INTERVAL=${DEMO_INTERVAL:-5s}
DEMO_COUNT=${DEMO_COUNT:-2}
DEMO_MAX_ERROR_RATE=${DEMO_MAX_ERROR_RATE:-0.02}
DEMO_MAX_P95=${DEMO_MAX_P95:-0.25}
DEMO_GOOD_LATENCY_MS=${DEMO_GOOD_LATENCY_MS:-20}
DEMO_BAD_ERROR_RATE=${DEMO_BAD_ERROR_RATE:-0.08}
DEMO_BAD_ERROR_LATENCY_MS=${DEMO_BAD_ERROR_LATENCY_MS:-800}

demo_work=$(mktemp -d "${TMPDIR:-/tmp}/canaryd-demo.XXXXXX")
demo_names=()
demo_pids=()
demo_failed=0

demo_say() { printf '%s\n' "$*"; }
demo_die() {
  demo_failed=1
  printf 'demo: %s\n' "$*" >&2
  exit 1
}

# demo_stop: ends everything started, newest first (canaryd before the emulator it
# releases its Lease on), each gracefully (SIGTERM; nginx: QUIT) with 10 s to exit before
# SIGKILL. Idempotent.
demo_stop() {
  local i pid name deadline
  if [ -n "${demo_timeline_pid:-}" ]; then kill -TERM "$demo_timeline_pid" 2>/dev/null || true; fi
  for ((i = ${#demo_pids[@]} - 1; i >= 0; i--)); do
    pid=${demo_pids[$i]}
    name=${demo_names[$i]}
    if [ "$name" = nginx ]; then kill -QUIT "$pid" 2>/dev/null || true; else kill -TERM "$pid" 2>/dev/null || true; fi
    deadline=$((SECONDS + 10))
    while kill -0 "$pid" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.1; done
    if kill -KILL "$pid" 2>/dev/null; then echo "demo: $name did not stop in 10 s; killed" >&2; fi
    wait "$pid" 2>/dev/null || true
  done
  demo_pids=()
  demo_names=()
  if [ -n "${DEMO_KEEP:-}" ]; then
    mkdir -p "$DEMO_KEEP" && cp -r "$demo_work"/*.log "$demo_work"/*.out "$demo_work"/*.tsv "$DEMO_KEEP"/ 2>/dev/null || true
  fi
  if [ "$demo_failed" -ne 0 ]; then
    local f
    for f in "$demo_work"/*.log; do
      [ -s "$f" ] || continue
      echo "---- $(basename "$f") (last 40 lines)" >&2
      tail -40 "$f" >&2
    done
  fi
  rm -rf "$demo_work"
}

demo_traps() {
  trap demo_stop EXIT
  # Background processes of a script ignore SIGINT; the EXIT trap stops them.
  trap 'echo; echo "demo: interrupted, stopping everything" >&2; exit 130' INT TERM
}

# demo_spawn <name> <command...>: runs it in the background, stdout to <name>.out,
# stderr to <name>.log.
demo_spawn() {
  local name=$1
  shift
  "$@" >"$demo_work/$name.out" 2>"$demo_work/$name.log" &
  demo_pids+=($!)
  demo_names+=("$name")
}

# demo_wait_line <name> <regex> [seconds]: waits for a line in <name>.out.
demo_wait_line() {
  local name=$1 pattern=$2 deadline=$((SECONDS + ${3:-60}))
  while [ $SECONDS -lt $deadline ]; do
    grep -qE "$pattern" "$demo_work/$name.out" 2>/dev/null && return 0
    sleep 0.1
  done
  demo_die "$name did not print /$pattern/ (see $name.log)"
}

# demo_wait_http <url> [seconds]: waits for a 200.
demo_wait_http() {
  local url=$1 deadline=$((SECONDS + ${2:-60}))
  while [ $SECONDS -lt $deadline ]; do
    curl -fsS -o /dev/null --max-time 2 "$url" 2>/dev/null && return 0
    sleep 0.2
  done
  demo_die "$url did not answer"
}

# A free loopback port, chosen now (the kernel's pick for port 0).
demo_free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

demo_kubectl() { kubectl --kubeconfig "$demo_work/kubeconfig" "$@"; }

# demo_render <template> <output> KEY=VALUE...: replaces each @KEY@.
demo_render() {
  local in=$1 out=$2
  shift 2
  local sedargs=() kv
  for kv in "$@"; do sedargs+=(-e "s|@${kv%%=*}@|${kv#*=}|g"); done
  sed "${sedargs[@]}" "$in" >"$out"
}

demo_apply() {
  local out
  out=$(demo_kubectl apply -f "$1" 2>&1) || demo_die "kubectl apply -f $1: $out"
}

# demo_start: the emulator, the CRDs and demo objects, Prometheus, the bridge with its
# backends, nginx, canaryd, v1 as the stable version and the load through nginx.
demo_start() {
  local d=$demo_src/hack/demo
  for b in "$demo_canaryd" "$demo_emulator" "$demo_app" "$demo_bridge"; do
    [ -x "$b" ] || demo_die "missing binary $b"
  done
  demo_port_nginx=$(demo_free_port)
  demo_port_stable=$(demo_free_port)
  demo_port_canary=$(demo_free_port)
  demo_port_prometheus=$(demo_free_port)
  demo_port_metrics=$(demo_free_port)
  demo_port_health=$(demo_free_port)
  demo_prometheus="http://127.0.0.1:$demo_port_prometheus"

  demo_spawn emulator "$demo_emulator" --port 0 --kubeconfig-out "$demo_work/kubeconfig" \
    --ready-delay-ms 300
  demo_wait_line emulator '^listening on http://127.0.0.1:'
  demo_say "  kube-emulator   $(sed 's/^listening on //' "$demo_work/emulator.out")"

  demo_apply "$demo_src/crds"
  demo_render "$d/manifests/app.yaml" "$demo_work/app.yaml" \
    MAX_ERROR_RATE="$DEMO_MAX_ERROR_RATE" MAX_P95="$DEMO_MAX_P95"
  demo_apply "$demo_work/app.yaml"
  demo_kubectl create namespace canaryd-system >/dev/null 2>&1 || true
  if [ -n "${DEMO_HELM:-}" ]; then
    # The chart's objects (RBAC, Deployment, Service ...) go into the emulator as into a
    # user's cluster; the controller itself runs here, with the Deployment's flags. The
    # demo does not depend on them: an emulator without some of the chart's API groups
    # is reported and the demo goes on.
    local out
    if out=$("$DEMO_HELM" --kubeconfig "$demo_work/kubeconfig" install canaryd \
      "$demo_src/charts/canaryd" --namespace canaryd-system --skip-crds \
      --set prometheus.address="$demo_prometheus" 2>&1); then
      demo_say "  helm install    release canaryd (charts/canaryd) in canaryd-system"
    else
      demo_say "  helm install    skipped: the emulator refused the chart: ${out##*: }"
    fi
  fi

  mkdir -p "$demo_work/prometheus"
  demo_render "$d/prometheus.yml" "$demo_work/prometheus.yml" STABLE_PORT="$demo_port_stable" \
    CANARY_PORT="$demo_port_canary" CANARYD_METRICS_PORT="$demo_port_metrics"
  demo_spawn prometheus /usr/bin/prometheus --config.file="$demo_work/prometheus.yml" \
    --storage.tsdb.path="$demo_work/prometheus" --storage.tsdb.retention.time=1h \
    --web.listen-address="127.0.0.1:$demo_port_prometheus" --log.level=warn
  demo_wait_http "$demo_prometheus/-/ready"
  demo_say "  prometheus      $demo_prometheus (scrapes every 1s)"

  mkdir -p "$demo_work/nginx/tmp"
  demo_render "$d/nginx.conf" "$demo_work/nginx/nginx.conf" PREFIX="$demo_work/nginx" \
    PORT="$demo_port_nginx"
  demo_spawn bridge "$demo_bridge" --kubeconfig "$demo_work/kubeconfig" --namespace demo \
    --canary-ingress web-web-canary --stable-service web-stable --canary-service web-canary \
    --app "$demo_app" --stable-port "$demo_port_stable" --canary-port "$demo_port_canary" \
    --default-flags "--latency-ms $DEMO_GOOD_LATENCY_MS" \
    --version-flags "v3=--latency-ms $DEMO_GOOD_LATENCY_MS --error-rate $DEMO_BAD_ERROR_RATE --error-latency-ms $DEMO_BAD_ERROR_LATENCY_MS" \
    --split-file "$demo_work/nginx/split.conf" --nginx /usr/sbin/nginx \
    --nginx-prefix "$demo_work/nginx" --nginx-conf "$demo_work/nginx/nginx.conf"
  demo_wait_line bridge '^ready$'
  demo_spawn nginx /usr/sbin/nginx -p "$demo_work/nginx" -c "$demo_work/nginx/nginx.conf" \
    -e "$demo_work/nginx/error.log"
  local i
  for i in $(seq 100); do [ -s "$demo_work/nginx/nginx.pid" ] && break; sleep 0.1; done
  [ -s "$demo_work/nginx/nginx.pid" ] || demo_die "nginx did not start: $(cat "$demo_work/nginx/error.log" 2>/dev/null)"
  demo_say "  nginx           http://127.0.0.1:$demo_port_nginx (split written by demo-bridge)"

  # The flags the Helm chart's Deployment passes.
  POD_NAME=canaryd-demo POD_NAMESPACE=canaryd-system demo_spawn canaryd "$demo_canaryd" run \
    --kubeconfig "$demo_work/kubeconfig" --leader-elect=true \
    --metrics-bind-address "127.0.0.1:$demo_port_metrics" \
    --health-probe-bind-address "127.0.0.1:$demo_port_health" \
    --prometheus-address "$demo_prometheus" --log-format json --log-level info
  demo_wait_http "http://127.0.0.1:$demo_port_health/readyz"
  demo_say "  canaryd run     leader, ready (/metrics on :$demo_port_metrics, probes on :$demo_port_health)"

  demo_set_version v1
  demo_wait_stable v1
  demo_spawn load "$demo_app" load --target "http://127.0.0.1:$demo_port_nginx/" --rps "$DEMO_RPS"
  demo_say "  load            $DEMO_RPS requests/s through nginx (demo-app load)"
}

# demo_set_version <vN>: applies the Rollout with image tag vN (what a user or a GitOps
# tool does for a release).
demo_set_version() {
  demo_render "$demo_src/hack/demo/manifests/rollout.yaml" "$demo_work/rollout.yaml" \
    VERSION="$1" INTERVAL="$DEMO_INTERVAL" COUNT="$DEMO_COUNT"
  demo_apply "$demo_work/rollout.yaml"
}

# demo_wait_stable <vN>: the Rollout is Healthy and the stable backend runs vN.
demo_wait_stable() {
  local deadline=$((SECONDS + 60)) phase
  while [ $SECONDS -lt $deadline ]; do
    phase=$(demo_kubectl -n demo get rollout web -o jsonpath='{.status.phase}' 2>/dev/null || true)
    if [ "$phase" = Healthy ] && [ "$(grep '^backend stable ' "$demo_work/bridge.out" | tail -1)" = "backend stable $1" ]; then
      return 0
    fi
    sleep 0.2
  done
  demo_die "rollout did not become Healthy with $1 stable (phase $phase)"
}

# demo_scenario <title> <version>: applies the version and shows the live timeline until
# canaryd promotes or aborts it. Sets demo_outcome (Promoted / Aborted) and
# demo_reason, and appends the samples for the chart.
demo_scenario() {
  local title=$1 version=$2
  demo_say ""
  demo_say "== $title: kubectl apply the Rollout with image demo-app:$version"
  demo_set_version "$version"
  rm -f "$demo_work/result"
  # In the background and waited for, so that a signal runs the trap at once.
  python3 "$demo_src/hack/demo/timeline.py" --kubeconfig "$demo_work/kubeconfig" \
    --namespace demo --rollout web --prometheus "$demo_prometheus" --work "$demo_work" \
    --scenario "$title" --version "$version" --timeout 170 \
    --max-error-rate "$DEMO_MAX_ERROR_RATE" --max-p95 "$DEMO_MAX_P95" &
  demo_timeline_pid=$!
  wait "$demo_timeline_pid" || demo_die "$title: no decision (see the timeline above)"
  demo_timeline_pid=""
  local result
  result=$(cat "$demo_work/result")
  demo_outcome=${result%% *}
  demo_reason=${result#* }
}

# demo_chart <file.svg>: weight and measured error rate over time, every scenario.
demo_chart() {
  python3 "$demo_src/hack/demo/chart.py" --samples "$demo_work/samples.tsv" \
    --max-error-rate "$DEMO_MAX_ERROR_RATE" --out "$1" || demo_die "chart failed"
}
