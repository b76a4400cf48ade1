#!/usr/bin/env python3
"""Benchmark benchsift's 2PL IRT fit against girth (MML) and py-irt (Pyro SVI)
on the same matrices in the same run: wall-clock speed and held-out
log-likelihood.

Run (from anywhere; the venv is the one from scripts/fixtures/requirements-irt.txt):
    python3 -m venv /tmp/irt-venv
    /tmp/irt-venv/bin/pip install -r scripts/bench/requirements-bench.txt
    /tmp/irt-venv/bin/python scripts/bench/irt_vs_reference.py [--quick]
        [--girth-timeout S] [--skip-girth-mmlu] [--only synthetic_2pl|mmlu_pro]
        [--benchsift PATH] [--no-benchsift-1core] [--tools benchsift-1core,girth,pyirt]
        [--benchsift-iterations 1,2,3] [--benchsift-tolerances 1e-3,1e-2]
Needs target/release/benchsift (cargo build --release); the script copies it to a
temporary folder first, so a rebuild during the run does not change what is timed.

Matrices
  synthetic_2pl  2,000 models x 1,000 items, numpy default_rng(20261201), draws in
                 this order: theta ~ N(0,1) [2000], b ~ N(0,1) [1000],
                 a ~ LogNormal(0, 0.3) [1000], U ~ Uniform(0,1) [2000 x 1000];
                 x = 1 if U < sigmoid(a (theta - b)).
  mmlu_pro       29 x 12,032 (0.49% missing), shared/data/mmlu_pro_29models/
                 responses.csv, else www/data/mmlu_pro/responses.csv.gz. Kept as is
                 (876 columns are constant across the 29 models; every tool gets them).
  (--quick: synthetic only.)

Held-out cells: default_rng(20261202) picks round(5%) of the OBSERVED cells; they are
blanked in the training matrix, which is all that any tool sees.
  benchsift: wide CSV, empty cell = missing.
  girth 0.8: items x models int array with girth.INVALID_RESPONSE (-99999) in the
             missing cells (what girth.tag_missing_data writes). twopl_mml = grm_mml,
             which masks invalid cells out of its per-item integrals.
  py-irt:    the held-out responses are simply omitted from the JSONL.

Fits (each in its own process, one at a time, threads pinned to 1 for the Python tools
unless --python-threads N):
  benchsift  `benchsift fit train.csv --irt 2pl -o fit.json` (defaults). Seconds = wall
             clock of the WHOLE CLI process (start-up, reading/parsing the CSV, fit,
             writing JSON). It uses every core it may (2 here); the "benchsift-1core" row
             is the same command under `taskset -c 0` (benchsift sizes its thread pool
             from the CPU affinity).
  girth      girth.twopl_mml(X) with default options (41 nodes on [-4.5, 4.5],
             max_iteration 25). Seconds = that call only, measured in a worker process
             that is killed after --girth-timeout (default 3600 s). If girth on the full
             MMLU matrix times out, girth and benchsift are also timed on a 29 x 1,000
             item subset (default_rng(20261203), columns of the same training matrix) and
             a LINEAR per-item estimate seconds_subset * n_items / 1000 is printed,
             labelled as an estimate. Iterations are counted by wrapping girth's
             LatentPDF.__call__ (called once per EM iteration).
  py-irt     IrtModelTrainer(data_path, IrtConfig(model_type='2pl', seed=20261128),
             verbose=False).train(device='cpu'), as in scripts/fixtures/make_irt_golden.py
             (defaults: 2000 epochs, vague priors, Adam lr 0.1, decay 0.9999). Seconds =
             train() only. Its scale is not N(0,1), so it is standardised with
             mu = mean(ability), sigma = population sd(ability):
             a' = disc*sigma, b' = (diff - mu)/sigma (a (theta - b) is unchanged).

Scoring (the same code for every tool, from its item parameters a, b only):
  grid: 2,001 equally spaced nodes on [-6, 6], weights N(0,1) pdf normalised to 1.
  theta_i = EAP of model i given the tool's a, b and model i's TRAINING responses.
  heldout_ll = mean over held-out cells of x log p + (1-x) log(1-p),
               p = sigmoid(a_j (theta_i - b_j)).
  train_ll   = sum over models of log sum_q w_q prod_{observed training j} P(x_ij|theta_q)
               (marginal log-likelihood on the grid above).
  The JSON also has heldout_ll_predictive (p integrated over each model's posterior
  instead of plugging in the EAP) and, for synthetic data, the generating parameters
  as a "truth" row and correlations with the truth.

Writes bench-results/irt_vs_reference.json (rewritten after each matrix; "complete": true at
the end). Scratch files go to a temporary folder (--work DIR to keep them).
"""
import argparse
import csv
import gzip
import hashlib
import importlib.metadata
import io
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time

# Threads for the Python tools (--python-threads; workers inherit the variable).
PYTHON_THREADS = int(os.environ.get("BENCHSIFT_PYTHON_THREADS", "1"))
for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_v] = str(PYTHON_THREADS)

import warnings  # noqa: E402

import numpy as np  # noqa: E402
from scipy.special import logsumexp  # noqa: E402

warnings.filterwarnings("ignore", category=DeprecationWarning)
warnings.filterwarnings("ignore", category=RuntimeWarning)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RESULTS = os.path.join(ROOT, "bench-results")
SHARED = os.environ.get("BENCHSIFT_SHARED_DATA") or next(
    (p for p in (os.path.join(ROOT, "shared", "data"), os.path.join(os.path.dirname(ROOT), "shared", "data"))
     if os.path.isdir(p)),
    os.path.join(ROOT, "shared", "data"),
)
SYNTH_SEED = 20261201
HOLDOUT_SEED = 20261202
SUBSET_SEED = 20261203
PYIRT_SEED = 20261128
HOLDOUT_FRAC = 0.05
SUBSET_ITEMS = 1000
GRID_N, GRID_LO, GRID_HI = 2001, -6.0, 6.0
INVALID_RESPONSE = -99999  # girth.utilities.utils.INVALID_RESPONSE (checked in the worker)


# ----------------------------------------------------------------- data

def read_wide_text(text):
    r = csv.reader(io.StringIO(text))
    header = next(r)
    models, rows = [], []
    for rec in r:
        models.append(rec[0])
        rows.append([float(x) if x.strip() else np.nan for x in rec[1:]])
    return models, header[1:], np.array(rows, dtype=float)


def load_mmlu():
    p = os.path.join(SHARED, "mmlu_pro_29models", "responses.csv")
    if os.path.exists(p):
        with open(p, encoding="utf-8-sig", newline="") as f:
            return p, read_wide_text(f.read())
    p = os.path.join(ROOT, "www", "data", "mmlu_pro", "responses.csv.gz")
    with gzip.open(p, "rt", encoding="utf-8-sig", newline="") as f:
        return p, read_wide_text(f.read())


def make_synthetic(n=2000, k=1000, seed=SYNTH_SEED):
    rng = np.random.default_rng(seed)
    theta = rng.normal(0.0, 1.0, n)
    b = rng.normal(0.0, 1.0, k)
    a = rng.lognormal(0.0, 0.3, k)
    P = 1.0 / (1.0 + np.exp(-a * (theta[:, None] - b)))
    X = (rng.random((n, k)) < P).astype(float)
    return [f"m{i:04d}" for i in range(n)], [f"i{j:04d}" for j in range(k)], X, {"theta": theta, "a": a, "b": b}


def split_holdout(M, frac=HOLDOUT_FRAC, seed=HOLDOUT_SEED):
    """M: models x items float, NaN = missing. Returns training matrix and held-out (rows, cols, x)."""
    obs = np.flatnonzero(~np.isnan(M).ravel())
    rng = np.random.default_rng(seed)
    pick = np.sort(rng.choice(obs, size=int(round(frac * obs.size)), replace=False))
    rows, cols = np.unravel_index(pick, M.shape)
    x = M[rows, cols].copy()
    T = M.copy()
    T[rows, cols] = np.nan
    return T, (rows, cols, x)


def write_wide(path, models, items, T):
    with open(path, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["model"] + list(items))
        for m, row in zip(models, T):
            w.writerow([m] + ["" if np.isnan(v) else str(int(v)) for v in row])


# ----------------------------------------------------------------- scoring

def grid():
    nodes = np.linspace(GRID_LO, GRID_HI, GRID_N)
    lw = -0.5 * nodes ** 2
    return nodes, lw - logsumexp(lw)


def log_sig(z):
    return -np.logaddexp(0.0, -z)


def score(T, holdout, a, b):
    """Same rule for every tool (see docstring). T: training matrix (NaN = missing)."""
    nodes, logw = grid()
    a, b = np.asarray(a, float), np.asarray(b, float)
    obs = ~np.isnan(T)
    O1 = (obs & (np.nan_to_num(T) == 1)).astype(float)
    O0 = (obs & (np.nan_to_num(T) == 0)).astype(float)
    L = np.empty((T.shape[0], nodes.size))
    for s in range(0, nodes.size, 256):
        q = nodes[s:s + 256]
        z = a[None, :] * (q[:, None] - b[None, :])
        L[:, s:s + 256] = O1 @ log_sig(z).T + O0 @ log_sig(-z).T
    lp = L + logw[None, :]
    marg = logsumexp(lp, axis=1)
    post = np.exp(lp - marg[:, None])
    eap = post @ nodes
    rows, cols, x = holdout
    z = a[cols] * (eap[rows] - b[cols])
    ll_cells = x * log_sig(z) + (1 - x) * log_sig(-z)
    # posterior-predictive variant (extra, JSON only)
    pred = np.empty(rows.size)
    for s in range(0, rows.size, 4096):
        r, c = rows[s:s + 4096], cols[s:s + 4096]
        pq = 1.0 / (1.0 + np.exp(-a[c][:, None] * (nodes[None, :] - b[c][:, None])))
        pred[s:s + 4096] = np.einsum("hq,hq->h", post[r], pq)
    pred = np.clip(pred, 1e-300, 1 - 1e-16)
    ll_pred = x * np.log(pred) + (1 - x) * np.log1p(-pred)
    return {
        "heldout_ll": float(ll_cells.mean()),
        "heldout_ll_predictive": float(ll_pred.mean()),
        "heldout_accuracy": float(((z > 0) == (x == 1)).mean()),
        "train_ll": float(marg.sum()),
        "train_ll_per_cell": float(marg.sum() / obs.sum()),
        "models_underflowing_at_every_node": int((L.max(axis=1) < -745.0).sum()),
        "eap": eap,
    }


def corr(x, y):
    x, y = np.asarray(x, float), np.asarray(y, float)
    return None if x.std() < 1e-12 or y.std() < 1e-12 else round(float(np.corrcoef(x, y)[0, 1]), 4)


# ----------------------------------------------------------------- workers (child processes)

def worker_girth(inp, out):
    import girth
    from girth.utilities import latent_ability_distribution as lad
    assert girth.INVALID_RESPONSE == INVALID_RESPONSE
    d = np.load(inp)
    D = d["X"]  # items x models int, INVALID_RESPONSE where missing
    calls = []
    orig = lad.LatentPDF.__call__

    t_call = time.perf_counter()

    def counting(self, partial_int, iteration):
        # one call per EM iteration: report the pace, so a fit that runs for hours shows how far it got
        calls.append(iteration)
        print(f"    girth iteration {iteration + 1} starts at {time.perf_counter() - t_call:.0f} s",
              file=sys.stderr, flush=True)
        return orig(self, partial_int, iteration)

    lad.LatentPDF.__call__ = counting
    t0 = time.perf_counter()
    r = girth.twopl_mml(D)
    secs = time.perf_counter() - t0
    n = D.shape[0]
    np.savez(out, a=np.asarray(r["Discrimination"], float).reshape(n),
             b=np.asarray(r["Difficulty"], float).reshape(n), seconds=secs,
             iterations=(max(calls) + 1) if calls else 0,
             girth_ll=-0.5 * float(r["AIC"]["null"]))


def worker_pyirt(inp, out):
    import random

    import pyro
    import torch
    from py_irt.config import IrtConfig
    from py_irt.training import IrtModelTrainer

    torch.set_num_threads(PYTHON_THREADS)
    d = np.load(inp, allow_pickle=True)
    T, models, items = d["T"], list(d["models"]), list(d["items"])
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "data.jsonl")
        with open(path, "w") as f:
            for m, row in zip(models, T):
                f.write(json.dumps({"subject_id": m, "responses": {
                    i: int(v) for i, v in zip(items, row) if not np.isnan(v)}}) + "\n")
        random.seed(PYIRT_SEED)
        np.random.seed(PYIRT_SEED)
        torch.manual_seed(PYIRT_SEED)
        pyro.set_rng_seed(PYIRT_SEED)
        config = IrtConfig(model_type="2pl", seed=PYIRT_SEED)
        trainer = IrtModelTrainer(data_path=path, config=config, verbose=False)
        t0 = time.perf_counter()
        trainer.train(device="cpu")
        secs = time.perf_counter() - t0
    p = trainer.last_params
    item_ix = {v: int(k) for k, v in p["item_ids"].items()}
    subj_ix = {v: int(k) for k, v in p["subject_ids"].items()}
    diff = np.array([p["diff"][item_ix[i]] for i in items], float)
    disc = np.array([p["disc"][item_ix[i]] for i in items], float)
    ability = np.array([p["ability"][subj_ix[m]] for m in models], float)
    mu, sd = float(ability.mean()), float(ability.std())
    np.savez(out, a=disc * sd, b=(diff - mu) / sd, seconds=secs, iterations=config.epochs, mu=mu, sigma=sd)


def run_worker(kind, payload, timeout, work):
    inp = os.path.join(work, f"{kind}_in.npz")
    out = os.path.join(work, f"{kind}_out.npz")
    np.savez(inp, **payload)
    if os.path.exists(out):
        os.remove(out)
    proc = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--_worker", kind, inp, out])
    try:
        rc = proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        return None, f">timeout ({timeout:.0f} s)"
    if rc != 0 or not os.path.exists(out):
        return None, f"failed (exit {rc})"
    r = dict(np.load(out))
    return {k: (v.item() if v.ndim == 0 else v) for k, v in r.items()}, None


def run_benchsift(exe, csv_path, out_json, one_core=False, extra_args=()):
    cmd = [exe, "fit", csv_path, "--irt", "2pl", "-o", out_json, *extra_args]
    if one_core:
        cmd = ["taskset", "-c", "0"] + cmd
    t0 = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True)
    secs = time.perf_counter() - t0
    if p.returncode != 0:
        return None, f"failed (exit {p.returncode}): {p.stderr.strip()[-300:]}"
    with open(out_json) as f:
        d = json.load(f)
    return {"a": np.array([it["a"] for it in d["items"]], float),
            "b": np.array([it["b"] for it in d["items"]], float),
            "ids": [it["id"] for it in d["items"]],
            "seconds": secs, "iterations": d.get("iterations"), "converged": d.get("converged"),
            "own_ll": d.get("log_likelihood"), "backend": d.get("backend")}, None


# ----------------------------------------------------------------- driver

def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def bench_matrix(name, models, items, M, truth, args, exe, work, rows_out):
    T, hold = split_holdout(M)
    n_obs = int((~np.isnan(T)).sum())
    info = {"matrix": name, "models": len(models), "items": len(items),
            "missing_frac_original": float(np.isnan(M).mean()),
            "training_cells": n_obs, "heldout_cells": int(hold[0].size)}
    log(f"{name}: {len(models)} x {len(items)}, {n_obs} training cells, {hold[0].size} held out")
    mdir = os.path.join(work, name)
    os.makedirs(mdir, exist_ok=True)
    csv_path = os.path.join(mdir, "train.csv")
    write_wide(csv_path, models, items, T)
    results = []

    def record(tool, fit, err, note="", T_=T, hold_=hold, extra=None):
        row = {"matrix": name, "tool": tool, "note": note, "loadavg_before": None}
        row.update(extra or {})
        if fit is None:
            row.update({"seconds": None, "status": err})
            log(f"  {tool}: {err}")
        else:
            s = score(T_, hold_, fit["a"], fit["b"]) if hold_ is not None else None
            row.update({"seconds": fit.get("seconds"), "status": "ok",
                        "iterations": fit.get("iterations")})
            for k in ("converged", "own_ll", "backend", "girth_ll", "mu", "sigma"):
                if k in fit:
                    row[k] = fit[k]
            if s is not None:
                eap = s.pop("eap")
                row.update(s)
                if truth is not None:
                    row["corr_truth"] = {"a": corr(fit["a"], truth["a"]), "b": corr(fit["b"], truth["b"]),
                                         "theta_eap": corr(eap, truth["theta"])}
            log(f"  {tool}: {row['seconds'] if row['seconds'] is not None else '-'} s, "
                f"heldout_ll {row.get('heldout_ll', float('nan')):.5f}, train_ll {row.get('train_ll', float('nan')):.2f}")
        results.append(row)
        return row

    # benchsift (always: its fit is the baseline of every ratio)
    la = os.getloadavg()[0]
    fit, err = run_benchsift(exe, csv_path, os.path.join(mdir, "benchsift_fit.json"))
    if fit is not None:
        assert fit["ids"] == list(items)
    record("benchsift", fit, err, "whole CLI process incl. CSV read", extra={"loadavg_before": la})
    if not args.no_benchsift_1core and "benchsift-1core" in args.tools:
        la = os.getloadavg()[0]
        fit1, err1 = run_benchsift(exe, csv_path, os.path.join(mdir, "benchsift_fit_1core.json"), one_core=True)
        record("benchsift-1core", fit1, err1, "taskset -c 0, whole CLI process", extra={"loadavg_before": la})
    # The same fit stopped early or with a looser tolerance: how soon it reaches
    # a reference tool's held-out quality.
    variants = [(f"benchsift ({k} EM iteration{'s' if k > 1 else ''})", f"{k}it", ["--max-iterations", str(k)])
                for k in args.benchsift_iterations]
    variants += [(f"benchsift (--tolerance {t})", f"tol{t}", ["--tolerance", t]) for t in args.benchsift_tolerances]
    for tool, tag, flags in variants:
        la = os.getloadavg()[0]
        fitv, errv = run_benchsift(exe, csv_path, os.path.join(mdir, f"benchsift_fit_{tag}.json"), extra_args=flags)
        record(tool, fitv, errv, f"{' '.join(flags)}, whole CLI process", extra={"loadavg_before": la})

    # girth
    girth_timed_out = False
    if "girth" in args.tools and name == "mmlu_pro" and args.skip_girth_mmlu:
        record("girth", None, "skipped (--skip-girth-mmlu)")
    elif "girth" in args.tools:
        D = np.where(np.isnan(T), INVALID_RESPONSE, T).T.astype(np.int64)
        la = os.getloadavg()[0]
        log(f"  girth twopl_mml (timeout {args.girth_timeout:.0f} s) ...")
        gfit, gerr = run_worker("girth", {"X": D}, args.girth_timeout, mdir)
        record("girth", gfit, gerr, "twopl_mml call only", extra={"loadavg_before": la})
        girth_timed_out = gfit is None and gerr.startswith(">timeout")

    if girth_timed_out:
        rng = np.random.default_rng(SUBSET_SEED)
        cols = np.sort(rng.choice(len(items), size=SUBSET_ITEMS, replace=False))
        Ts = T[:, cols]
        sub_csv = os.path.join(mdir, "train_subset.csv")
        write_wide(sub_csv, models, [items[j] for j in cols], Ts)
        la = os.getloadavg()[0]
        bs, bserr = run_benchsift(exe, sub_csv, os.path.join(mdir, "benchsift_fit_subset.json"))
        record(f"benchsift [{SUBSET_ITEMS}-item subset]", bs, bserr, "subset timing only", hold_=None,
               extra={"loadavg_before": la})
        D = np.where(np.isnan(Ts), INVALID_RESPONSE, Ts).T.astype(np.int64)
        la = os.getloadavg()[0]
        log(f"  girth twopl_mml on {SUBSET_ITEMS}-item subset ...")
        gs, gserr = run_worker("girth_subset", {"X": D}, args.girth_timeout, mdir)
        record(f"girth [{SUBSET_ITEMS}-item subset]", gs, gserr, "subset timing only", hold_=None,
               extra={"loadavg_before": la})
        if gs is not None:
            est = gs["seconds"] * len(items) / SUBSET_ITEMS
            results.append({"matrix": name, "tool": "girth (ESTIMATE)", "status": "estimate",
                            "seconds": est, "estimated": True,
                            "note": f"ESTIMATE = {SUBSET_ITEMS}-item subset seconds x {len(items)}/{SUBSET_ITEMS} "
                                    "(linear in items; iterations may differ)"})

    # py-irt
    if "pyirt" in args.tools:
        la = os.getloadavg()[0]
        log("  py-irt 2pl ...")
        pfit, perr = run_worker("pyirt", {"T": T, "models": np.array(models, dtype=object),
                                          "items": np.array(items, dtype=object)}, args.girth_timeout, mdir)
        record("py-irt", pfit, perr, "train() only; standardised", extra={"loadavg_before": la})

    if truth is not None:
        record("truth", {"a": truth["a"], "b": truth["b"], "seconds": None, "iterations": None}, None,
               "generating parameters")

    # Every row's ratio is against the full benchsift fit (early-stopped rows: < 1).
    base = next((r["seconds"] for r in results if r["tool"] == "benchsift" and r["seconds"]), None)
    base_sub = next((r["seconds"] for r in results if r["tool"].startswith("benchsift [") and r["seconds"]), None)
    for r in results:
        ref = base_sub if "subset" in r["tool"] else base
        r["ratio_vs_benchsift"] = (r["seconds"] / ref) if (r.get("seconds") and ref) else None
    info["results"] = results
    rows_out.append(info)


def fmt(v, spec):
    return "-" if v is None else format(v, spec)


def print_table(matrices):
    hdr = f"{'matrix':<14} {'tool':<28} {'seconds':>18} {'ratio':>9} {'heldout LL/cell':>16} {'train marginal LL':>18} {'iters':>10}"
    print(hdr)
    print("-" * len(hdr))
    for m in matrices:
        for r in m["results"]:
            if r["status"] not in ("ok", "estimate"):
                secs = r["status"]
            else:
                secs = ("~" if r.get("estimated") else "") + fmt(r["seconds"], ".2f")
            it = r.get("iterations")
            if it is not None and r.get("converged") is not None:
                it = f"{it}{'' if r['converged'] else '*'}"
            print(f"{m['matrix']:<14} {r['tool']:<28} {secs:>18} {fmt(r.get('ratio_vs_benchsift'), '.2f'):>9} "
                  f"{fmt(r.get('heldout_ll'), '.5f'):>16} {fmt(r.get('train_ll'), '.2f'):>18} {str(it if it is not None else '-'):>10}")


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def versions():
    out = {}
    for n in ("girth", "py-irt", "numpy", "scipy", "torch", "pyro-ppl"):
        try:
            out[n] = importlib.metadata.version(n)
        except importlib.metadata.PackageNotFoundError:
            out[n] = "not installed"
    out["python"] = sys.version.split()[0]
    return out


NOTES = ["benchsift seconds = whole CLI process including reading the CSV; girth/py-irt seconds = "
         f"fitting call only, Python tools pinned to {PYTHON_THREADS} thread(s).",
         "girth missing cells = INVALID_RESPONSE (-99999); py-irt: held-out responses omitted.",
         "py-irt standardised: a' = disc*sigma, b' = (diff-mu)/sigma, mu/sigma over the models' abilities.",
         "Shared 2-core machine: other work may have been running (see loadavg_before per row)."]


def main():
    if len(sys.argv) >= 2 and sys.argv[1] == "--_worker":
        kind, inp, out = sys.argv[2:5]
        (worker_pyirt if kind == "pyirt" else worker_girth)(inp, out)
        return
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="synthetic matrix only")
    ap.add_argument("--only", choices=["synthetic_2pl", "mmlu_pro"],
                    help="run one matrix only (e.g. to give girth's hour-long MMLU-Pro fit a run of its own)")
    ap.add_argument("--girth-timeout", type=float, default=3600.0,
                    help="seconds before a girth (or py-irt) fit is killed (default 3600)")
    ap.add_argument("--skip-girth-mmlu", action="store_true", help="do not run girth on MMLU-Pro")
    ap.add_argument("--no-benchsift-1core", action="store_true", help="skip the taskset -c 0 benchsift row")
    ap.add_argument("--benchsift-iterations", default=[], type=lambda v: [int(k) for k in v.split(",") if k],
                    help="comma list of EM iteration caps: extra benchsift rows stopped early (e.g. 1,2,3), "
                         "to see how soon it reaches the other tools' held-out log-likelihood")
    ap.add_argument("--benchsift-tolerances", default=[], type=lambda v: [t for t in v.split(",") if t],
                    help="comma list of --tolerance values (e.g. 1e-3,1e-2): extra benchsift rows with a looser "
                         "convergence tolerance than the default 1e-4")
    ap.add_argument("--tools", default="benchsift-1core,girth,pyirt",
                    type=lambda v: set(t for t in v.split(",") if t),
                    help="comma list of the rows to run besides benchsift (always run: it is every ratio's "
                         "baseline): benchsift-1core, girth, pyirt; default all. Two runs with --tools girth "
                         "and --tools pyirt can use the two cores at once.")
    ap.add_argument("--python-threads", type=int, default=PYTHON_THREADS,
                    help="threads for girth and py-irt (OMP/BLAS and torch; default 1)")
    ap.add_argument("--benchsift", default=os.path.join(ROOT, "target", "release", "benchsift"))
    ap.add_argument("--out", default=os.path.join(RESULTS, "irt_vs_reference.json"))
    ap.add_argument("--work", help="scratch folder to use and keep (default: a temporary folder, removed)")
    args = ap.parse_args()
    unknown = args.tools - {"benchsift-1core", "girth", "pyirt"}
    if unknown:
        ap.error(f"--tools: unknown {', '.join(sorted(unknown))} (choose from benchsift-1core, girth, pyirt)")

    if args.python_threads != PYTHON_THREADS:
        # Re-run with the variable set, so that this process and its workers see it at import.
        env = dict(os.environ, BENCHSIFT_PYTHON_THREADS=str(args.python_threads))
        sys.exit(subprocess.run([sys.executable, os.path.abspath(__file__), *sys.argv[1:]], env=env).returncode)
    t_start = time.perf_counter()
    if not os.path.exists(args.benchsift):
        sys.exit(f"missing {args.benchsift}: run `cargo build --release` first")
    os.makedirs(RESULTS, exist_ok=True)
    # scratch (CSVs, fits, the copied binary) lives outside the repo; removed at the end
    work = args.work or tempfile.mkdtemp(prefix="benchsift-irt-bench-")
    os.makedirs(work, exist_ok=True)
    exe = os.path.join(work, "benchsift")
    shutil.copy2(args.benchsift, exe)
    with open(exe, "rb") as f:
        sha = hashlib.sha256(f.read()).hexdigest()
    bin_info = {"path": args.benchsift, "sha256": sha,
                "mtime_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(os.path.getmtime(args.benchsift)))}
    ver = subprocess.run([exe, "--version"], capture_output=True, text=True).stdout.strip()
    machine = {"nproc": os.cpu_count(), "cpu_model": cpu_model(), "platform": platform.platform(),
               "loadavg_start": os.getloadavg()}
    log(f"benchsift {ver} ({bin_info['mtime_utc']}), {machine['nproc']} CPUs: {machine['cpu_model']}")

    matrices = []

    def save(done):
        out = {"generated_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "complete": done,
               "command": " ".join([os.path.basename(sys.executable)] + sys.argv),
               "total_seconds": time.perf_counter() - t_start, "machine": machine,
               "benchsift": {"version": ver, **bin_info}, "versions": versions(),
               "settings": {"synthetic_seed": SYNTH_SEED, "holdout_seed": HOLDOUT_SEED,
                            "holdout_frac": HOLDOUT_FRAC, "subset_seed": SUBSET_SEED,
                            "subset_items": SUBSET_ITEMS, "pyirt_seed": PYIRT_SEED,
                            "grid": {"nodes": GRID_N, "lo": GRID_LO, "hi": GRID_HI, "prior": "N(0,1)"},
                            "girth_timeout_s": args.girth_timeout, "quick": args.quick,
                            "skip_girth_mmlu": args.skip_girth_mmlu, "only": args.only, "python_threads": PYTHON_THREADS,
                            "tools": sorted(args.tools)},
               "notes": NOTES, "matrices": matrices}
        with open(args.out, "w") as f:
            json.dump(out, f, indent=1, default=lambda o: o.tolist() if hasattr(o, "tolist") else str(o))
            f.write("\n")

    if args.only != "mmlu_pro":
        models, items, M, truth = make_synthetic()
        bench_matrix("synthetic_2pl", models, items, M, truth, args, exe, work, matrices)
        save(False)
    if not args.quick and args.only != "synthetic_2pl":
        src, (models, items, M) = load_mmlu()
        log(f"MMLU-Pro from {src}")
        bench_matrix("mmlu_pro", models, items, M, None, args, exe, work, matrices)

    total = time.perf_counter() - t_start
    machine["loadavg_end"] = os.getloadavg()
    print()
    print_table(matrices)
    print()
    print(f"Machine: {machine['nproc']} CPUs ({machine['cpu_model']}); load average at start "
          f"{machine['loadavg_start'][0]:.2f}, at end {machine['loadavg_end'][0]:.2f}. Other work may have "
          "been running (shared machine), so timings are indicative.")
    print("seconds: benchsift = whole CLI process (start-up + CSV read + fit + JSON write), all cores; "
          "benchsift-1core = same under taskset -c 0; girth = twopl_mml call, py-irt = train() call "
          f"(both {PYTHON_THREADS} thread(s)). ratio = tool seconds / benchsift seconds (subset rows: vs benchsift on the subset).")
    print(f"heldout LL/cell: mean x log p + (1-x) log(1-p) over held-out cells, p at the EAP theta from each "
          f"tool's a, b and the model's training responses ({GRID_N} nodes on [{GRID_LO:g}, {GRID_HI:g}], N(0,1)). "
          "train marginal LL: sum over models on the same grid. iters: EM iterations (benchsift, girth; "
          "* = not converged), epochs (py-irt). py-irt parameters standardised (a*sd, (b-mu)/sd).")
    print(f"Total runtime {total:.0f} s.")
    save(True)
    if not args.work:
        shutil.rmtree(work, ignore_errors=True)
    log(f"wrote {os.path.relpath(args.out, ROOT)}")


if __name__ == "__main__":
    main()
