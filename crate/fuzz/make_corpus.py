#!/usr/bin/env python3
"""Writes the seed corpus for the fuzz targets (crate/fuzz/corpus/<target>/):
small real files from the repository and hand-made malformed ones. Standard
library only; deterministic. Run from anywhere: python3 crate/fuzz/make_corpus.py
"""
import gzip
import hashlib
import io
import json
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
OUT = os.path.join(HERE, "corpus")


def put(target, data):
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    name = hashlib.sha1(data).hexdigest()[:16]
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def head(path, n=4000):
    with open(os.path.join(ROOT, path), "rb") as f:
        return f.read(n)


def gz(data):
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0) as g:
        g.write(data)
    return buf.getvalue()


wide = b"model,q1,q2,q3\nA,1,0,1\nB,0,,1\nC,1,1,0\n"
long = b"model\titem\tscore\nA\tq1\t1\nA\tq2\t0.5\nB\tq1\t0\n"
js = json.dumps({"A": {"q1": 1, "q2": 0}, "B": {"q1": 0.25, "q2": None}}).encode()
lm = head("tests/fixtures/lm_eval/dummy-a/" + sorted(os.listdir(os.path.join(ROOT, "tests/fixtures/lm_eval/dummy-a")))[1], 3000)
bbh = head("www/data/bbh/responses.csv", 3000)
malformed = [
    b"", b"model\n", b"model,q1\nA,oops\n", b"model,q1,q1\nA,1,0\n", b"\xef\xbb\xbfmodel,q1\r\nA,1\r\n",
    b'model,"q1\nA,1\n', b"model,q1\nA,1,2,3\n", b"model,q1\nA,NaN\n", b"model,q1\nA,1e309\n",
    b"{", b"[]", b'{"A": [1, 2]}', b'{"doc_id": 0}\n{"doc_id": "x", "acc": 2}\n', b"\x1f\x8b\x08\x00garbage",
]
for sel, data in [(0, wide), (1, wide), (2, long), (3, js), (4, lm), (0, bbh), (5, gz(wide)), (0x81, wide)]:
    put("read_responses", bytes([sel]) + data)
for k, data in enumerate(malformed):
    put("read_responses", bytes([k % 6]) + data)

meta = [
    b"item_id,text,subject,cost\nq1,hello,math,1\nq2,\"quoted, text\",law,2.5\n",
    b"model,release_date\nA,2024-01-01\nB,2023-13-45\n",
    b"model,score\nA,0.5\nB,0.25\nC,1\n",
    b"model,score\nA,abc\n", b"item_id\nq9\n", b"id,cost\nq1,-1\n", b"",
]
for data in meta:
    put("read_meta", data)
put("read_meta", head("www/data/bbh/items.csv", 1500))


def npy(dtype, shape, payload, fortran=False):
    header = "{'descr': '%s', 'fortran_order': %s, 'shape': %s, }" % (dtype, fortran, shape)
    header = header + " " * (63 - len(header) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() + payload


put("read_npy", npy("<f4", "(2, 3)", struct.pack("<6f", 1, 2, 3, 4, 5, 6)))
put("read_npy", npy("<f2", "(2, 2)", struct.pack("<4e", 1, 0.5, -1, 2)))
put("read_npy", npy("<f8", "(1, 2)", struct.pack("<2d", 1, 2)))
put("read_npy", npy("<f4", "(2, 3)", struct.pack("<2f", 1, 2)))
put("read_npy", npy("<i4", "(1,)", struct.pack("<i", 1)))
put("read_npy", npy("<f4", "(2, 2)", struct.pack("<4f", 1, 2, 3, 4), fortran=True))
put("read_npy", b"\x93NUMPY\x01\x00\xff\xff")
# The text forms of embeddings (read_embeddings): JSON, JSON Lines, CSV.
put("read_npy", b"[[0.1, 0.2, 0.3], [0.4, 0.5, 0.6]]")
put("read_npy", b'[{"id": "q1", "embedding": [1, 2]}, {"item_id": 7, "vector": [3, 4]}]')
put("read_npy", b'{"q1": [1, 2], "q2": [3, 4]}')
put("read_npy", b'[1, 2]\n{"id": "a", "values": [3, 4]}\n')
put("read_npy", b"item_id,d0,d1\nq1,0.5,1e-3\n\"q,2\",-1,2\n")
put("read_npy", b",0,1\nq1,1,2\nq1,3,4\n")
put("read_npy", b"1\t2\t3\n4\t5\n")

subset = {"method": "random", "seed": 0, "benchmark_items": 4, "train_models": 3,
          "items": ["q1", "q3"], "weights": [0.5, 0.5]}
fit = {"irt": "2pl", "dims": 1, "items": [{"id": q, "a": 1.0, "b": 0.1 * i} for i, q in enumerate(["q1", "q2", "q3", "q4"])],
       "models": [{"id": m, "theta": 0.0, "se": 1.0} for m in "ABC"], "log_likelihood": -5.0,
       "iterations": 3, "converged": True, "quadrature_points": 121,
       "backend": {"device": "cpu", "threads": 1, "reason": "test"}}
put("estimate_json", json.dumps(subset).encode() + b"\0" + json.dumps(fit).encode())
put("estimate_json", json.dumps(subset).encode())
put("estimate_json", json.dumps({**subset, "weights": [1e308, -1e308]}).encode())
put("estimate_json", json.dumps({**subset, "gpirt_lambda": 0.5}).encode() + b"\0" + json.dumps({**fit, "items": fit["items"][:2]}).encode())

put("similar_items", head("www/data/bbh/items.csv", 1500))
put("similar_items", b"item_id,text\na,the same text\nb,the same text\nc,\n")
put("similar_items", b"item_id,text\n")
print("corpus written to", OUT)
