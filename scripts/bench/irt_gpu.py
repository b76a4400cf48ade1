#!/usr/bin/env python3
"""GPU (wgpu) against CPU for `benchsift fit`, in the same run on the same matrix.

Generates a synthetic binary 2PL matrix (default 2,000 models x 1,000 items;
theta, b ~ N(0, 1), a ~ lognormal(0, 0.3); Python's own `random`, seed 20261126,
so no numpy is needed), then runs

    benchsift fit matrix.csv --irt 2pl --backend cpu -o cpu.json
    benchsift fit matrix.csv --irt 2pl --backend gpu -o gpu.json

alternately --repeat times each (default 3), and prints the wall-clock times
(whole process: read, fit, write), the backend each reports, and how far the two
fits are apart (largest |a| and |b| difference, log-likelihoods, iterations).

On a machine without a hardware GPU, `--backend gpu` runs on whatever wgpu
finds — here Mesa lavapipe, a software Vulkan rasteriser on the same CPU cores.

usage: python3 scripts/bench/irt_gpu.py [--exe target/release/benchsift]
       [--models 2000] [--items 1000] [--repeat 3] [--irt 2pl]
"""
import argparse
import json
import math
import os
import random
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def write_matrix(path, n, k, seed):
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


def run(exe, csv_path, backend, irt, out):
    t0 = time.perf_counter()
    p = subprocess.run([exe, "fit", csv_path, "--irt", irt, "--backend", backend, "-o", out], capture_output=True, text=True)
    secs = time.perf_counter() - t0
    if p.returncode != 0:
        sys.exit(f"benchsift fit --backend {backend} failed (exit {p.returncode}): {p.stderr.strip()[-500:]}")
    with open(out) as f:
        return secs, json.load(f)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--exe", default=os.path.join(ROOT, "target", "release", "benchsift"))
    ap.add_argument("--models", type=int, default=2000)
    ap.add_argument("--items", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--irt", default="2pl")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as work:
        csv_path = os.path.join(work, "matrix.csv")
        write_matrix(csv_path, args.models, args.items, 20261126)
        times = {"cpu": [], "gpu": []}
        fits = {}
        for _ in range(args.repeat):
            for backend in ("cpu", "gpu"):
                secs, fit = run(args.exe, csv_path, backend, args.irt, os.path.join(work, backend + ".json"))
                times[backend].append(secs)
                fits[backend] = fit
    cpu, gpu = fits["cpu"], fits["gpu"]
    da = max(abs(p["a"] - q["a"]) for p, q in zip(cpu["items"], gpu["items"]))
    db = max(abs(p["b"] - q["b"]) for p, q in zip(cpu["items"], gpu["items"]))
    dt = max(abs(p["theta"] - q["theta"]) for p, q in zip(cpu["models"], gpu["models"]))
    print(f"{args.irt} {args.models} x {args.items}, {args.repeat} runs each (whole process, wall clock)")
    for backend in ("cpu", "gpu"):
        t = sorted(times[backend])
        f = fits[backend]
        print(f"  --backend {backend}: median {t[len(t) // 2]:.2f} s (min {t[0]:.2f}, max {t[-1]:.2f}); "
              f"{f['iterations']} iterations, converged {f['converged']}, log-likelihood {f['log_likelihood']:.3f}")
        print(f"    backend: {f['backend']['device']} ({f['backend']['reason']})")
    ratio = sorted(times["gpu"])[len(times["gpu"]) // 2] / sorted(times["cpu"])[len(times["cpu"]) // 2]
    print(f"  gpu / cpu time: {ratio:.2f}")
    print(f"  largest |gpu - cpu|: a {da:.2e}, b {db:.2e}, theta {dt:.2e}")


if __name__ == "__main__":
    main()
