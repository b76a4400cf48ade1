#!/usr/bin/env bash
# The speed comparisons of BENCHMARKS.md ("Speed"), side by side in one run:
#
#   1. a 2PL fit of a synthetic 6,000 × 30,000 matrix (synthetic_big.py),
#      native, on every core: fit time (the CLI's "done in") and whole
#      process, best of $RUNS; with BASELINE=path/to/an/older/benchsift, the
#      same fit by that binary in the same run and the ratio, and how far the
#      two fits differ. Recovery of the true parameters either way.
#   2. cosine top-10 over MMLU-Pro's 12,032 × 384 MiniLM vectors: numpy +
#      OpenBLAS, the native CLI and the wasm package (similar_vs_numpy.py),
#      where ../shared/data has the vectors (or NPY=file).
#   3. with BROWSER=1, the same 2PL fit in headless Chromium on one wasm
#      thread (browser_big_fit.mjs).
#
# Needs: cargo build --release; npm run build (for 2 and 3); $PYTHON with
# numpy (default python3). Writes bench-results/speed/ (or $OUT).
#
#   PYTHON=/tmp/venv/bin/python BASELINE=/tmp/benchsift-old bash scripts/bench/speed.sh
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
PYTHON="${PYTHON:-python3}"
RUNS="${RUNS:-3}"
OUT="${OUT:-$ROOT/bench-results/speed}"
WORK="${WORK:-${TMPDIR:-/tmp}/benchsift-speed}"
mkdir -p "$OUT" "$WORK"
# Copies, so that a rebuild during the run does not change what is timed.
cp "$ROOT/target/release/benchsift" "$WORK/benchsift"
[ -n "${BASELINE:-}" ] && cp "$BASELINE" "$WORK/baseline"

matrix="$WORK/synthetic_6000x30000.csv"
if [ ! -s "$matrix" ]; then
  echo "drawing the 6,000 × 30,000 matrix ($matrix)"
  "$PYTHON" "$ROOT/scripts/bench/synthetic_big.py" "$matrix" 6000 30000 2026
fi
truth="${matrix%.csv}.truth.json"

# time_fit BINARY NAME: best of $RUNS; prints "fit_s whole_s" (each the best).
time_fit() {
  local bin="$1" name="$2" fits="" wholes=""
  for run in $(seq "$RUNS"); do
    local start end fit whole
    start=$(date +%s.%N)
    "$bin" fit "$matrix" --backend cpu --verbose -o "$WORK/$name.json" 2> "$WORK/$name.log"
    end=$(date +%s.%N)
    fit=$(sed -n 's/^fit: done in \([0-9.]*\) s.*/\1/p' "$WORK/$name.log")
    whole=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.2f", b - a }')
    echo "  $name run $run: fit $fit s, whole process $whole s" >&2
    fits="$fits $fit"
    wholes="$wholes $whole"
  done
  echo "$(printf '%s\n' $fits | sort -g | head -1) $(printf '%s\n' $wholes | sort -g | head -1)"
}

echo "== 1. 2PL fit, 6,000 × 30,000, $(nproc) threads, best of $RUNS"
read -r fit_now whole_now < <(time_fit "$WORK/benchsift" current)
echo "current: fit $fit_now s, whole process $whole_now s"
"$PYTHON" "$ROOT/scripts/bench/fit_recovery.py" "$truth" "$WORK/current.json" | tee "$OUT/fit_current.json"
if [ -n "${BASELINE:-}" ]; then
  read -r fit_base whole_base < <(time_fit "$WORK/baseline" baseline)
  echo "baseline: fit $fit_base s, whole process $whole_base s"
  awk -v fb="$fit_base" -v fn="$fit_now" -v wb="$whole_base" -v wn="$whole_now" \
    'BEGIN { printf "baseline / current: fit %.2f, whole process %.2f\n", fb / fn, wb / wn }'
  "$PYTHON" "$ROOT/scripts/bench/fit_recovery.py" "$truth" "$WORK/current.json" "$WORK/baseline.json" | tee "$OUT/fit_vs_baseline.json"
fi

echo "== 2. cosine top-10, MMLU-Pro MiniLM vectors"
npy="${NPY:-$ROOT/../shared/data/mmlu_pro_29models/item_embeddings_minilm.npy}"
if [ -f "$npy" ] && [ -f "$ROOT/www/pkg/benchsift_bg.wasm" ]; then
  "$PYTHON" "$ROOT/scripts/bench/similar_vs_numpy.py" --npy "$npy" --repeat "$RUNS" | tee "$OUT/similar.txt"
  if command -v taskset > /dev/null; then
    # The native search on one core: the wasm row above is one thread.
    best=""
    for run in $(seq "$RUNS"); do
      start=$(date +%s.%N)
      taskset -c 0 "$WORK/benchsift" similar --embeddings "$npy" --top-k 10 --backend cpu -o /dev/null
      end=$(date +%s.%N)
      best="$best $(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f", b - a }')"
    done
    echo "  benchsift native on one core (taskset -c 0): $(printf '%s\n' $best | sort -g | head -1) s" | tee -a "$OUT/similar.txt"
  fi
else
  echo "skipped: needs $npy and npm run build"
fi

if [ "${BROWSER:-0}" = 1 ]; then
  echo "== 3. the 2PL fit in headless Chromium (one wasm thread)"
  node "$ROOT/scripts/bench/browser_big_fit.mjs" | tee "$OUT/browser_fit.txt"
fi
