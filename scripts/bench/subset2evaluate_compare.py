#!/usr/bin/env python3
"""benchsift's selectors vs subset2evaluate's (Zouhar et al. 2025) on WMT23 MQM, with
subset2evaluate's own protocol and evaluation code:

  * data as subset2evaluate.utils.load_data_wmt(year="wmt23", langs=...) builds it: the
    systems with outputs (human references and synthetic_ref excluded), the segments every
    system has a human score for, human = clip(100 + 4 * MQM, 0, 100);
  * a method orders the segments (selection may look at automatic metric scores and system
    outputs, never at the human scores it is judged on);
  * for each budget prop in subset2evaluate.utils.PROPS (5%, 10%, ... 50%), the first
    int(N * prop) segments form the subset, scored by
    subset2evaluate.evaluate.eval_subset_correlation (Kendall tau-b between the systems'
    mean human score on the subset and on all segments);
  * the number reported is that tau averaged over the 10 budgets (their "correlation"),
    then averaged over seeds for seeded methods.

Theirs (PyPI subset2evaluate 1.0.27, imported): random (10 seeds), metric_avg, metric_var,
metric_cons (metric MetricX-23-c, their CLI default), diversity (unigram; their BLEU/chrF
variants need sacrebleu and the LM one a sentence-transformers model, neither installed).

Ours (the benchsift CLI, `--budget k` per budget): the same four methods on the same
MetricX-23-c matrix (--metric-scores, outputs for diversity); metric-balance on the
ensemble of every automatic metric in the folder's metric_scores/ except the WMT
"Random-sysname" sanity baseline (67 files, one --metric-scores each); plus anchor-points,
irt-cluster, irt-info, kcenter, dpp and metabench run on the metric matrix itself (its systems x
segments scores as the "responses" to select from). For selectors with weights, "weighted"
scores a system by sum(w_i * human_i) over the subset instead of the plain mean. Every
selection runs with --no-guard: the random guard cross-validates on the responses given, which
for the metric-* methods are the human scores the protocol judges on.

Data sets: en-de MQM (where metric-balance and its defaults were chosen), zh-en MQM
and en-de DA+SQM (responses_da-sqm.csv, raw 0-100 scores; held-out confirmation).

Reads ../shared/data/wmt23_mqm_{ende,zhen} (never committed); writes
bench-results/subset2evaluate_compare.json and prints a markdown table.
Run: /tmp/s2e/bin/python scripts/bench/subset2evaluate_compare.py [--benchsift target/release/benchsift]
(requirements: scripts/fixtures/requirements-subset2evaluate.txt).
"""
import argparse
import csv
import gzip
import io
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import subset2evaluate.evaluate as s2e_eval
import subset2evaluate.select_subset as s2e_select
import subset2evaluate.utils as s2e_utils

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SHARED = os.path.abspath(os.path.join(ROOT, "..", "shared", "data"))
if not os.path.isdir(SHARED):
    SHARED = "/work/shared/data"
METRIC = "MetricX-23-c"
SEEDS = 10


def read_wide(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt", newline="") as f:
        rows = list(csv.reader(f))
    items = rows[0][1:]
    return items, {r[0]: r[1:] for r in rows[1:]}


def load(folder, human_file="responses.csv"):
    items, human = read_wide(os.path.join(folder, human_file))
    mqm = human_file == "responses.csv"
    _, metric = read_wide(os.path.join(folder, "metric_scores", f"{METRIC}-refA.csv.gz"))
    _, outputs = read_wide(os.path.join(folder, "system_outputs.csv.gz"))
    # Systems as load_data_wmt keeps them: outputs and human scores, no references.
    systems = [s for s in human if s in outputs and s in metric and not s.startswith("ref") and s != "synthetic_ref"]
    keep = [i for i in range(len(items)) if all(human[s][i] != "" for s in systems) and all(metric[s][i] != "" for s in systems)]
    # The metric ensemble for metric-balance: every metric file but the random baseline.
    ensemble = {}
    for name in sorted(os.listdir(os.path.join(folder, "metric_scores"))):
        if name.startswith("Random-sysname") or not name.endswith(".csv.gz"):
            continue
        m_items, m = read_wide(os.path.join(folder, "metric_scores", name))
        col = {x: j for j, x in enumerate(m_items)}
        ensemble[name[: -len(".csv.gz")]] = {s: [m[s][col[items[i]]] if items[i] in col else "" for i in keep] for s in systems}
    data = []
    for n, i in enumerate(keep):
        data.append({
            "i": n,
            "id": items[i],
            "tgt": {s: outputs[s][i] for s in systems},
            "scores": {s: {"human": max(0.0, min(100.0, 100 + 4 * float(human[s][i]))) if mqm else float(human[s][i]), METRIC: float(metric[s][i])} for s in systems},
        })
    return systems, data, ensemble


def write_inputs(tmp, systems, data, ensemble):
    ids = [x["id"] for x in data]
    paths = {"ensemble": []}
    os.makedirs(os.path.join(tmp, "ensemble"))
    for name, table in ensemble.items():
        path = os.path.join(tmp, "ensemble", f"{name}.csv")
        with open(path, "w", newline="") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(["model", *ids])
            for s in systems:
                w.writerow([s, *table[s]])
        paths["ensemble"].append(path)
    for name, fn in [("human", lambda x, s: repr(x["scores"][s]["human"])), ("metric", lambda x, s: repr(x["scores"][s][METRIC])), ("outputs", lambda x, s: x["tgt"][s])]:
        path = os.path.join(tmp, f"{name}.csv")
        with open(path, "w", newline="") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(["model", *ids])
            for s in systems:
                w.writerow([s, *[fn(x, s) for x in data]])
        paths[name] = path
    return paths


def budgets(n):
    return [int(n * p) for p in s2e_utils.PROPS]


def tau_of(data, chosen_idx, weights=None):
    """eval_subset_correlation on the chosen segments (their code); with weights, the
    same Kendall tau-b on weighted system scores."""
    sub = [data[i] for i in chosen_idx]
    if weights is None:
        return s2e_eval.eval_subset_correlation(sub, data, metric="human")
    import scipy.stats
    systems = list(data[0]["scores"].keys())
    full = [np.average([x["scores"][s]["human"] for x in data]) for s in systems]
    w = np.array(weights) / np.sum(weights)
    part = [float(np.sum(w * np.array([x["scores"][s]["human"] for x in sub]))) for s in systems]
    t = scipy.stats.kendalltau(full, part, variant="b").correlation
    return 0.0 if np.isnan(t) else t


def theirs(data, method, seed=None):
    kwargs = {"metric": "unigram"} if method == "diversity" else {"metric": METRIC}
    if method == "random":
        kwargs = {"seed": seed}
    ordered = s2e_select.basic([dict(x) for x in data], method=method, **kwargs)
    order = [x["i"] for x in ordered]
    return float(np.mean([tau_of(data, order[:k]) for k in budgets(len(data))])), order


def ours(binary, paths, data, method, seed, ensemble=None):
    index = {x["id"]: x["i"] for x in data}
    side = []
    responses = paths["metric"]
    if method == "metric-balance":
        responses, side = paths["human"], [a for p in (ensemble or paths["ensemble"]) for a in ("--metric-scores", p)]
    elif method.startswith("metric-"):
        responses, side = paths["human"], ["--metric-scores", paths["metric"]]
    elif method == "diversity":
        responses, side = paths["human"], ["--outputs", paths["outputs"]]
    taus, taus_w, orders = [], [], []
    for k in budgets(len(data)):
        # --no-guard: the random guard cross-validates against the responses, here the human scores
        # of the very systems the protocol judges the subset on (it may not look at them).
        out = subprocess.run([binary, "select", responses, "--method", method, "--budget", str(k), "--seed", str(seed), "--no-guard", *side],
                             capture_output=True, text=True, check=True)
        subset = json.loads(out.stdout)
        chosen = [index[i] for i in subset["items"]]
        orders.append(chosen)
        taus.append(tau_of(data, chosen))
        taus_w.append(tau_of(data, chosen, subset["weights"]))
    return float(np.mean(taus)), float(np.mean(taus_w)), orders


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--benchsift", default=os.path.join(ROOT, "target", "release", "benchsift"))
    ap.add_argument("--seeds", type=int, default=SEEDS)
    ap.add_argument("--halves", type=int, default=10, help="metric-balance on this many random halves of the metric ensemble (a robustness check)")
    args = ap.parse_args()
    results = {"protocol": "subset2evaluate eval_subset_correlation (Kendall tau-b of system means), averaged over PROPS 5%..50%",
               "metric": METRIC, "seeds": args.seeds, "datasets": {}}
    for lang, folder, human_file in [("en-de", "wmt23_mqm_ende", "responses.csv"), ("zh-en", "wmt23_mqm_zhen", "responses.csv"),
                                     ("en-de DA+SQM", "wmt23_mqm_ende", "responses_da-sqm.csv")]:
        systems, data, ensemble = load(os.path.join(SHARED, folder), human_file)
        print(f"{lang}: {len(systems)} systems x {len(data)} segments", file=sys.stderr)
        row = {"systems": len(systems), "segments": len(data), "theirs": {}, "ours": {}, "seconds": {}}
        started = time.time()
        rnd = [theirs(data, "random", seed)[0] for seed in range(args.seeds)]
        row["theirs"]["random"] = {"tau": float(np.mean(rnd)), "sd": float(np.std(rnd))}
        their_orders = {}
        for method in ["metric_avg", "metric_var", "metric_cons", "diversity"]:
            tau, order = theirs(data, method)
            row["theirs"][method] = {"tau": tau}
            their_orders[method] = order
        row["seconds"]["theirs"] = time.time() - started
        with tempfile.TemporaryDirectory() as tmp:
            paths = write_inputs(tmp, systems, data, ensemble)
            row["ensemble_metrics"] = len(ensemble)
            started = time.time()
            for method in ["random", "metric-avg", "metric-var", "metric-cons", "metric-balance", "diversity", "anchor-points", "irt-cluster", "irt-info", "kcenter", "dpp", "metabench"]:
                seeded = method in ("random", "anchor-points", "irt-cluster", "kcenter")
                runs = [ours(args.benchsift, paths, data, method, seed) for seed in (range(args.seeds) if seeded else [0])]
                entry = {"tau": float(np.mean([r[0] for r in runs])), "tau_weighted": float(np.mean([r[1] for r in runs]))}
                if seeded:
                    entry["sd"] = float(np.std([r[0] for r in runs]))
                twin = {"metric-avg": "metric_avg", "metric-var": "metric_var", "metric-cons": "metric_cons", "diversity": "diversity"}.get(method)
                if twin:
                    # Same method: our subsets at each budget vs their prefix of the order.
                    same = [sorted(runs[0][2][b]) == sorted(their_orders[twin][:k]) for b, k in enumerate(budgets(len(data)))]
                    entry["same_subsets_as_theirs"] = f"{sum(same)}/{len(same)}"
                row["ours"][method] = entry
                print(f"  {method}: {entry}", file=sys.stderr)
                if method == "metric-balance" and args.halves > 0:
                    # How much the deterministic order's tau owes to the exact metric set:
                    # the same method on random halves of the ensemble.
                    rng = np.random.default_rng(20261126)
                    halves = [sorted(rng.choice(paths["ensemble"], len(paths["ensemble"]) // 2, replace=False)) for _ in range(args.halves)]
                    taus = [ours(args.benchsift, paths, data, method, 0, half)[0] for half in halves]
                    row["metric_balance_halves"] = {"draws": args.halves, "tau": float(np.mean(taus)), "sd": float(np.std(taus)),
                                                    "min": float(np.min(taus)), "max": float(np.max(taus))}
                    print(f"  metric-balance on ensemble halves: {row['metric_balance_halves']}", file=sys.stderr)
            row["seconds"]["ours"] = time.time() - started
        results["datasets"][lang] = row
    os.makedirs(os.path.join(ROOT, "bench-results"), exist_ok=True)
    with open(os.path.join(ROOT, "bench-results", "subset2evaluate_compare.json"), "w") as f:
        json.dump(results, f, indent=1)
        f.write("\n")
    # Markdown table.
    langs = list(results["datasets"])
    print("| method | " + " | ".join(f"{l} τ (mean)" for l in langs) + " | " + " | ".join(f"{l} τ (weighted)" for l in langs) + " |")
    print("|---|" + "---|" * (2 * len(langs)))
    for name in ["random", "metric_avg", "metric_var", "metric_cons", "diversity"]:
        print(f"| subset2evaluate {name} | " + " | ".join(f"{results['datasets'][l]['theirs'][name]['tau']:.3f}" for l in langs) + " | " + " | ".join("—" for _ in langs) + " |")
    for name in results["datasets"][langs[0]]["ours"]:
        e = [results["datasets"][l]["ours"][name] for l in langs]
        print(f"| benchsift {name} | " + " | ".join(f"{x['tau']:.3f}" for x in e) + " | " + " | ".join(f"{x['tau_weighted']:.3f}" for x in e) + " |")
    for l in langs:
        best_theirs = max(v["tau"] for k, v in results["datasets"][l]["theirs"].items() if k != "random")
        best_name, best = max(((k, max(v["tau"], v["tau_weighted"])) for k, v in results["datasets"][l]["ours"].items()), key=lambda x: x[1])
        print(f"{l}: best subset2evaluate method τ {best_theirs:.3f}; best benchsift {best_name} τ {best:.3f} (ratio {best / best_theirs:.3f})")
        h = results["datasets"][l].get("metric_balance_halves")
        if h:
            print(f"{l}: metric-balance on {h['draws']} random halves of the ensemble τ {h['tau']:.3f} ± {h['sd']:.3f} (min {h['min']:.3f}, max {h['max']:.3f})")


if __name__ == "__main__":
    main()
