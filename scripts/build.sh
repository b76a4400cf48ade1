#!/usr/bin/env bash
# Builds the wasm core into www/pkg (the page and the npm package use it) and
# the native CLI into target/release/benchsift.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
build_wasm
say "building the native CLI"
(cd "$ROOT" && cargo build --release -p benchsift --bin benchsift) ||
  die "building the native CLI failed (cargo's message is above)"
say "built www/pkg and target/release/benchsift"
