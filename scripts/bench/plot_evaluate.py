#!/usr/bin/env python3
"""Error-versus-budget plots (SVG, no dependencies) from bench-results/evaluate_<name>.json,
the files scripts/bench/evaluate_real.sh writes.

For each name: one figure with two panels, the methods as published (evaluate_<name>.json,
--no-guard) and with the random guard (evaluate_<name>_guard.json), when that file exists.
In each panel, x is the budget (log scale), y the held-out models' MAE (log scale); the grey band and
line are random's mean estimator with its 95% interval over seeds, each coloured line a
method's best estimator at that budget (the number summarise_evaluate.py tabulates).
Budgets that are the whole set are left out.

Usage: python3 scripts/bench/plot_evaluate.py alpacaeval alpacaeval_gpt4v1 ...
Writes bench-results/plots/evaluate_<name>.svg.
"""
import json
import math
import os
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
COLOURS = ["#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d", "#1f78b4", "#b15928"]
PANEL_W, PANEL_H, LEFT, TOP, BOTTOM, GAP, LEGEND_W = 330, 250, 58, 34, 44, 36, 150


def load(name):
    path = os.path.join(ROOT, "bench-results", f"evaluate_{name}.json")
    return json.load(open(path)) if os.path.exists(path) else None


def series(ev):
    """(random [(budget, mean, low, high)], {method: [(budget, best MAE)]})."""
    rows = [r for r in ev["results"] if r["budget"] < ev["items"]]
    budgets = sorted({r["budget"] for r in rows})
    random = []
    methods = {}
    for b in budgets:
        rnd = next((r for r in rows if r["method"] == "random" and r["estimator"] == "mean" and r["budget"] == b), None)
        if rnd:
            random.append((b, rnd["mae"]["mean"], rnd["mae"]["low"], rnd["mae"]["high"]))
        for r in rows:
            if r["method"] == "random" or r["budget"] != b:
                continue
            best = min((x for x in rows if x["method"] == r["method"] and x["budget"] == b), key=lambda x: x["mae"]["mean"])
            points = methods.setdefault(r["method"], [])
            if not points or points[-1][0] != b:
                points.append((b, best["mae"]["mean"]))
    return random, methods


def panel(x0, title, random, methods, order, scale):
    (bmin, bmax), (ymin, ymax) = scale
    px = lambda b: x0 + LEFT + (math.log(b) - math.log(bmin)) / (math.log(bmax) - math.log(bmin) or 1) * (PANEL_W - LEFT - 10)
    # Log scale in y too: the gaps at large budgets, where errors are small,
    # are what the "never worse than random" check is about.
    py = lambda y: TOP + (1 - (math.log(y) - math.log(ymin)) / (math.log(ymax) - math.log(ymin) or 1)) * (PANEL_H - TOP - BOTTOM)
    out = [f'<text x="{x0 + LEFT}" y="20" font-size="13" font-weight="bold">{title}</text>']
    # Axes, ticks at the budgets and at five error levels.
    out.append(f'<line x1="{x0 + LEFT}" y1="{py(ymin)}" x2="{x0 + PANEL_W - 10}" y2="{py(ymin)}" stroke="#333"/>')
    out.append(f'<line x1="{x0 + LEFT}" y1="{TOP}" x2="{x0 + LEFT}" y2="{py(ymin)}" stroke="#333"/>')
    for b, *_ in random:
        out.append(f'<text x="{px(b):.1f}" y="{py(ymin) + 14:.1f}" font-size="10" text-anchor="middle">{b}</text>')
    for k in range(5):
        y = ymin * (ymax / ymin) ** (k / 4)
        out.append(f'<line x1="{x0 + LEFT - 3}" y1="{py(y):.1f}" x2="{x0 + PANEL_W - 10}" y2="{py(y):.1f}" stroke="#eee"/>')
        out.append(f'<text x="{x0 + LEFT - 5}" y="{py(y) + 3:.1f}" font-size="10" text-anchor="end">{y:.3g}</text>')
    out.append(f'<text x="{x0 + LEFT + (PANEL_W - LEFT) / 2}" y="{PANEL_H - 8}" font-size="11" text-anchor="middle">items in the subset (log scale)</text>')
    out.append(f'<text x="{x0 + 12}" y="{TOP + (PANEL_H - TOP - BOTTOM) / 2}" font-size="11" text-anchor="middle" transform="rotate(-90 {x0 + 12} {TOP + (PANEL_H - TOP - BOTTOM) / 2})">MAE (log scale)</text>')
    if random:
        band = [(px(b), py(hi)) for b, _, _, hi in random] + [(px(b), py(lo)) for b, _, lo, _ in reversed(random)]
        out.append('<polygon fill="#ccc" fill-opacity="0.6" points="' + " ".join(f"{x:.1f},{y:.1f}" for x, y in band) + '"/>')
        out.append('<polyline fill="none" stroke="#555" stroke-width="2" points="' + " ".join(f"{px(b):.1f},{py(m):.1f}" for b, m, _, _ in random) + '"/>')
    for method, points in methods.items():
        colour = COLOURS[order.index(method) % len(COLOURS)]
        out.append(f'<polyline fill="none" stroke="{colour}" stroke-width="1.6" points="' + " ".join(f"{px(b):.1f},{py(y):.1f}" for b, y in points) + '">'
                   f"<title>{method}</title></polyline>")
        for b, y in points:
            out.append(f'<circle cx="{px(b):.1f}" cy="{py(y):.1f}" r="2.2" fill="{colour}"/>')
    return out


def plot(name):
    plain, guarded = load(name), load(name + "_guard")
    if plain is None:
        raise SystemExit(f"no bench-results/evaluate_{name}.json")
    panels = [("as published (--no-guard)", *series(plain))]
    if guarded is not None:
        panels.append(("with the random guard", *series(guarded)))
    order = []
    for _, _, methods in panels:
        order += [m for m in methods if m not in order]
    values = [v for _, random, methods in panels for v in [x for p in random for x in p[1:]] + [y for pts in methods.values() for _, y in pts]]
    budgets = [b for _, random, _ in panels for b, *_ in random]
    positive = [v for v in values if v > 0]
    scale = ((min(budgets), max(budgets)), (min(positive) * 0.9, max(positive) * 1.1))
    width = len(panels) * (PANEL_W + GAP) + LEGEND_W
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{PANEL_H + 20}" font-family="sans-serif">',
           f'<rect width="{width}" height="{PANEL_H + 20}" fill="white"/>',
           f'<text x="{LEFT}" y="{PANEL_H + 14}" font-size="10" fill="#555">{name}: {plain["models"]} models × {plain["items"]} items, {plain["split"]}; '
           "MAE of held-out models' estimated scores (each method's best estimator); grey: random, mean estimator, 95% interval</text>"]
    for k, (title, random, methods) in enumerate(panels):
        out += panel(k * (PANEL_W + GAP), title, random, methods, order, scale)
    lx = len(panels) * (PANEL_W + GAP)
    out.append(f'<rect x="{lx}" y="{TOP}" width="14" height="4" fill="#555"/><text x="{lx + 20}" y="{TOP + 6}" font-size="11">random (mean)</text>')
    for k, method in enumerate(order):
        y = TOP + 18 * (k + 1)
        out.append(f'<rect x="{lx}" y="{y}" width="14" height="4" fill="{COLOURS[k % len(COLOURS)]}"/><text x="{lx + 20}" y="{y + 6}" font-size="11">{method}</text>')
    out.append("</svg>")
    os.makedirs(os.path.join(ROOT, "bench-results", "plots"), exist_ok=True)
    path = os.path.join(ROOT, "bench-results", "plots", f"evaluate_{name}.svg")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")
    print(path)


if __name__ == "__main__":
    for name in sys.argv[1:] or ["alpacaeval", "alpacaeval_gpt4v1", "livecodebench", "livecodebench_dense400", "mmlu_pro"]:
        plot(name)
