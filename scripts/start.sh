#!/usr/bin/env bash
# `npm start`: install what is missing, build, serve www/ on 127.0.0.1:${PORT:-8080}.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
build_wasm
exec node "$ROOT/scripts/serve.mjs"
