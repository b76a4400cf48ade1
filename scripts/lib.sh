# Shared by build.sh, start.sh and test.sh: install what the build needs, once.
# Sourced, not run, by scripts that use `set -euo pipefail`.
#
# Under `set -e` a probe of a missing tool ends the script with no word (a
# command substitution or pipeline that fails with 127). So every probe here is
# an `if` condition or ends in `|| …`, and every failure goes through `die`,
# which says what failed and what to do about it. Every step says whether it
# ran or was already satisfied. tests/install.test.mjs runs each helper with
# the tool missing, the wrong version and a failing install, on a PATH of stubs.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# Where `cargo install` puts binaries (its default root).
CARGO_BIN_DIR="${CARGO_INSTALL_ROOT:-${CARGO_HOME:-$HOME/.cargo}}/bin"

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
warn() { printf '\033[1;33m==> WARNING: %s\033[0m\n' "$*" >&2; }
die() {
  printf '\033[1;31m==> error: %s\033[0m\n' "$*" >&2
  exit 1
}

have_command() { command -v "$1" >/dev/null 2>&1; }

ensure_cargo() {
  have_command cargo ||
    die "cargo is not on the PATH: install Rust with rustup (https://rustup.rs), then open a new shell (or add ~/.cargo/bin to PATH)"
}

ensure_wasm_target() {
  local installed sysroot
  if have_command rustup; then
    installed="$(rustup target list --installed 2>/dev/null)" || installed=""
    if grep -qx wasm32-unknown-unknown <<<"$installed"; then
      say "Rust wasm32-unknown-unknown target: installed"
      return 0
    fi
    say "installing the Rust wasm32-unknown-unknown target"
    rustup target add wasm32-unknown-unknown ||
      die "'rustup target add wasm32-unknown-unknown' failed (its message is above)"
    return 0
  fi
  # A toolchain without rustup (a distribution's rustc) may still have it.
  sysroot="$(rustc --print sysroot 2>/dev/null)" || sysroot=""
  if [ -n "$sysroot" ] && [ -d "$sysroot/lib/rustlib/wasm32-unknown-unknown" ]; then
    say "Rust wasm32-unknown-unknown target: installed (no rustup)"
    return 0
  fi
  die "the Rust wasm32-unknown-unknown target is missing and rustup is not on the PATH to add it: install Rust with rustup (https://rustup.rs)"
}

# rustfmt and clippy, which `npm test` runs (rustup's default profile has
# them; the minimal one does not).
ensure_rust_tools() {
  ensure_cargo
  local missing=()
  cargo fmt --version >/dev/null 2>&1 || missing+=(rustfmt)
  cargo clippy --version >/dev/null 2>&1 || missing+=(clippy)
  if [ ${#missing[@]} -eq 0 ]; then
    say "rustfmt and clippy: installed"
    return 0
  fi
  have_command rustup || die "${missing[*]} missing and rustup is not on the PATH to add them: install Rust with rustup (https://rustup.rs)"
  say "installing the Rust components ${missing[*]}"
  rustup component add "${missing[@]}" || die "'rustup component add ${missing[*]}' failed (its message is above)"
}

# The wasm-bindgen CLI must be exactly the version of the wasm-bindgen crate in
# Cargo.lock, or the generated glue does not match the wasm.
wasm_bindgen_version() {
  [ -f "$ROOT/Cargo.lock" ] || return 0
  awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' "$ROOT/Cargo.lock"
}

# The version a wasm-bindgen binary reports ("wasm-bindgen 0.2.130" -> 0.2.130),
# empty when it does not run.
version_of_wasm_bindgen() {
  local out
  out="$("$1" --version 2>/dev/null)" || return 0
  out="${out#wasm-bindgen }"
  printf '%s\n' "${out%% *}"
}

# Sets WASM_BINDGEN to a wasm-bindgen CLI of the wanted version, installing it
# with cargo when neither the PATH nor cargo's bin folder has one.
WASM_BINDGEN=""
ensure_wasm_bindgen() {
  local want candidate have seen="" found=()
  want="$(wasm_bindgen_version)"
  if [ -z "$want" ]; then
    ensure_cargo
    say "Cargo.lock has no wasm-bindgen entry; generating it"
    (cd "$ROOT" && cargo generate-lockfile) || die "'cargo generate-lockfile' failed (its message is above)"
    want="$(wasm_bindgen_version)"
    [ -n "$want" ] || die "Cargo.lock still names no wasm-bindgen crate after 'cargo generate-lockfile'"
  fi
  for candidate in "$(command -v wasm-bindgen || true)" "$CARGO_BIN_DIR/wasm-bindgen"; do
    [ -n "$candidate" ] && [ -x "$candidate" ] && [ "$candidate" != "$seen" ] || continue
    seen="$candidate"
    have="$(version_of_wasm_bindgen "$candidate")"
    if [ "$have" = "$want" ]; then
      WASM_BINDGEN="$candidate"
      say "wasm-bindgen CLI $want: found at $candidate"
      return 0
    fi
    found+=("$candidate reports '${have:-nothing}'")
  done
  ensure_cargo
  if [ ${#found[@]} -eq 0 ]; then
    say "installing wasm-bindgen-cli $want (none found); this takes 4-7 minutes, once"
  else
    say "installing wasm-bindgen-cli $want (${found[*]}); this takes 4-7 minutes, once"
  fi
  # Not --locked: a locked dependency of the CLI is missing from the index.
  # --force: cargo remembers what it installed, and with the binary deleted
  # or shadowed it would say "already installed" and install nothing.
  cargo install --force wasm-bindgen-cli --version "$want" ||
    die "'cargo install --force wasm-bindgen-cli --version $want' failed (its message is above); the page and the npm package cannot be built without it"
  have="$(version_of_wasm_bindgen "$CARGO_BIN_DIR/wasm-bindgen")"
  [ "$have" = "$want" ] ||
    die "cargo installed wasm-bindgen-cli $want, but $CARGO_BIN_DIR/wasm-bindgen reports '${have:-nothing}'"
  WASM_BINDGEN="$CARGO_BIN_DIR/wasm-bindgen"
}

ensure_node() {
  have_command node || die "node is not on the PATH: install Node.js 20 or later"
  have_command npm || die "npm is not on the PATH: install Node.js 20 or later (it comes with npm)"
  node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)' ||
    die "Node.js $(node --version 2>/dev/null || true) is too old: benchsift needs Node.js 20 or later"
}

ensure_npm_deps() {
  ensure_node
  if [ -d "$ROOT/node_modules" ] && ! [ "$ROOT/package-lock.json" -nt "$ROOT/node_modules/.package-lock.json" ]; then
    say "npm dev dependencies: installed"
    return 0
  fi
  say "installing the npm dev dependencies (npm ci)"
  (cd "$ROOT" && npm ci --no-audit --no-fund) ||
    die "'npm ci' failed (its message is above): the npm registry must be reachable"
}

build_wasm() {
  ensure_cargo
  ensure_wasm_target
  ensure_wasm_bindgen
  ensure_npm_deps
  local wasm="$ROOT/target/wasm32-unknown-unknown/release/benchsift.wasm"
  local out="$ROOT/www/pkg"
  local wasm_opt="$ROOT/node_modules/.bin/wasm-opt"
  say "building the wasm core (release, simd128)"
  (cd "$ROOT" && cargo build --release --target wasm32-unknown-unknown -p benchsift --lib) ||
    die "building the wasm core failed (cargo's message is above)"
  # cargo leaves an up-to-date artefact untouched, so a newer output means
  # the glue and the optimised wasm are from this build.
  if [ "$out/benchsift_bg.wasm" -nt "$wasm" ] && [ -f "$out/benchsift.js" ]; then
    say "www/pkg is up to date with the wasm core"
    return 0
  fi
  [ -x "$wasm_opt" ] || die "$wasm_opt is missing: 'npm ci' should have installed binaryen"
  mkdir -p "$out"
  "$WASM_BINDGEN" --target web --out-dir "$out" --out-name benchsift "$wasm" ||
    die "wasm-bindgen failed on $wasm (its message is above)"
  # Debian's binaryen breaks wasm-bindgen output; npm's binaryen 132 does not.
  "$wasm_opt" -O3 \
    --enable-simd --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
    --enable-mutable-globals --enable-reference-types --enable-multivalue \
    "$out/benchsift_bg.wasm" -o "$out/benchsift_bg.wasm" ||
    die "wasm-opt failed on $out/benchsift_bg.wasm (its message is above)"
  say "www/pkg/benchsift_bg.wasm: $(wc -c <"$out/benchsift_bg.wasm") bytes"
}

# Chromium (browser tests) and Mesa lavapipe (native wgpu tests on a machine
# without a GPU). Installed with apt-get when running as root. Elsewhere the
# tests that need them skip with a loud message, except under CI=true, where a
# skipped browser or GPU test would hide a failure.
CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
VULKAN_ICD_DIR="${VULKAN_ICD_DIR:-/usr/share/vulkan/icd.d}"
ensure_system_packages() {
  local missing=() uid
  [ -x "$CHROMIUM" ] || missing+=(chromium)
  compgen -G "$VULKAN_ICD_DIR/lvp_icd*.json" >/dev/null || missing+=(mesa-vulkan-drivers)
  if [ ${#missing[@]} -eq 0 ]; then
    say "Chromium and Mesa lavapipe: installed"
    return 0
  fi
  uid="$(id -u 2>/dev/null)" || uid=""
  if [ "$uid" = 0 ] && have_command apt-get; then
    say "installing ${missing[*]} with apt-get (about 2 minutes)"
    apt-get update -qq || die "'apt-get update' failed (its message is above): cannot install ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null ||
      die "'apt-get install ${missing[*]}' failed (its message is above)"
    return 0
  fi
  local why="not root"
  [ "$uid" = 0 ] && why="no apt-get"
  if [ "${CI:-}" = true ]; then
    die "${missing[*]} missing and cannot be installed here ($why); under CI=true the browser and GPU tests must run, not skip"
  fi
  warn "${missing[*]} missing and cannot be installed here ($why):"
  warn "the tests that need them will be SKIPPED (as root on Debian, npm test installs them)"
}
