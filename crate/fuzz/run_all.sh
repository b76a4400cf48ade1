#!/usr/bin/env bash
# Runs every fuzz target for RUNS executions (default 1,000,000) with debug
# assertions (overflow checks) on, from the committed seed corpus; new corpus
# entries go to a scratch folder, crashes to artifacts/<target>/ (move them to
# regressions/<target>/ once fixed, so crate/tests/fuzz_regressions.rs replays
# them). Needs cargo-fuzz; stable Rust works with RUSTC_BOOTSTRAP=1.
# No sanitizer (-s none): the crate has no unsafe code, and libFuzzer's
# coverage guidance is what finds panics.
set -euo pipefail
cd "$(dirname "$0")"
RUNS="${RUNS:-1000000}"
SCRATCH="$(mktemp -d "${TMPDIR:-/tmp}/benchsift-fuzz.XXXXXX")"
export RUSTC_BOOTSTRAP=1
TARGETS=("$@")
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=(read_responses read_meta read_npy estimate_json similar_items)
for target in "${TARGETS[@]}"; do
  mkdir -p "$SCRATCH/$target"
  start=$(date +%s)
  cargo fuzz run "$target" -s none -O -a "$SCRATCH/$target" "corpus/$target" -- \
    -runs="$RUNS" -max_len=65536 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 2>&1 |
    grep -E "^(stat::number_of_executed_units|stat::peak_rss_mb|Done|==|SUMMARY|#[0-9]+ +DONE)" || true
  echo "$target: $(( $(date +%s) - start )) s"
done
rm -rf "$SCRATCH"
