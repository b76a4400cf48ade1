#!/usr/bin/env bash
# `npm test`: every test: formatting and lints, Rust unit and CLI tests, the JS type check, the
# packed npm package in a fresh Node project, the install helpers, `npm start`
# and the page in headless Chromium. Installs what it needs first (see
# scripts/lib.sh).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

# Runs a step; a failure says which step failed after the tool's own output.
step() {
  local what="$1"
  shift
  say "$what"
  "$@" || die "$what failed (the output above says why)"
}

ensure_system_packages
ensure_rust_tools
step "formatting (cargo fmt --check)" cargo fmt --all --check
step "formatting the fuzz targets (cargo fmt --check)" bash -c 'cd crate/fuzz && cargo fmt --check'
build_wasm
step "lints (cargo clippy -D warnings, native and wasm)" \
  bash -c 'cargo clippy --workspace --all-targets -- -D warnings && cargo clippy --target wasm32-unknown-unknown -p benchsift --lib -- -D warnings'
step "building the native CLI (the reference the JS and page tests compare with)" \
  cargo build --release -p benchsift --bin benchsift
step "Rust tests" cargo test --workspace
step "type-checking the JavaScript (tsc --checkJs)" node_modules/.bin/tsc -p tsconfig.json
step "Node tests: install helpers, npm start, npm package and page" \
  node --test --test-concurrency=1 tests/*.test.mjs
say "all tests passed"
