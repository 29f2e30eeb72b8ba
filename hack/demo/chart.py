#!/usr/bin/env python3
"""Draws the demo's chart as a self-contained SVG: for each scenario, the canary weight
canaryd set (and nginx applied) and the canary's error rate Prometheus measured, over
time, with the error-rate threshold. Reads the samples timeline.py wrote. Standard
library only.
"""
import argparse
import html

W, PANEL_H, TOP, LEFT, RIGHT, GAP = 960, 230, 48, 64, 72, 70
BLUE, GREEN, RED, GREY = "#1f6feb", "#2da44e", "#cf222e", "#8c959f"


def read(path):
    scenarios, outcomes = {}, {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            cols = line.rstrip("\n").split("\t")
            if len(cols) < 5:
                continue
            name, version, t = cols[0], cols[1], float(cols[2])
            if cols[3] == "OUTCOME":
                outcomes[name] = (cols[4], cols[5] if len(cols) > 5 else "", t)
                continue
            err = float(cols[5]) if len(cols) > 5 and cols[5] else None
            scenarios.setdefault(name, {"version": version, "rows": []})["rows"].append(
                (t, int(cols[3]), int(cols[4]), err))
    return scenarios, outcomes


def polyline(points, color, width=2, dash=None):
    if len(points) < 2:
        return ""
    d = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
    extra = f' stroke-dasharray="{dash}"' if dash else ""
    return (f'<polyline points="{d}" fill="none" stroke="{color}" stroke-width="{width}"'
            f' stroke-linejoin="round"{extra}/>')


def text(x, y, s, size=12, color="#24292f", anchor="start", weight="normal"):
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" fill="{color}" '
            f'text-anchor="{anchor}" font-weight="{weight}">{html.escape(s)}</text>')


def panel(y0, title, rows, outcome, max_error):
    out = []
    pw = W - LEFT - RIGHT
    t_max = max(10.0, max(r[0] for r in rows))
    err_top = max(0.10, max_error * 2, max((r[3] or 0) for r in rows) * 1.15)

    def x(t):
        return LEFT + pw * t / t_max

    def y_w(w):
        return y0 + PANEL_H - PANEL_H * w / 100

    def y_e(e):
        return y0 + PANEL_H - PANEL_H * min(e, err_top) / err_top

    out.append(text(LEFT, y0 - 14, title, 15, weight="bold"))
    out.append(f'<rect x="{LEFT}" y="{y0}" width="{pw}" height="{PANEL_H}" fill="#f6f8fa" stroke="#d0d7de"/>')
    for w in (0, 25, 50, 75, 100):
        out.append(f'<line x1="{LEFT}" x2="{LEFT + pw}" y1="{y_w(w):.1f}" y2="{y_w(w):.1f}" stroke="#eaeef2"/>')
        out.append(text(LEFT - 8, y_w(w) + 4, f"{w}%", 11, BLUE, "end"))
    for i in range(5):
        e = err_top * i / 4
        out.append(text(LEFT + pw + 8, y_e(e) + 4, f"{100 * e:.1f}%", 11, RED))
    step = 10 if t_max <= 120 else 20
    for t in range(0, int(t_max) + 1, step):
        out.append(text(x(t), y0 + PANEL_H + 16, f"{t}s", 11, GREY, "middle"))
    # Threshold.
    out.append(polyline([(LEFT, y_e(max_error)), (LEFT + pw, y_e(max_error))], RED, 1, "6,4"))
    out.append(text(LEFT + pw - 4, y_e(max_error) - 5, f"error-rate max {100 * max_error:g}%", 11, RED, "end"))
    # Weight as steps, as nginx applied it (solid) and as canaryd set it (dotted).
    def steps(col):
        pts, last = [], None
        for r in rows:
            if last is not None and r[col] != last:
                pts.append((x(r[0]), y_w(last)))
            pts.append((x(r[0]), y_w(r[col])))
            last = r[col]
        return pts
    out.append(polyline(steps(1), BLUE, 1.5, "2,3"))
    out.append(polyline(steps(2), BLUE, 2.5))
    # Error rate, with gaps where the canary had no traffic.
    seg = []
    for r in rows:
        if r[3] is None:
            out.append(polyline(seg, RED, 2))
            seg = []
        else:
            seg.append((x(r[0]), y_e(r[3])))
    out.append(polyline(seg, RED, 2))
    if outcome:
        kind, metric, t = outcome
        color = GREEN if kind == "Promoted" else RED
        out.append(f'<line x1="{x(t):.1f}" x2="{x(t):.1f}" y1="{y0}" y2="{y0 + PANEL_H}" stroke="{color}" stroke-width="1.5"/>')
        label = kind.upper() + (f" ({metric})" if metric and kind != "Promoted" else "")
        anchor = "end" if x(t) > LEFT + pw * 0.7 else "start"
        dx = -6 if anchor == "end" else 6
        out.append(text(x(t) + dx, y0 + 16, label, 12, color, anchor, "bold"))
    return "\n".join(out)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--samples", required=True)
    p.add_argument("--max-error-rate", type=float, required=True)
    p.add_argument("--out", required=True)
    a = p.parse_args()
    scenarios, outcomes = read(a.samples)
    if not scenarios:
        raise SystemExit("chart: no samples")
    height = TOP + len(scenarios) * (PANEL_H + GAP) + 30
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{height}" '
             f'viewBox="0 0 {W} {height}" font-family="Helvetica, Arial, sans-serif">',
             f'<rect width="{W}" height="{height}" fill="white"/>',
             text(LEFT, 22, "canaryd demo: weight and error rate", 16, weight="bold")]
    legend_x = LEFT + 470
    parts += [polyline([(legend_x, 18), (legend_x + 24, 18)], BLUE, 2.5),
              text(legend_x + 30, 22, "weight (nginx)", 12),
              polyline([(legend_x + 130, 18), (legend_x + 154, 18)], BLUE, 1.5, "2,3"),
              text(legend_x + 160, 22, "weight (canaryd)", 12),
              polyline([(legend_x + 275, 18), (legend_x + 299, 18)], RED, 2),
              text(legend_x + 305, 22, "canary error rate", 12)]
    y = TOP + 20
    for name, s in scenarios.items():
        parts.append(panel(y, f"{name}: demo-app:{s['version']}", s["rows"], outcomes.get(name),
                           a.max_error_rate))
        y += PANEL_H + GAP
    parts.append("</svg>")
    with open(a.out, "w", encoding="utf-8") as f:
        f.write("\n".join(parts) + "\n")


if __name__ == "__main__":
    main()
