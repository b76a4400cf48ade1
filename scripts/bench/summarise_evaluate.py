#!/usr/bin/env python3
"""Markdown tables from bench-results/evaluate_<name>.json (scripts/bench/evaluate_real.sh):
per budget, random's MAE (mean estimator, 95% interval over seeds) and each method's best
estimator by MAE, with Kendall tau and interval coverage. A method's MAE is bold when it is
below random's interval. Usage: python3 scripts/bench/summarise_evaluate.py alpacaeval ...
With --at 200,400 (before the names): instead, per budget and method, the calibrated estimator's MAE and the
best estimator's, each marked below / within / above random's 95% interval (the issue's "never worse than
random beyond its CI").
With --versus SUFFIX --at 200,400 (before the names): per budget and method, the best estimator on
evaluate_<name>.json next to the best on evaluate_<name>SUFFIX.json (e.g. _strata10, written by
STRATA=10 scripts/bench/evaluate_real.sh), each against random's interval in the first file, with τ."""
import json
import os
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def verdict(mae, rnd):
    if mae < rnd["mae"]["low"]:
        return "below"
    return "above" if mae > rnd["mae"]["high"] else "within"


def against_random(names, budgets):
    for name in names:
        ev = json.load(open(os.path.join(ROOT, "bench-results", f"evaluate_{name}.json")))
        rows = ev["results"]
        methods = []
        for r in rows:
            if r["method"] not in methods:
                methods.append(r["method"])
        print(f"**{name}** ({ev['models']} models × {ev['items']} items): MAE against random's (mean estimator) 95% interval\n")
        print("| items | random (mean) | method | calibrated | best estimator |")
        print("|---|---|---|---|---|")
        for b in budgets:
            rnd = next((r for r in rows if r["method"] == "random" and r["estimator"] == "mean" and r["budget"] == b), None)
            if rnd is None:
                continue
            interval = f"{rnd['mae']['mean']:.4g} [{rnd['mae']['low']:.3g}, {rnd['mae']['high']:.3g}]"
            for m in methods:
                cand = [r for r in rows if r["method"] == m and r["budget"] == b]
                if not cand:
                    continue
                cal = next((r for r in cand if r["estimator"] == "calibrated"), None)
                best = min(cand, key=lambda r: r["mae"]["mean"])
                cal_cell = f"{cal['mae']['mean']:.4g} ({verdict(cal['mae']['mean'], rnd)}, cov {cal['coverage']['mean']:.2f})" if cal else "—"
                best_cell = f"{best['mae']['mean']:.4g} {best['estimator']} ({verdict(best['mae']['mean'], rnd)})"
                print(f"| {b} | {interval} | {m} | {cal_cell} | {best_cell} |")
        print()


def main(names):
    for name in names:
        ev = json.load(open(os.path.join(ROOT, "bench-results", f"evaluate_{name}.json")))
        rows = ev["results"]
        methods = []
        for r in rows:
            if r["method"] != "random" and r["method"] not in methods:
                methods.append(r["method"])
        budgets = sorted({r["budget"] for r in rows})
        print(f"**{name}** ({ev['models']} models × {ev['items']} items, {ev['split']}): MAE (τ, coverage)\n")
        print("| items | random (mean) | " + " | ".join(methods) + " |")
        print("|---|---|" + "---|" * len(methods))
        for b in budgets:
            rnd = next(r for r in rows if r["method"] == "random" and r["estimator"] == "mean" and r["budget"] == b)
            cells = [f"{rnd['mae']['mean']:.4g} [{rnd['mae']['low']:.3g}, {rnd['mae']['high']:.3g}], τ {rnd['kendall_tau']['mean']:.2f}"]
            for m in methods:
                cand = [r for r in rows if r["method"] == m and r["budget"] == b]
                if not cand:
                    cells.append("—")
                    continue
                best = min(cand, key=lambda r: r["mae"]["mean"])
                mae = f"{best['mae']['mean']:.4g}"
                if best["mae"]["mean"] < rnd["mae"]["low"]:
                    mae = f"**{mae}**"
                cells.append(f"{mae} ({best['estimator']}), τ {best['kendall_tau']['mean']:.2f}, cov {best['coverage']['mean']:.2f}")
            print(f"| {b} | " + " | ".join(cells) + " |")
        print()


def versus(names, suffix, budgets):
    def load(name):
        return json.load(open(os.path.join(ROOT, "bench-results", f"evaluate_{name}.json")))["results"]

    def best(rows, m, b):
        cand = [r for r in rows if r["method"] == m and r["budget"] == b]
        return min(cand, key=lambda r: r["mae"]["mean"]) if cand else None

    for name in names:
        plain, other = load(name), load(name + suffix)
        methods = []
        for r in plain:
            if r["method"] != "random" and r["method"] not in methods:
                methods.append(r["method"])
        print(f"**{name}**: best estimator's MAE (τ), without and with `{suffix.strip('_')}`, against random's (mean) 95% interval\n")
        print(f"| items | random (mean) | method | without | with {suffix.strip('_')} |")
        print("|---|---|---|---|---|")
        for b in budgets:
            rnd = next((r for r in plain if r["method"] == "random" and r["estimator"] == "mean" and r["budget"] == b), None)
            if rnd is None:
                continue
            interval = f"{rnd['mae']['mean']:.4g} [{rnd['mae']['low']:.3g}, {rnd['mae']['high']:.3g}], τ {rnd['kendall_tau']['mean']:.2f}"
            for m in methods:
                x, y = best(plain, m, b), best(other, m, b)
                if x is None or y is None:
                    continue
                cell = lambda r: (f"{r['mae']['mean']:.4g} {r['estimator']} ({verdict(r['mae']['mean'], rnd)}), "
                                  f"τ {r['kendall_tau']['mean']:.2f}")
                print(f"| {b} | {interval} | {m} | {cell(x)} | {cell(y)} |")
        print()


if __name__ == "__main__":
    args = sys.argv[1:]
    if len(args) >= 4 and args[0] == "--versus" and args[2] == "--at":
        versus(args[4:], args[1], [int(b) for b in args[3].split(",")])
    elif len(args) >= 2 and args[0] == "--at":
        against_random(args[2:], [int(b) for b in args[1].split(",")])
    else:
        main(args or ["alpacaeval", "livecodebench", "mmlu_pro"])
