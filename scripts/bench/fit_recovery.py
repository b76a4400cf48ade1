"""Recovery of a fit against the true parameters of synthetic_big.py, and
optionally its agreement with another fit of the same matrix.

Usage: fit_recovery.py TRUTH.json FIT.json [OTHER_FIT.json]
Prints r(a), r(b), r(θ) against the truth, the log-likelihood and EM
iterations, and with a second fit: the largest |difference| in a, b and θ
and the log-likelihoods' relative difference."""
import json
import sys

import numpy as np


def load(path):
    with open(path) as f:
        fit = json.load(f)
    a = np.array([i["a"] for i in fit["items"]])
    b = np.array([i["b"] for i in fit["items"]])
    theta = np.array([m["theta"] for m in fit["models"]])
    return fit, a, b, theta


truth = json.load(open(sys.argv[1]))
fit, a, b, theta = load(sys.argv[2])
r = lambda u, v: float(np.corrcoef(u, v)[0, 1])
print(json.dumps({
    "r_a": round(r(a, truth["a"]), 4),
    "r_b": round(r(b, truth["b"]), 4),
    "r_theta": round(r(theta, truth["theta"]), 4),
    "log_likelihood": fit["log_likelihood"],
    "iterations": fit["iterations"],
}))
if len(sys.argv) > 3:
    other, a2, b2, theta2 = load(sys.argv[3])
    print(json.dumps({
        "max_abs_diff_a": float(np.abs(a - a2).max()),
        "max_abs_diff_b": float(np.abs(b - b2).max()),
        "max_abs_diff_theta": float(np.abs(theta - theta2).max()),
        "log_likelihood_rel_diff": abs(fit["log_likelihood"] - other["log_likelihood"]) / abs(other["log_likelihood"]),
    }))
