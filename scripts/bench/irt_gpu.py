#!/usr/bin/env python3
"""GPU (wgpu) against CPU for `benchsift fit`, in the same run on the same matrix.

Generates a synthetic binary 2PL matrix (default 2,000 models x 1,000 items;
theta, b ~ N(0, 1), a ~ lognormal(0, 0.3); seed 20261126; numpy when it is
installed, which writes 6,000 x 30,000 in seconds, else Python's own `random`),
or takes a response CSV (--csv), then runs

    benchsift fit matrix.csv --irt 2pl --backend cpu -o cpu.json
    benchsift fit matrix.csv --irt 2pl --backend gpu -o gpu.json

alternately --repeat times each (default 3), and prints the wall-clock times
(whole process: read, fit, write), the backend each reports, and how far the two
fits are apart (largest |a| and |b| difference, log-likelihoods, iterations).

On a machine without a hardware GPU, `--backend gpu` runs on whatever wgpu
finds — here Mesa lavapipe, a software Vulkan rasteriser on the same CPU cores.

usage: python3 scripts/bench/irt_gpu.py [--exe target/release/benchsift]
       [--models 2000] [--items 1000 | --csv responses.csv.gz] [--repeat 3]
       [--irt 2pl] [--json result.json]
"""
import argparse
import json
import math
import os
import random
import re
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def write_matrix(path, n, k, seed):
    try:
        import numpy as np
    except ImportError:
        return write_matrix_python(path, n, k, seed)
    rng = np.random.default_rng(seed)
    theta = rng.normal(size=n)
    b = rng.normal(size=k)
    a = np.exp(rng.normal(0.0, 0.3, size=k))
    with open(path, "wb") as f:
        f.write(("model," + ",".join(f"i{j:05d}" for j in range(k)) + "\n").encode())
        for start in range(0, n, 500):
            t = theta[start:start + 500, None]
            p = 1.0 / (1.0 + np.exp(-a * (t - b)))
            cells = np.empty((t.shape[0], 2 * k), dtype=np.uint8)
            cells[:, 0::2] = ord("0") + (rng.random(p.shape) < p)
            cells[:, 1::2] = ord(",")
            cells[:, -1] = ord("\n")
            for r in range(t.shape[0]):
                f.write(f"m{start + r:05d},".encode())
                f.write(cells[r].tobytes())


def write_matrix_python(path, n, k, seed):
    rng = random.Random(seed)
    theta = [rng.gauss(0.0, 1.0) for _ in range(n)]
    b = [rng.gauss(0.0, 1.0) for _ in range(k)]
    a = [math.exp(rng.gauss(0.0, 0.3)) for _ in range(k)]
    with open(path, "w") as f:
        f.write("model," + ",".join(f"i{j:04d}" for j in range(k)) + "\n")
        for i in range(n):
            t = theta[i]
            row = ("1" if rng.random() < 1.0 / (1.0 + math.exp(-a[j] * (t - b[j]))) else "0" for j in range(k))
            f.write(f"m{i:04d}," + ",".join(row) + "\n")


def cpus():
    """CPUs this process may run on (taskset narrows them; benchsift uses as many threads)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def run(exe, csv_path, backend, irt, out):
    t0 = time.perf_counter()
    p = subprocess.run([exe, "fit", csv_path, "--irt", irt, "--backend", backend, "-o", out], capture_output=True, text=True)
    secs = time.perf_counter() - t0
    if p.returncode != 0:
        sys.exit(f"benchsift fit --backend {backend} failed (exit {p.returncode}): {p.stderr.strip()[-500:]}")
    # The CLI reports the fit's own time (without reading the CSV) when it
    # takes at least half a second.
    fit_secs = re.findall(r"fit: done in ([0-9.]+) s", p.stderr)
    with open(out) as f:
        return secs, float(fit_secs[-1]) if fit_secs else None, json.load(f)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--exe", default=os.path.join(ROOT, "target", "release", "benchsift"))
    ap.add_argument("--models", type=int, default=2000)
    ap.add_argument("--items", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--irt", default="2pl")
    ap.add_argument("--csv", help="fit this response matrix instead of a synthetic one")
    ap.add_argument("--json", help="also write the timings and both backends' reports here")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as work:
        if args.csv:
            csv_path = args.csv
        else:
            csv_path = os.path.join(work, "matrix.csv")
            t0 = time.perf_counter()
            write_matrix(csv_path, args.models, args.items, 20261126)
            print(f"wrote {args.models} x {args.items} in {time.perf_counter() - t0:.1f} s ({os.path.getsize(csv_path) >> 20} MiB)", flush=True)
        times = {"cpu": [], "gpu": []}
        fit_times = {"cpu": [], "gpu": []}
        fits = {}
        for _ in range(args.repeat):
            for backend in ("cpu", "gpu"):
                secs, fit_secs, fit = run(args.exe, csv_path, backend, args.irt, os.path.join(work, backend + ".json"))
                times[backend].append(secs)
                fit_times[backend].append(fit_secs)
                fits[backend] = fit
    cpu, gpu = fits["cpu"], fits["gpu"]
    da = max(abs(p["a"] - q["a"]) for p, q in zip(cpu["items"], gpu["items"]))
    db = max(abs(p["b"] - q["b"]) for p, q in zip(cpu["items"], gpu["items"]))
    dt = max(abs(p["theta"] - q["theta"]) for p, q in zip(cpu["models"], gpu["models"]))
    shape = f"{len(cpu['models'])} x {len(cpu['items'])}"
    print(f"{args.irt} {shape} ({args.csv or 'synthetic'}), {args.repeat} runs each (whole process, wall clock), {cpus()} CPUs")
    for backend in ("cpu", "gpu"):
        t = sorted(times[backend])
        f = fits[backend]
        fit_only = ", ".join("-" if x is None else f"{x:.1f}" for x in fit_times[backend])
        print(f"  --backend {backend}: median {t[len(t) // 2]:.2f} s (min {t[0]:.2f}, max {t[-1]:.2f}; fit alone {fit_only} s); "
              f"{f['iterations']} iterations, converged {f['converged']}, log-likelihood {f['log_likelihood']:.3f}")
        print(f"    backend: {f['backend']['device']} ({f['backend']['reason']})")
    ratio = sorted(times["gpu"])[len(times["gpu"]) // 2] / sorted(times["cpu"])[len(times["cpu"]) // 2]
    print(f"  gpu / cpu time: {ratio:.2f}")
    print(f"  largest |gpu - cpu|: a {da:.2e}, b {db:.2e}, theta {dt:.2e}", flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({
                "irt": args.irt, "matrix": args.csv or "synthetic", "models": len(cpu["models"]), "items": len(cpu["items"]),
                "cpus": cpus(), "seconds": times, "fit_seconds": fit_times, "gpu_over_cpu": ratio,
                "largest_difference": {"a": da, "b": db, "theta": dt},
                **{b: {k: fits[b][k] for k in ("iterations", "converged", "log_likelihood", "backend")} for b in ("cpu", "gpu")},
            }, f, indent=1)


if __name__ == "__main__":
    main()
