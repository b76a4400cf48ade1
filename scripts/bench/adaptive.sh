#!/usr/bin/env bash
# Adaptive testing against static subsets (issue: adaptive testing), on held-out models:
# AlpacaEval (both judges), LiveCodeBench, MMLU-Pro (../shared/data, never committed) and a
# synthetic 2PL 2,000 x 1,000 (scripts/bench/synthetic_2pl.py; 4 folds = 500 held out).
# `evaluate --methods ...,adaptive` fits on the training models of each fold, replays the
# held-out models item by item, and also stops each at --target-se 0.2. Writes
# bench-results/adaptive_<name>.json and the times to bench-results/adaptive.log;
# summarise with scripts/bench/summarise_adaptive.py. EXPLORE=0.5 (or auto) runs only the
# adaptive method with that share of random items (`evaluate --explore`), into
# bench-results/adaptive_<name>_explore<share>.json.
# Usage: scripts/bench/adaptive.sh [path/to/benchsift]
set -euo pipefail
cd "$(dirname "$0")/../.."
B=${1:-target/release/benchsift}
D=${SHARED_DATA:-../shared/data}
[ -d "$D" ] || D=/work/shared/data
mkdir -p bench-results
log=bench-results/adaptive.log
: > "$log"
METHODS=random,irt-info,irt-cluster,anchor-points,adaptive
SUFFIX=
if [ -n "${EXPLORE:-}" ]; then METHODS=adaptive; SUFFIX=_explore$EXPLORE; log=bench-results/adaptive$SUFFIX.log; : > "$log"; fi
run() {
  local name=$1$SUFFIX; shift
  local start=$SECONDS
  "$B" evaluate "$@" --methods "$METHODS" --target-se 0.2 ${EXPLORE:+--explore "$EXPLORE"} -o "bench-results/adaptive_$name.json" 2>> "$log"
  echo "$name: $((SECONDS - start)) s" | tee -a "$log"
}
mkdir -p bench-results/work
syn=bench-results/work/synthetic_2pl_2000x1000.csv
[ -f "$syn" ] || python3 scripts/bench/synthetic_2pl.py "$syn" 2000 1000 7
run synthetic_2pl "$syn" --folds 4 --budgets 25,50,100,200,400 --seeds 5
run alpacaeval "$D/alpacaeval/responses.csv" --budgets 25,50,100,200,400 --seeds 5
run alpacaeval_gpt4v1 "$D/alpacaeval/responses_alpaca_eval_gpt4_v1.csv" --budgets 25,50,100,200,400 --seeds 5
run livecodebench "$D/livecodebench_codegen/responses.csv" --budgets 25,50,100,200,400 --seeds 5
run mmlu_pro "$D/mmlu_pro_29models/responses.csv" --budgets 25,50,100,200,400 --seeds 3
