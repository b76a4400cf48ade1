#!/usr/bin/env bash
# `npm test`: every test: Rust unit and CLI tests, the JS type check, the
# packed npm package in a fresh Node project, and the page in headless
# Chromium. Installs what it needs first (see scripts/lib.sh).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

ensure_system_packages
build_wasm
say "building the native CLI (the reference the JS and page tests compare with)"
cargo build --release -p benchsift --bin benchsift

say "Rust tests"
cargo test --workspace

say "type-checking the JavaScript (tsc --checkJs)"
node_modules/.bin/tsc -p tsconfig.json

say "Node tests: npm package and page"
node --test --test-concurrency=1 tests/*.test.mjs
