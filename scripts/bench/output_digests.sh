#!/usr/bin/env bash
# Prints a SHA-256 digest of every command's JSON output on the bundled data:
# the check that a change meant to keep behaviour (a refactor) keeps every
# output byte for byte. Run it before and after and diff the two listings:
#
#   scripts/bench/output_digests.sh > before.txt   # on the old commit
#   scripts/bench/output_digests.sh > after.txt    # on the new one
#   diff before.txt after.txt
#
# BENCHSIFT=path/to/benchsift picks the binary (default target/release).
# Takes about two minutes on two cores.
set -euo pipefail
cd "$(dirname "$0")/../.."
exe="${BENCHSIFT:-target/release/benchsift}"
[ -x "$exe" ] || { echo "error: $exe is missing: run 'cargo build --release' first" >&2; exit 1; }
work="$(mktemp -d "${TMPDIR:-/tmp}/bs-digests.XXXXXX")"
trap 'rm -rf "$work"' EXIT

mmlu=(www/data/mmlu_pro/responses.csv.gz --items www/data/mmlu_pro/items.csv.gz)
alpaca=(www/data/alpacaeval/responses.csv.gz --items www/data/alpacaeval/items.csv.gz)
bbh=(www/data/bbh/responses.csv --items www/data/bbh/items.csv --models www/data/bbh/models.csv)

# Runs one command with its output in $work/<name>.json and prints its digest.
run() {
  local name="$1"
  shift
  "$exe" "$@" -o "$work/$name.json" 2>/dev/null || { echo "FAILED  $name: $*"; return 0; }
  printf '%s  %s\n' "$(sha256sum <"$work/$name.json" | cut -c1-16)" "$name"
}

run info-mmlu info "${mmlu[@]}"
run info-alpaca info "${alpaca[@]}"
run info-bbh info "${bbh[@]}"
run fit-bbh-2pl fit "${bbh[@]}" --irt 2pl
run fit-alpaca-beta fit "${alpaca[@]}" --irt beta
run fit-mmlu-2pl fit "${mmlu[@]}"
run fit-mmlu-1pl fit "${mmlu[@]}" --irt 1pl
run fit-alpaca-mirt fit "${alpaca[@]}" --dims 2

for method in random stratified irt-info irt-cluster anchor-points metric-avg metric-var metric-cons kcenter dpp metabench; do
  run "select-alpaca-$method" select "${alpaca[@]}" --method "$method" --budget 60 --seed 3
  run "select-alpaca-$method-noguard" select "${alpaca[@]}" --method "$method" --budget 60 --seed 3 --no-guard
done
run select-mmlu-irt-cluster select "${mmlu[@]}" --budget 100
run select-mmlu-irt-info-strat select "${mmlu[@]}" --method irt-info --budget 100 --stratify --difficulty-strata 5
run select-bbh-metabench select "${bbh[@]}" --method metabench --budget 10

"$exe" select "${alpaca[@]}" --method irt-cluster --budget 60 --no-guard -o "$work/subset.json" 2>/dev/null
"$exe" fit "${alpaca[@]}" -o "$work/fit.json" 2>/dev/null
for estimator in mean weighted irt pirt gpirt calibrated ridge; do
  run "estimate-alpaca-$estimator" estimate www/data/alpacaeval/responses.csv.gz --subset "$work/subset.json" --fit "$work/fit.json" --estimator "$estimator"
done

run evaluate-bbh evaluate "${bbh[@]}"
run evaluate-alpaca evaluate "${alpaca[@]}" --methods random,irt-info,irt-cluster,anchor-points,metric-var,metabench --budgets 25,100 --seeds 2
run evaluate-alpaca-noguard evaluate "${alpaca[@]}" --methods random,stratified,irt-cluster,kcenter --budgets 25,100 --seeds 2 --no-guard --difficulty-strata 5
run evaluate-alpaca-holdout evaluate "${alpaca[@]}" --methods random,irt-cluster --budgets 50 --holdout 0.3 --seeds 2

run similar-alpaca similar --items www/data/alpacaeval/items.csv.gz
run similar-mmlu-threshold similar --items www/data/mmlu_pro/items.csv.gz --threshold 0.9 --backend cpu
run filter-alpaca filter "${alpaca[@]}"
run filter-mmlu filter "${mmlu[@]}"
run filter-bbh filter "${bbh[@]}" --no-duplicates --easy-top-k 5
run select-tasks-bbh select-tasks "${bbh[@]}" --k 4
run select-tasks-bbh-beam select-tasks "${bbh[@]}" --k 3 --method beam --seeds 20
