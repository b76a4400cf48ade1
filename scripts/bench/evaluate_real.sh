#!/usr/bin/env bash
# benchsift evaluate on the real matrices in ../shared/data (never committed): the new
# selectors (metric-var, metric-cons, kcenter, dpp, metabench) next to random and the
# earlier ones, 5-fold over models. Writes bench-results/evaluate_<name>.json and the
# wall time of each run to bench-results/evaluate_real.log; summarise with
# scripts/bench/summarise_evaluate.py.
# Usage: scripts/bench/evaluate_real.sh [path/to/benchsift] [--confirm]
# --confirm runs only the two confirmation matrices, which chose no method or default:
# AlpacaEval judged by GPT-4 (v1) instead of GPT-4 Turbo, and LiveCodeBench's dense
# 400-problem slice (no missing cells).
# STRATA=B in the environment adds --difficulty-strata B to every run and writes
# evaluate_<name>_strataB.json instead (compare: summarise_evaluate.py --versus _strataB).
# The random guard (ARCHITECTURE 44) is on, as in `benchsift evaluate`, and the files are
# evaluate_<name>[_strataB]_guard.json; NO_GUARD=1 runs the methods as published
# (--no-guard) into evaluate_<name>[_strataB].json, the files of the tables before it.
set -euo pipefail
cd "$(dirname "$0")/../.."
B=${1:-target/release/benchsift}
CONFIRM=${2:-}
D=${SHARED_DATA:-../shared/data}
[ -d "$D" ] || D=/work/shared/data
mkdir -p bench-results
SUFFIX=${STRATA:+_strata$STRATA}
GUARD_FLAG=
if [ -n "${NO_GUARD:-}" ]; then GUARD_FLAG=--no-guard; else SUFFIX=${SUFFIX}_guard; fi
log=bench-results/evaluate_real${CONFIRM:+_confirm}$SUFFIX.log
: > "$log"
run() {
  local name=$1$SUFFIX; shift
  local start=$SECONDS
  "$B" evaluate "$@" ${STRATA:+--difficulty-strata "$STRATA"} $GUARD_FLAG -o "bench-results/evaluate_$name.json" 2>> "$log"
  echo "$name: $((SECONDS - start)) s" | tee -a "$log"
}
if [ "$CONFIRM" = --confirm ]; then
  # AlpacaEval, GPT-4 (v1) judge: 53 models x 805 prompts, continuous.
  run alpacaeval_gpt4v1 "$D/alpacaeval/responses_alpaca_eval_gpt4_v1.csv" --items "$D/alpacaeval/items.csv" \
    --embeddings "$D/alpacaeval/item_embeddings_minilm.npy" \
    --methods random,irt-cluster,anchor-points,metric-var,metric-cons,kcenter,dpp,metabench --seeds 5
  # LiveCodeBench, dense slice: 77 models x 400 problems, pass@1 0-100, nothing missing.
  run livecodebench_dense400 "$D/livecodebench_codegen/responses_dense_400.csv" \
    --methods random,irt-cluster,anchor-points,metric-var,metric-cons,kcenter,dpp,metabench --seeds 5
  exit 0
fi
# AlpacaEval: 57 models x 805 prompts, continuous; MiniLM embeddings for kcenter/dpp.
run alpacaeval "$D/alpacaeval/responses.csv" --items "$D/alpacaeval/items.csv" \
  --embeddings "$D/alpacaeval/item_embeddings_minilm.npy" \
  --methods random,irt-cluster,anchor-points,metric-var,metric-cons,kcenter,dpp,metabench --seeds 5
# LiveCodeBench: 77 models x 1,055 problems, pass@1 0-100, 41.5% missing; no texts, so
# kcenter/dpp use response vectors.
run livecodebench "$D/livecodebench_codegen/responses.csv" --items "$D/livecodebench_codegen/items.csv" \
  --methods random,irt-cluster,anchor-points,metric-var,metric-cons,kcenter,dpp,metabench --seeds 5
# MMLU-Pro: 29 models x 12,032 questions, binary; fewer budgets and seeds (12k items).
run mmlu_pro "$D/mmlu_pro_29models/responses.csv" --items "$D/mmlu_pro_29models/items.csv" \
  --embeddings "$D/mmlu_pro_29models/item_embeddings_minilm.npy" \
  --methods random,irt-cluster,metric-var,kcenter,metabench --budgets 25,100,400 --seeds 3
