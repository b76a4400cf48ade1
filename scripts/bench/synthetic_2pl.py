"""A synthetic 2PL response matrix with known parameters (ln a ~ N(0, 0.3²),
b ~ N(0, 1), θ ~ N(0, 1)), written as a wide CSV: the adaptive-testing
benchmark's fifth matrix. Usage: synthetic_2pl.py OUT.csv [MODELS] [ITEMS] [SEED]"""
import math
import random
import sys

out = sys.argv[1]
models = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
items = int(sys.argv[3]) if len(sys.argv) > 3 else 1000
rng = random.Random(int(sys.argv[4]) if len(sys.argv) > 4 else 7)
a = [math.exp(rng.gauss(0, 0.3)) for _ in range(items)]
b = [rng.gauss(0, 1) for _ in range(items)]
with open(out, "w") as f:
    f.write("model," + ",".join(f"i{i}" for i in range(items)) + "\n")
    for j in range(models):
        theta = rng.gauss(0, 1)
        row = ("1" if rng.random() < 1 / (1 + math.exp(-a[i] * (theta - b[i]))) else "0" for i in range(items))
        f.write(f"m{j}," + ",".join(row) + "\n")
