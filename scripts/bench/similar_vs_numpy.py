#!/usr/bin/env python3
"""Top-10 cosine neighbours of MMLU-Pro's 12,032 × 384 MiniLM vectors, three
ways in the same run, and the throughput ratios the issue asks for:

  numpy   normalise rows, block matmul (OpenBLAS sgemm, all cores), argpartition
          for the top 10 (+ a sort of those 10) per row, excluding self;
  native  `benchsift similar --embeddings … --top-k 10 --backend cpu` (whole CLI
          process, all cores: reads the .npy, normalises, searches, writes JSON);
  wasm    the npm package's `similar` in Node 20 (one thread, simd128).

FLOP = 2·n²·d for every method (numpy computes the full n × n, as benchsift
does). Prints seconds, GFLOP/s, native/numpy and wasm/native. Needs numpy
(pip) and `npm run build` + `cargo build --release`. Reads
../shared/data/mmlu_pro_29models/item_embeddings_minilm.npy (or --npy).

  python scripts/bench/similar_vs_numpy.py [--npy FILE] [--repeat 3]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DEFAULT = os.path.join(ROOT, "..", "shared", "data", "mmlu_pro_29models", "item_embeddings_minilm.npy")
K = 10


def numpy_topk(x, k=K, block=1024):
    x = x / np.linalg.norm(x, axis=1, keepdims=True).clip(1e-12)
    n = x.shape[0]
    idx = np.empty((n, k), dtype=np.int64)
    val = np.empty((n, k), dtype=np.float32)
    for s in range(0, n, block):
        e = min(n, s + block)
        sims = x[s:e] @ x.T
        sims[np.arange(e - s), np.arange(s, e)] = -np.inf
        part = np.argpartition(-sims, k, axis=1)[:, :k]
        pv = np.take_along_axis(sims, part, axis=1)
        order = np.argsort(-pv, axis=1)
        idx[s:e] = np.take_along_axis(part, order, axis=1)
        val[s:e] = np.take_along_axis(pv, order, axis=1)
    return idx, val


def best_of(f, repeat):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        out = f()
        times.append(time.perf_counter() - t)
    return min(times), out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--npy", default=DEFAULT)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    if not os.path.exists(args.npy):
        sys.exit(f"missing {args.npy}")
    x = np.load(args.npy).astype(np.float32)
    n, d = x.shape
    flop = 2.0 * n * n * d
    print(f"{n} × {d} vectors, top-{K}; {os.cpu_count()} CPUs; numpy {np.__version__}")

    t_np, (idx, _) = best_of(lambda: numpy_topk(x), args.repeat)

    cli = os.path.join(ROOT, "target", "release", "benchsift")
    with tempfile.TemporaryDirectory() as tmp:
        items = os.path.join(tmp, "items.csv")
        with open(items, "w") as f:
            f.write("item_id\n" + "".join(f"i{i}\n" for i in range(n)))
        out = os.path.join(tmp, "pairs.json")
        cmd = [cli, "similar", "--embeddings", args.npy, "--items", items, "--top-k", str(K), "--backend", "cpu", "-o", out]
        t_native, _ = best_of(lambda: subprocess.run(cmd, check=True, capture_output=True), args.repeat)
        report = json.load(open(out))
        node = f"""
          import {{ readFileSync }} from 'node:fs';
          import {{ similar }} from {json.dumps(os.path.join(ROOT, 'www', 'lib', 'node.js'))};
          const embeddings = {{ name: 'e.npy', data: readFileSync({json.dumps(args.npy)}) }};
          const items = {{ name: 'items.csv', data: readFileSync({json.dumps(items)}) }};
          await similar({{ items: {{ name: 'w.csv', data: 'item_id,text\\na,x y\\nb,y z\\n' }}, topK: 1, backend: 'cpu' }});
          let best = Infinity;
          for (let r = 0; r < {args.repeat}; r++) {{
            const t = performance.now();
            await similar({{ items, embeddings, topK: {K}, backend: 'cpu' }});
            best = Math.min(best, performance.now() - t);
          }}
          console.log(best / 1000);
        """
        t_wasm = float(subprocess.run(["node", "--input-type=module", "-e", node], check=True, capture_output=True, text=True).stdout.strip())

    # Agreement: share of numpy's top-10 neighbours that benchsift lists too.
    ours = {}
    for p in report["pairs"]:
        a, b = int(p["a"][1:]), int(p["b"][1:])
        ours.setdefault(a, set()).add(b)
        ours.setdefault(b, set()).add(a)
    found = sum(len(set(idx[i].tolist()) & ours.get(i, set())) for i in range(n)) / (n * K)

    rows = [("numpy + OpenBLAS", t_np), ("benchsift native (CLI, cpu)", t_native), ("benchsift wasm (Node, 1 thread)", t_wasm)]
    for name, t in rows:
        print(f"  {name:34s} {t:7.2f} s  {flop / t / 1e9:6.1f} GFLOP/s")
    print(f"native / numpy throughput: {t_np / t_native:.2f}  (target ≥ 0.50)")
    print(f"wasm / native throughput:  {t_native / t_wasm:.2f}  (target ≥ 0.25)")
    print(f"numpy's top-{K} neighbours also in benchsift's: {found:.4f}")


if __name__ == "__main__":
    main()
