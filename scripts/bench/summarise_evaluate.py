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
STRATA=10 scripts/bench/evaluate_real.sh), each against random's interval in the first file, with τ.
--exclude ridge,... (first) leaves those estimators out of every table (as if never run).
With --guard (before the names): per budget, how many methods' best estimators are below / within / above
random's interval without the random guard (evaluate_<name>.json, --no-guard) and with it
(evaluate_<name>_guard.json), the methods still above with it, and the mean share of splits that fell back
(budgets that are the whole set are left out). --versus _guard cells add that share.
With --ridge (before the names): per budget, random subsets' MAE with the mean, calibrated, p-IRT and ridge
estimators, and over all methods how often ridge is the best estimator and beats calibrated, with its coverage."""
import json
import os
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def verdict(mae, rnd):
    if mae < rnd["mae"]["low"]:
        return "below"
    return "above" if mae > rnd["mae"]["high"] else "within"


EXCLUDED = set()


def load(name):
    ev = json.load(open(os.path.join(ROOT, "bench-results", f"evaluate_{name}.json")))
    ev["results"] = [r for r in ev["results"] if r["estimator"] not in EXCLUDED]
    return ev


def matrices(names):
    """(name, label "name (M models × N items", rows, budgets) of each evaluate file."""
    for name in names:
        ev = load(name)
        rows = ev["results"]
        yield name, f"**{name}** ({ev['models']} models × {ev['items']} items", rows, sorted({r["budget"] for r in rows}), ev


def methods_of(rows, with_random):
    methods = []
    for r in rows:
        if (with_random or r["method"] != "random") and r["method"] not in methods:
            methods.append(r["method"])
    return methods


def random_row(rows, budget):
    return next((r for r in rows if r["method"] == "random" and r["estimator"] == "mean" and r["budget"] == budget), None)


def random_rows(rows, budgets):
    """(budget, random's mean-estimator row) for the budgets the file has."""
    return [(b, r) for b in budgets if (r := random_row(rows, b)) is not None]


def interval_text(rnd, with_tau):
    text = f"{rnd['mae']['mean']:.4g} [{rnd['mae']['low']:.3g}, {rnd['mae']['high']:.3g}]"
    return text + (f", τ {rnd['kendall_tau']['mean']:.2f}" if with_tau else "")


def best(rows, method, budget):
    cand = [r for r in rows if r["method"] == method and r["budget"] == budget]
    return min(cand, key=lambda r: r["mae"]["mean"]) if cand else None


def against_random(names, budgets):
    for _, label, rows, _, _ in matrices(names):
        methods = methods_of(rows, True)
        print(f"{label}): MAE against random's (mean estimator) 95% interval\n")
        print("| items | random (mean) | method | calibrated | best estimator |")
        print("|---|---|---|---|---|")
        for b, rnd in random_rows(rows, budgets):
            interval = interval_text(rnd, False)
            for m in methods:
                top = best(rows, m, b)
                if top is None:
                    continue
                cal = next((r for r in rows if r["method"] == m and r["budget"] == b and r["estimator"] == "calibrated"), None)
                cal_cell = f"{cal['mae']['mean']:.4g} ({verdict(cal['mae']['mean'], rnd)}, cov {cal['coverage']['mean']:.2f})" if cal else "—"
                best_cell = f"{top['mae']['mean']:.4g} {top['estimator']} ({verdict(top['mae']['mean'], rnd)})"
                print(f"| {b} | {interval} | {m} | {cal_cell} | {best_cell} |")
        print()


def main(names):
    for _, label, rows, budgets, ev in matrices(names):
        methods = methods_of(rows, False)
        print(f"{label}, {ev['split']}): MAE (τ, coverage)\n")
        print("| items | random (mean) | " + " | ".join(methods) + " |")
        print("|---|---|" + "---|" * len(methods))
        for b in budgets:
            rnd = random_row(rows, b)
            cells = [interval_text(rnd, True)]
            for m in methods:
                top = best(rows, m, b)
                if top is None:
                    cells.append("—")
                    continue
                mae = f"{top['mae']['mean']:.4g}"
                if top["mae"]["mean"] < rnd["mae"]["low"]:
                    mae = f"**{mae}**"
                cells.append(f"{mae} ({top['estimator']}), τ {top['kendall_tau']['mean']:.2f}, cov {top['coverage']['mean']:.2f}")
            print(f"| {b} | " + " | ".join(cells) + " |")
        print()


def versus(names, suffix, budgets):
    for name in names:
        plain, other = load(name)["results"], load(name + suffix)["results"]
        methods = methods_of(plain, False)
        print(f"**{name}**: best estimator's MAE (τ), without and with `{suffix.strip('_')}`, against random's (mean) 95% interval\n")
        print(f"| items | random (mean) | method | without | with {suffix.strip('_')} |")
        print("|---|---|---|---|---|")
        for b, rnd in random_rows(plain, budgets):
            interval = interval_text(rnd, True)
            for m in methods:
                x, y = best(plain, m, b), best(other, m, b)
                if x is None or y is None:
                    continue
                cell = lambda r: (f"{r['mae']['mean']:.4g} {r['estimator']} ({verdict(r['mae']['mean'], rnd)}), "
                                  f"τ {r['kendall_tau']['mean']:.2f}"
                                  + (f", random {r['guard_fallbacks']:.0%}" if r.get("guard_fallbacks") is not None else ""))
                print(f"| {b} | {interval} | {m} | {cell(x)} | {cell(y)} |")
        print()


def guard_table(names):
    print("Per budget: methods whose best estimator is below / within / above random's (mean estimator) 95% interval, "
          "without and with the random guard; the methods above with it; the mean share of splits where it fell back\n")
    print("| matrix | items | without guard | with guard | above with guard | fell back |")
    print("|---|---|---|---|---|---|")
    for name in names:
        plain, guarded = load(name), load(name + "_guard")
        for b, rnd in random_rows(plain["results"], sorted({r["budget"] for r in plain["results"]})):
            if b >= plain["items"]:
                continue
            counts = []
            above = []
            shares = []
            for rows in (plain["results"], guarded["results"]):
                c = {"below": 0, "within": 0, "above": 0}
                for m in methods_of(rows, False):
                    top = best(rows, m, b)
                    if top is None:
                        continue
                    v = verdict(top["mae"]["mean"], rnd)
                    c[v] += 1
                    if rows is guarded["results"]:
                        if v == "above":
                            above.append(f"{m} {top['mae']['mean']:.4g}")
                        shares.append(max((r.get("guard_fallbacks") or 0.0) for r in rows if r["method"] == m and r["budget"] == b))
                counts.append(f"{c['below']} / {c['within']} / {c['above']}")
            share = sum(shares) / len(shares) if shares else 0.0
            print(f"| {name} | {b} | {counts[0]} | {counts[1]} | {', '.join(above) or '—'} | {share:.0%} |")
    print()


def ridge_table(names):
    for _, label, rows, budgets, _ in matrices(names):
        print(f"{label}): random subsets' MAE by estimator; over all methods, "
              "how often ridge is the best estimator and beats calibrated, and its coverage\n")
        print("| items | random: mean | calibrated | p-IRT | ridge (coverage) | ridge best | ridge < calibrated | ridge coverage |")
        print("|---|---|---|---|---|---|---|---|")
        for b, rnd in random_rows(rows, budgets):
            of = {r["estimator"]: r for r in rows if r["method"] == "random" and r["budget"] == b}
            best, beats, covs, total = 0, 0, [], 0
            for m in methods_of(rows, True):
                c = {r["estimator"]: r for r in rows if r["method"] == m and r["budget"] == b}
                if "ridge" not in c or "calibrated" not in c:
                    continue
                total += 1
                mae = c["ridge"]["mae"]["mean"]
                best += mae < min(r["mae"]["mean"] for e, r in c.items() if e != "ridge")
                beats += mae < c["calibrated"]["mae"]["mean"]
                covs.append(c["ridge"]["coverage"]["mean"])
            if "ridge" not in of:
                continue
            print(f"| {b} | {rnd['mae']['mean']:.4g} | {of['calibrated']['mae']['mean']:.4g} | {of['pirt']['mae']['mean']:.4g} | "
                  f"{of['ridge']['mae']['mean']:.4g} ({of['ridge']['coverage']['mean']:.2f}) | {best} of {total} | {beats} of {total} | "
                  f"{min(covs):.2f}–{max(covs):.2f} |")
        print()


if __name__ == "__main__":
    args = sys.argv[1:]
    if len(args) >= 2 and args[0] == "--exclude":
        EXCLUDED.update(args[1].split(","))
        args = args[2:]
    if args and args[0] == "--guard":
        guard_table(args[1:])
        sys.exit(0)
    if args and args[0] == "--ridge":
        ridge_table(args[1:])
        sys.exit(0)
    if len(args) >= 4 and args[0] == "--versus" and args[2] == "--at":
        versus(args[4:], args[1], [int(b) for b in args[3].split(",")])
    elif len(args) >= 2 and args[0] == "--at":
        against_random(args[2:], [int(b) for b in args[1].split(",")])
    else:
        main(args or ["alpacaeval", "livecodebench", "mmlu_pro"])
