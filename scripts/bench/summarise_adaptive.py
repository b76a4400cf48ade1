"""Summarises scripts/bench/adaptive.sh: per matrix and budget, the adaptive test's best
estimator against random's best (with its 95% interval over seeds) and the best static
method; then the stop at a target SE: items used, the MAE reached, and the static budget
that reaches the same MAE (interpolated on a log scale between budgets), as a saving
factor. Usage: summarise_adaptive.py [bench-results/adaptive_*.json ...]"""
import glob
import json
import math
import sys

paths = sys.argv[1:] or sorted(p for p in glob.glob("bench-results/adaptive_*.json") if "_explore" not in p)


def variant(path, share):
    """The adaptive-only run with --explore SHARE beside PATH, if there is one."""
    try:
        return json.load(open(path.replace(".json", f"_explore{share}.json")))["results"]
    except FileNotFoundError:
        return None


def best(rows, method, budget):
    rows = [r for r in rows if r["method"] == method and r["budget"] == budget]
    return min(rows, key=lambda r: r["mae"]["mean"]) if rows else None


def budget_for(rows, method, mae):
    """The budget at which `method`'s best MAE falls to `mae` (log-linear between budgets)."""
    points = sorted({r["budget"] for r in rows if r["method"] == method})
    curve = [(b, best(rows, method, b)["mae"]["mean"]) for b in points]
    if mae >= curve[0][1]:
        return None if mae > curve[0][1] else curve[0][0]
    for (b0, m0), (b1, m1) in zip(curve, curve[1:]):
        if m0 >= mae >= m1 and m0 != m1:
            t = (m0 - mae) / (m0 - m1)
            return math.exp(math.log(b0) + t * (math.log(b1) - math.log(b0)))
    return float("inf")


for path in paths:
    d = json.load(open(path))
    name = path.split("adaptive_")[-1].removesuffix(".json")
    rows = d["results"]
    budgets = sorted({r["budget"] for r in rows})
    statics = sorted({r["method"] for r in rows} - {"adaptive"})
    print(f"\n## {name}: {d['models']} models x {d['items']} items, {d['split']}")
    half, auto = variant(path, "0.5"), variant(path, "auto")
    extra = lambda v, b: (f"{best(v, 'adaptive', b)['mae']['mean']:.4f}" if v else "–")
    print("| items | adaptive (best) | tau | half random | auto | random (best) [95% CI] | best static | adaptive below random's CI | at or below best static |")
    print("|---|---|---|---|---|---|---|---|---|")
    for b in budgets:
        a = best(rows, "adaptive", b)
        r = best(rows, "random", b)
        s = min((best(rows, m, b) for m in statics), key=lambda x: x["mae"]["mean"])
        print(
            f"| {b} | {a['mae']['mean']:.4f} ({a['estimator']}) | {a['kendall_tau']['mean']:.3f} | {extra(half, b)} | {extra(auto, b)} "
            f"| {r['mae']['mean']:.4f} [{r['mae']['low']:.4f}, {r['mae']['high']:.4f}] ({r['estimator']}) "
            f"| {s['mae']['mean']:.4f} ({s['method']} {s['estimator']}) "
            f"| {'yes' if a['mae']['mean'] < r['mae']['low'] else 'no'} | {'yes' if a['mae']['mean'] <= s['mae']['mean'] else 'no'} |"
        )
    for stop in d.get("adaptive_stops", []):
        line = f"stop at SE {stop['target_se']} ({stop['estimator']}): {stop['items_used']['mean']:.1f} items [{stop['items_used']['low']:.1f}, {stop['items_used']['high']:.1f}], reached by {stop['reached']:.0%}, MAE {stop['mae']:.4f}, tau {stop['kendall_tau']:.3f}, coverage {stop['coverage']:.2f}"
        for m in ["random"] + [x for x in statics if x != "random"]:
            need = budget_for(rows, m, stop["mae"])
            if need is None:
                line += f"; {m} reaches it below {budgets[0]} items"
            elif math.isinf(need):
                line += f"; {m} not within {budgets[-1]}"
            else:
                line += f"; {m} needs {need:.0f} ({need / stop['items_used']['mean']:.1f}x)"
        print(line)
