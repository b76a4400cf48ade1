#!/usr/bin/env python3
"""`benchsift similar` on the GPU (wgpu) against the CPU, in the same run on the
same vectors: top-10 cosine neighbours of n random 384-d vectors (numpy,
seed 20261126) for each n in --sizes, whole CLI process each time (read the
.npy, normalise, search, write JSON), --repeat runs of each backend
alternately. Prints the best time of each, GFLOP/s (2·n²·d), the backend each
reports, the gpu/cpu ratio, the share of the CPU's neighbours the GPU lists too,
and what `--backend auto` chose.

Needs numpy and a release build (`cargo build --release`).

  python3 scripts/bench/similar_gpu.py [--exe target/release/benchsift]
          [--sizes 4096,12032] [--dims 384] [--repeat 2] [--json result.json]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
K = 10


def run(exe, npy, items, backend, out):
    t0 = time.perf_counter()
    p = subprocess.run([exe, "similar", "--embeddings", npy, "--items", items, "--top-k", str(K), "--backend", backend, "-o", out],
                       capture_output=True, text=True)
    secs = time.perf_counter() - t0
    if p.returncode != 0:
        sys.exit(f"benchsift similar --backend {backend} failed (exit {p.returncode}): {p.stderr.strip()[-500:]}")
    with open(out) as f:
        return secs, json.load(f)


def neighbours(report):
    out = {}
    for p in report["pairs"]:
        out.setdefault(p["a"], set()).add(p["b"])
        out.setdefault(p["b"], set()).add(p["a"])
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--exe", default=os.path.join(ROOT, "target", "release", "benchsift"))
    ap.add_argument("--sizes", default="4096,12032")
    ap.add_argument("--dims", type=int, default=384)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--json")
    args = ap.parse_args()
    results = []
    rng = np.random.default_rng(20261126)
    with tempfile.TemporaryDirectory() as work:
        for n in (int(s) for s in args.sizes.split(",")):
            npy, items = os.path.join(work, "x.npy"), os.path.join(work, "items.csv")
            np.save(npy, rng.normal(size=(n, args.dims)).astype(np.float32))
            with open(items, "w") as f:
                f.write("item_id\n" + "".join(f"i{i}\n" for i in range(n)))
            times, reports = {"cpu": [], "gpu": []}, {}
            for _ in range(args.repeat):
                for backend in ("cpu", "gpu"):
                    secs, reports[backend] = run(args.exe, npy, items, backend, os.path.join(work, backend + ".json"))
                    times[backend].append(secs)
            _, auto = run(args.exe, npy, items, "auto", os.path.join(work, "auto.json"))
            cpu_n, gpu_n = neighbours(reports["cpu"]), neighbours(reports["gpu"])
            shared = sum(len(cpu_n[i] & gpu_n.get(i, set())) for i in cpu_n) / max(1, sum(len(s) for s in cpu_n.values()))
            flop = 2.0 * n * n * args.dims
            row = {"n": n, "dims": args.dims, "seconds": times, "shared_neighbours": shared,
                   "cpu_backend": reports["cpu"].get("backend"), "gpu_backend": reports["gpu"].get("backend"),
                   "auto_backend": auto.get("backend")}
            results.append(row)
            print(f"n = {n} × {args.dims}, top-{K}, best of {args.repeat} (whole process), {os.cpu_count()} CPUs")
            for backend in ("cpu", "gpu"):
                t = min(times[backend])
                print(f"  --backend {backend}: {t:.2f} s, {flop / t / 1e9:.1f} GFLOP/s; {reports[backend].get('backend')}")
            print(f"  gpu / cpu time: {min(times['gpu']) / min(times['cpu']):.2f}; "
                  f"CPU's neighbours the GPU lists too: {shared:.4f}; auto: {auto.get('backend')}", flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
