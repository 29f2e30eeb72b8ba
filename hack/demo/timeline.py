#!/usr/bin/env python3
"""The demo's live timeline: follows one release of the demo Rollout until canaryd
promotes or aborts it, printing a line whenever something changes (step, weight set in
the cluster and in nginx, the traffic split the load generator sees, the error rate and
p95 canaryd measured against their thresholds, its decision). Appends one sample a
poll to <work>/samples.tsv for the chart and writes "<Promoted|Aborted> <reason>" to
<work>/result. Standard library only; reads the cluster with kubectl.
"""
import argparse
import json
import math
import os
import re
import subprocess
import sys
import time
import urllib.parse
import urllib.request

POLL_SECONDS = 0.5


def kubectl_json(args, kubeconfig):
    out = subprocess.run(["kubectl", "--kubeconfig", kubeconfig, *args, "-o", "json"],
                         capture_output=True, text=True, timeout=20)
    if out.returncode != 0:
        return None
    return json.loads(out.stdout)


def prometheus_value(address, query):
    """The single value of an instant query, or None (no data, NaN, an error)."""
    url = address + "/api/v1/query?" + urllib.parse.urlencode({"query": query})
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            body = json.load(response)
        result = body["data"]["result"]
        if body["data"]["resultType"] == "scalar":
            value = float(result[1])
        elif len(result) == 1:
            value = float(result[0]["value"][1])
        else:
            return None
        return None if math.isnan(value) or math.isinf(value) else value
    except Exception:  # noqa: BLE001 - a missing sample is only a gap in the chart
        return None


def last_line(path, prefix):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            lines = [line.rstrip("\n") for line in f if line.startswith(prefix)]
    except OSError:
        return None
    return lines[-1] if lines else None


def traffic(work):
    """The versions answering in the load generator's last second: "v1 90% v2 10%"."""
    line = last_line(os.path.join(work, "load.log"), "load: ")
    if not line:
        return "-"
    counts = {m.group(1): int(m.group(2)) for m in re.finditer(r" (v\w+)=(\d+)", line)}
    total = sum(counts.values())
    if not total:
        return "-"
    return " ".join(f"{v} {round(100 * n / total)}%" for v, n in sorted(counts.items()))


def nginx_weight(work):
    line = last_line(os.path.join(work, "bridge.out"), "weight ")
    return int(line.split()[1]) if line else 0


def backend(work, name):
    line = last_line(os.path.join(work, "bridge.out"), f"backend {name} ")
    return line.split()[2] if line else "-"


def fmt_ratio(v):
    return "-" if v is None else f"{100 * v:.1f}%"


def fmt_seconds(v):
    return "-" if v is None else f"{v:.3f}s"


def metric_cell(metrics, name, fmt):
    m = metrics.get(name)
    if not m or "lastValue" not in m:
        return "-"
    try:
        value = float(m["lastValue"])
    except ValueError:
        return m["lastValue"]
    verdict = "ok" if m.get("phase") in ("Successful", "Running") and not m.get("failed") else m.get("phase", "")
    if m.get("failed"):
        verdict = "FAIL"
    return f"{fmt(value)} {verdict}"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--kubeconfig", required=True)
    p.add_argument("--namespace", required=True)
    p.add_argument("--rollout", required=True)
    p.add_argument("--prometheus", required=True)
    p.add_argument("--work", required=True)
    p.add_argument("--scenario", required=True)
    p.add_argument("--version", required=True)
    p.add_argument("--stable-version", default="v1")
    p.add_argument("--timeout", type=float, default=170)
    p.add_argument("--max-error-rate", type=float, required=True)
    p.add_argument("--max-p95", type=float, required=True)
    a = p.parse_args()

    get = ["-n", a.namespace, "get", "rollout", a.rollout]
    first = kubectl_json(get, a.kubeconfig) or {}
    seen = {(h.get("podHash"), h.get("finishedAt"))
            for h in first.get("status", {}).get("history", [])}
    stable_version = backend(a.work, "stable")
    start = time.time()
    error_q = ('(sum(rate(http_requests_total{service="web-canary",code=~"5.."}[5s])) or vector(0))'
               ' / sum(rate(http_requests_total{service="web-canary"}[5s]))')
    p95_q = ('histogram_quantile(0.95, sum by (le) '
             '(rate(http_request_duration_seconds_bucket{service="web-canary"}[5s])))')
    header = (f"  {'time':8}  {'+s':>4}  {'step':5}  {'weight':>6}  {'nginx':>5}  {'traffic (last 1s)':19}"
              f"  {'error ≤ ' + fmt_ratio(a.max_error_rate):14}  {'p95 ≤ ' + fmt_seconds(a.max_p95):14}  decision")
    thresholds = None
    printed_at = 0.0
    last_key = None
    outcome = None
    outcome_at = None
    reverted_at = None
    samples = open(os.path.join(a.work, "samples.tsv"), "a", encoding="utf-8")
    print(header, flush=True)
    while time.time() - start < a.timeout:
        now = time.time()
        ro = kubectl_json(get, a.kubeconfig)
        if ro is None:
            time.sleep(POLL_SECONDS)
            continue
        spec_steps = ro.get("spec", {}).get("strategy", {}).get("canary", {}).get("steps", [])
        st = ro.get("status", {})
        phase = st.get("phase", "")
        step = st.get("currentStepIndex")
        weight = int(st.get("canaryWeight", 0))
        analysis = st.get("analysis") or {}
        metrics = {m["name"]: m for m in analysis.get("metrics", [])}
        if thresholds is None and metrics:
            thresholds = {n: m.get("max") for n, m in metrics.items()}
        nginx = nginx_weight(a.work)
        split = traffic(a.work)
        err = prometheus_value(a.prometheus, error_q)
        p95 = prometheus_value(a.prometheus, p95_q)

        if outcome is None:
            for h in st.get("history", []):
                if (h.get("podHash"), h.get("finishedAt")) not in seen and h.get("outcome"):
                    outcome = h
                    outcome_at = now
                    break
        if outcome and outcome["outcome"] == "Aborted" and reverted_at is None and nginx == 0:
            reverted_at = now

        if outcome:
            decision = outcome["outcome"].upper()
            if outcome["outcome"] == "Aborted" and reverted_at:
                decision += f" (nginx back to {stable_version})"
        elif phase == "Paused" and step is not None and step < len(spec_steps) \
                and "pause" in spec_steps[step]:
            decision = f"pause {spec_steps[step]['pause'].get('duration', '')}"
        elif phase == "Degraded" or phase == "Paused":
            message = " ".join(st.get("message", "").split())
            decision = f"{phase}: {message[:90]}"
        elif analysis.get("phase") == "Running":
            need = 1
            if step is not None and step < len(spec_steps):
                need = spec_steps[step].get("analysis", {}).get("count", 1)
            passed = min((m.get("successful", 0) for m in metrics.values()), default=0)
            decision = f"analysis: {passed}/{need} measurements passed"
        else:
            decision = phase
        step_cell = f"{step}/{len(spec_steps)}" if step is not None else "-"
        err_cell = metric_cell(metrics, "error-rate", fmt_ratio)
        p95_cell = metric_cell(metrics, "latency-p95", fmt_seconds)
        key = (step_cell, weight, nginx, err_cell, p95_cell, decision)
        if key != last_key or now - printed_at >= 5:
            print(f"  {time.strftime('%H:%M:%S', time.localtime(now))}  {now - start:4.0f}  {step_cell:5}"
                  f"  {weight:5}%  {nginx:4}%  {split:19}  {err_cell:14}  {p95_cell:14}  {decision}",
                  flush=True)
            last_key = key
            printed_at = now
        samples.write("\t".join([
            a.scenario, a.version, f"{now - start:.2f}", str(weight), str(nginx),
            "" if err is None else f"{err:.5f}", "" if p95 is None else f"{p95:.4f}",
            metrics.get("error-rate", {}).get("lastValue", ""),
        ]) + "\n")
        samples.flush()

        if outcome:
            done = False
            if outcome["outcome"] == "Promoted":
                done = backend(a.work, "stable") == a.version and nginx == 0
            else:
                done = reverted_at is not None
            # A few seconds more, so that the chart shows what followed the decision.
            if done and now - max(outcome_at, reverted_at or 0) >= 3:
                break
        time.sleep(POLL_SECONDS)
    if outcome:
        samples.write("\t".join([a.scenario, a.version, f"{outcome_at - start:.2f}", "OUTCOME",
                                  outcome["outcome"], outcome.get("metric", "")]) + "\n")
    samples.close()

    if not outcome:
        print(f"  no decision within {a.timeout:.0f}s", flush=True)
        return 1
    took = outcome_at - start
    if thresholds:
        limits = ", ".join(f"{n} max {v}" for n, v in thresholds.items())
    else:
        limits = ""
    if outcome["outcome"] == "Promoted":
        print(f"  -> {a.version} PROMOTED after {took:.0f}s: every step passed ({limits});"
              f" stable backend now {backend(a.work, 'stable')}", flush=True)
    else:
        print(f"  -> {a.version} ABORTED after {took:.0f}s; traffic back on {stable_version}"
              f" {reverted_at - outcome_at if reverted_at else 0:.1f}s after the decision", flush=True)
    why = outcome.get("reason", "")
    if outcome.get("metric"):
        why += f": {outcome['metric']}"
        measurement = outcome.get("measurement") or {}
        if "value" in measurement:
            try:
                why += f" = {float(measurement['value']):.4g}"
            except ValueError:
                why += f" = {measurement['value']}"
            if thresholds and thresholds.get(outcome["metric"]) is not None:
                why += f" (max {thresholds[outcome['metric']]})"
    print(f"     status.history[-1]: {outcome['outcome']}, {why}", flush=True)
    with open(os.path.join(a.work, "result"), "w", encoding="utf-8") as f:
        f.write(f"{outcome['outcome']} {why}\n")
    if outcome["outcome"] == "Aborted" and not reverted_at:
        print("  nginx still sends traffic to the aborted canary", flush=True)
        return 3
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
