#!/usr/bin/env python3
"""Times benchsift's multidimensional 2PL (`fit --dims D`, Gaussian variational
EM) at D = 5 and 10 on a synthetic 2,000 x 1,000 matrix and on MMLU-Pro
29 x 12,032, next to the 1-D fit on the same matrices, and reports how well the
synthetic loadings are recovered.

Run (numpy only; any venv, e.g. the one from scripts/fixtures/requirements-irt.txt):
    cargo build --release -p benchsift
    /tmp/irt-venv/bin/python scripts/bench/mirt.py [--benchsift PATH] [--dims 5,10]
Writes bench-results/mirt.json and prints a Markdown table.

Synthetic matrix: 2,000 models x 1,000 items, a 5-dimensional 2PL,
numpy default_rng(20261205), draws in this order: theta ~ N(0, I_5) [2000 x 5],
general loadings 0.8 * LogNormal(0, 0.2) [1000], specific loadings
(1.3 - 0.15 k) * LogNormal(0, 0.2) [1000] on dimension k = i mod 5 (none for
k = 0), cross-loadings 0.15 * N(0, 1) [1000 x 5], d ~ N(0, 1) [1000],
U ~ Uniform(0, 1) [2000 x 1000]; x = 1 if U < sigmoid(a . theta + d).
Recovery: loadings are aligned to the truth by orthogonal Procrustes (for D = 10
the truth is padded with zero columns) and correlated over all entries.
MMLU-Pro: shared/data/mmlu_pro_29models/responses.csv when present, else
www/data/mmlu_pro/responses.csv.gz. Seconds: wall clock of the whole CLI process.
"""
import argparse
import json
import os
import shutil
import subprocess
import tempfile
import time

import numpy as np

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def synthetic(path):
    rng = np.random.default_rng(20261205)
    n, m, d = 2000, 1000, 5
    theta = rng.standard_normal((n, d))
    general = 0.8 * rng.lognormal(0.0, 0.2, m)
    specific = rng.lognormal(0.0, 0.2, m)
    cross = 0.15 * rng.standard_normal((m, d))
    dvec = rng.standard_normal(m)
    u = rng.uniform(size=(n, m))
    a = cross.copy()
    a[:, 0] += general
    for i in range(m):
        k = i % d
        if k > 0:
            a[i, k] += (1.3 - 0.15 * k) * specific[i]
    x = (u < 1.0 / (1.0 + np.exp(-(theta @ a.T + dvec)))).astype(int)
    with open(path, "w") as f:
        f.write("model," + ",".join(f"i{i:04d}" for i in range(m)) + "\n")
        for j in range(n):
            f.write(f"m{j:04d}," + ",".join(map(str, x[j])) + "\n")
    return a, dvec


def procrustes_r(a_hat, a_true):
    dims = a_hat.shape[1]
    if a_true.shape[1] < dims:
        a_true = np.hstack([a_true, np.zeros((a_true.shape[0], dims - a_true.shape[1]))])
    u, _, vt = np.linalg.svd(a_hat.T @ a_true)
    aligned = a_hat @ (u @ vt)
    return float(np.corrcoef(aligned.ravel(), a_true.ravel())[0, 1])


def fit(binary, data, dims, out):
    args = [binary, "fit", data, "--irt", "2pl", "-o", out]
    if dims > 1:
        args += ["--dims", str(dims)]
    start = time.time()
    subprocess.run(args, check=True, stderr=subprocess.DEVNULL)
    seconds = time.time() - start
    with open(out) as f:
        return seconds, json.load(f)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--benchsift", default=os.path.join(ROOT, "target", "release", "benchsift"))
    parser.add_argument("--dims", default="5,10")
    args = parser.parse_args()
    dims_list = [1] + [int(x) for x in args.dims.split(",")]
    scratch = tempfile.mkdtemp(prefix="benchsift-mirt-")
    binary = os.path.join(scratch, "benchsift")
    shutil.copy(args.benchsift, binary)
    syn = os.path.join(scratch, "synthetic.csv")
    a_true, d_true = synthetic(syn)
    mmlu = "/work/shared/data/mmlu_pro_29models/responses.csv"
    if not os.path.exists(os.path.join(ROOT, "..", "shared", "data", "mmlu_pro_29models", "responses.csv")) and not os.path.exists(mmlu):
        mmlu = os.path.join(ROOT, "www", "data", "mmlu_pro", "responses.csv.gz")
    rows = []
    for name, data in [("synthetic MIRT 2,000 x 1,000 (true D = 5)", syn), ("MMLU-Pro 29 x 12,032", mmlu)]:
        for dims in dims_list:
            seconds, result = fit(binary, data, dims, os.path.join(scratch, "fit.json"))
            row = {"matrix": name, "dims": dims, "seconds": round(seconds, 2), "iterations": result["iterations"],
                   "converged": result["converged"], "log_likelihood": result["log_likelihood"],
                   "threads": result["backend"]["threads"]}
            if data == syn and dims > 1:
                a_hat = np.array([i["a"] for i in result["items"]])
                row["r_loadings"] = round(procrustes_r(a_hat, a_true), 4)
                row["r_intercepts"] = round(float(np.corrcoef([i["intercept"] for i in result["items"]], d_true)[0, 1]), 4)
            rows.append(row)
            print(json.dumps(row), flush=True)
    os.makedirs(os.path.join(ROOT, "bench-results"), exist_ok=True)
    with open(os.path.join(ROOT, "bench-results", "mirt.json"), "w") as f:
        json.dump(rows, f, indent=1)
    print("\n| matrix | D | seconds | iterations | converged | log-likelihood (D > 1: ELBO) | r(loadings) | r(intercepts) |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['matrix']} | {r['dims']} | {r['seconds']} | {r['iterations']} | {r['converged']} | {r['log_likelihood']:.1f} |"
              f" {r.get('r_loadings', '—')} | {r.get('r_intercepts', '—')} |")
    shutil.rmtree(scratch)


if __name__ == "__main__":
    main()
