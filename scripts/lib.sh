# Shared by build.sh, start.sh and test.sh: install what the build needs, once.
# Sourced, not run. Every step is skipped when already satisfied.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

ensure_wasm_target() {
  if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
    say "installing the Rust wasm32-unknown-unknown target"
    rustup target add wasm32-unknown-unknown
  fi
}

# The wasm-bindgen CLI must be exactly the version of the wasm-bindgen crate in
# Cargo.lock, or the generated glue does not match the wasm.
wasm_bindgen_version() {
  awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' "$ROOT/Cargo.lock"
}

ensure_wasm_bindgen() {
  local want have
  want="$(wasm_bindgen_version)"
  if [ -z "$want" ]; then
    say "Cargo.lock has no wasm-bindgen entry; generating it"
    (cd "$ROOT" && cargo generate-lockfile)
    want="$(wasm_bindgen_version)"
  fi
  have="$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')"
  if [ "$have" != "$want" ]; then
    say "installing wasm-bindgen-cli $want (found '${have:-none}'); this takes a few minutes once"
    # Not --locked: a locked dependency of the CLI is missing from the index.
    cargo install wasm-bindgen-cli --version "$want"
  fi
}

ensure_npm_deps() {
  if [ ! -d "$ROOT/node_modules" ] || [ "$ROOT/package-lock.json" -nt "$ROOT/node_modules/.package-lock.json" ]; then
    say "installing npm dev dependencies"
    (cd "$ROOT" && npm ci --no-audit --no-fund)
  fi
}

build_wasm() {
  ensure_wasm_target
  ensure_wasm_bindgen
  ensure_npm_deps
  say "building the wasm core (release, simd128)"
  (cd "$ROOT" && cargo build --release --target wasm32-unknown-unknown -p benchsift --lib)
  local out="$ROOT/www/pkg"
  mkdir -p "$out"
  wasm-bindgen --target web --out-dir "$out" --out-name benchsift \
    "$ROOT/target/wasm32-unknown-unknown/release/benchsift.wasm"
  # Debian's binaryen breaks wasm-bindgen output; npm's binaryen 132 does not.
  "$ROOT/node_modules/.bin/wasm-opt" -O3 \
    --enable-simd --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
    --enable-mutable-globals --enable-reference-types --enable-multivalue \
    "$out/benchsift_bg.wasm" -o "$out/benchsift_bg.wasm"
  say "www/pkg/benchsift_bg.wasm: $(wc -c < "$out/benchsift_bg.wasm") bytes"
}

# Chromium (browser tests) and Mesa lavapipe (native wgpu tests on a machine
# without a GPU). Installed with apt when running as root; otherwise the tests
# that need them skip with a loud message.
ensure_system_packages() {
  local missing=()
  [ -x /usr/bin/chromium ] || missing+=(chromium)
  ls /usr/share/vulkan/icd.d/lvp_icd*.json >/dev/null 2>&1 || missing+=(mesa-vulkan-drivers)
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    say "installing ${missing[*]} with apt-get"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    say "WARNING: ${missing[*]} missing and cannot be installed here (not root, or no apt-get):"
    say "WARNING: the tests that need them will be SKIPPED"
  fi
}
