"""A large synthetic 2PL response matrix with known parameters, fast (numpy):
ln a ~ N(0, 0.3²), b ~ N(0, 1), θ ~ N(0, 1), no missing cells. Writes a wide
CSV and, beside it, the true parameters as JSON ({"a": [...], "b": [...],
"theta": [...]}) for recovery checks (fit_recovery.py).

Usage: synthetic_big.py OUT.csv MODELS ITEMS [SEED]   (the speed benchmark
uses 6000 30000 2026: a 344 MiB CSV in about 5 s)"""
import json
import sys

import numpy as np

out, models, items = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = np.random.default_rng(int(sys.argv[4]) if len(sys.argv) > 4 else 2026)
a = np.exp(rng.normal(0, 0.3, items))
b = rng.normal(0, 1, items)
thetas = []
with open(out, "wb") as f:
    f.write(("model," + ",".join(f"i{i}" for i in range(items)) + "\n").encode())
    for start in range(0, models, 500):
        n = min(500, models - start)
        theta = rng.normal(0, 1, n)
        thetas.extend(theta.tolist())
        p = 1 / (1 + np.exp(-a * (theta[:, None] - b)))
        cells = (rng.random((n, items)) < p).astype(np.uint8) + ord("0")
        # "c,c,...,c\n" per row: digits at even offsets, commas between.
        text = np.full((n, 2 * items), ord(","), dtype=np.uint8)
        text[:, 0::2] = cells
        text[:, -1] = ord("\n")
        for k in range(n):
            f.write(f"m{start + k},".encode())
            f.write(text[k].tobytes())
truth = out[: -len(".csv")] if out.endswith(".csv") else out
with open(truth + ".truth.json", "w") as f:
    json.dump({"a": a.tolist(), "b": b.tolist(), "theta": thetas}, f)
