# shellcheck shell=bash
# Shared by the project's scripts: where the tool cache is, how to install
# each build tool once, and the environment the wasm build runs in.
# Source it; it defines functions and changes nothing by itself.

KSB_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
KSB_CACHE="${KSB_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kratos-stripe-bridge}"
KSB_TOOLS="$KSB_CACHE/tools"
WORKER_BUILD_VERSION="0.8.7"
WASM_TARGET="wasm32-unknown-unknown"

log() { printf '\033[1m[ksb]\033[0m %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# The wasm-bindgen CLI must equal the wasm-bindgen library in Cargo.lock.
wasm_bindgen_version() {
  awk '/^name = "wasm-bindgen"$/ { getline; gsub(/[^0-9.]/, ""); print; exit }' "$KSB_ROOT/Cargo.lock"
}

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else die "need root for: $*"; fi
}

# npm packages pinned by package-lock.json: wrangler, esbuild, binaryen (wasm-opt).
ensure_node_modules() {
  local stamp="$KSB_ROOT/node_modules/.ksb-lock"
  local want
  want="$(sha256sum "$KSB_ROOT/package-lock.json" | cut -d' ' -f1)"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then return; fi
  command -v npm >/dev/null || die "npm not found: install Node.js 20 or newer"
  log "installing npm tools (wrangler, esbuild, binaryen) from package-lock.json"
  (cd "$KSB_ROOT" && npm ci --no-audit --no-fund --loglevel=error) || die "npm ci failed"
  echo "$want" >"$stamp"
}

# `cargo install` a tool once into the cache; later runs reuse it.
ensure_cargo_tool() { # crate version binary
  local dir="$KSB_TOOLS/$1-$2"
  [ -x "$dir/bin/$3" ] && return
  log "installing $1 $2 into $dir (once; takes a few minutes)"
  cargo install "$1" --version "$2" --root "$dir.partial" --quiet || die "cargo install $1 failed"
  rm -rf "$dir" && mv "$dir.partial" "$dir"
}

# The wasm32 standard library. On a machine with internet, rustup's target.
# Where rustup cannot download it, Debian's rustc-web with a wasm32 sysroot
# built once from Debian's rust-web-src (see README, "Offline build").
ensure_wasm_target() {
  local mode="${KSB_WASM_TOOLCHAIN:-auto}"
  if [ "$mode" != debian ] && command -v rustup >/dev/null; then
    if rustup target list --installed 2>/dev/null | grep -qx "$WASM_TARGET"; then
      KSB_TOOLCHAIN=rustup; return
    fi
    if [ "$mode" = auto ] || [ "$mode" = rustup ]; then
      log "adding rustup target $WASM_TARGET"
      if timeout 180 rustup target add "$WASM_TARGET" >&2; then KSB_TOOLCHAIN=rustup; return; fi
      [ "$mode" = rustup ] && die "rustup could not add $WASM_TARGET"
      log "rustup could not download $WASM_TARGET; using Debian's rustc-web instead"
    fi
  fi
  ensure_debian_sysroot
  KSB_TOOLCHAIN=debian
}

ensure_debian_sysroot() {
  local libdir=/usr/lib/rustlib/$WASM_TARGET/lib
  if [ ! -x /usr/bin/rustc ] || [ ! -d /usr/lib/rustlib/src/rust/library ]; then
    log "installing Debian's rustc-web, cargo-web and rust-web-src"
    as_root apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq rustc-web cargo-web rust-web-src >&2 \
      || die "apt-get install rustc-web failed"
  fi
  local rustc_id stamp
  rustc_id="$(/usr/bin/rustc -V | tr ' ()' '___')"
  stamp="$libdir/.ksb-sysroot-$rustc_id"
  [ -f "$stamp" ] && return
  local lld
  lld="$(rustc --print sysroot)/lib/rustlib/x86_64-unknown-linux-gnu/bin/rust-lld"
  [ -x "$lld" ] || die "rust-lld not found at $lld (it comes with rustup's toolchain)"
  log "building the $WASM_TARGET standard library from Debian's source (once, about a minute)"
  local work
  work="$(mktemp -d)"
  mkdir -p "$work/src"
  cat >"$work/Cargo.toml" <<'TOML'
[package]
name = "ksb-wasm-sysroot"
version = "0.0.0"
edition = "2021"
[lib]
crate-type = ["cdylib"]
path = "src/lib.rs"
[profile.release]
lto = true
TOML
  : >"$work/src/lib.rs"
  (cd "$work" && RUSTC_BOOTSTRAP=1 RUSTC=/usr/bin/rustc CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER="$lld" \
    /usr/bin/cargo build --quiet --release -Zbuild-std=std,panic_abort --target "$WASM_TARGET") \
    || die "building the wasm32 standard library failed"
  as_root mkdir -p "$libdir" /usr/lib/rustlib/x86_64-unknown-linux-gnu/bin
  as_root rm -f "$libdir"/lib*.rlib "$libdir"/.ksb-sysroot-*
  as_root cp "$work/target/$WASM_TARGET/release/deps/"lib*.rlib "$libdir/"
  as_root ln -sf "$lld" /usr/lib/rustlib/x86_64-unknown-linux-gnu/bin/rust-lld
  as_root touch "$stamp"
  rm -rf "$work"
  # Crates built against an earlier sysroot no longer link against this one.
  rm -rf "$KSB_ROOT/target/$WASM_TARGET"
}

# Everything the build needs, installed once and cached.
ensure_build_tools() {
  ensure_node_modules
  ensure_cargo_tool worker-build "$WORKER_BUILD_VERSION" worker-build
  ensure_cargo_tool wasm-bindgen-cli "$(wasm_bindgen_version)" wasm-bindgen
  ensure_wasm_target
}

# The environment worker-build runs in: our cached tools instead of its downloads.
build_env() {
  export WASM_BINDGEN_BIN="$KSB_TOOLS/wasm-bindgen-cli-$(wasm_bindgen_version)/bin/wasm-bindgen"
  export WASM_OPT_BIN="$KSB_ROOT/node_modules/.bin/wasm-opt"
  export ESBUILD_BIN="$KSB_ROOT/node_modules/.bin/esbuild"
  export PATH="$KSB_TOOLS/worker-build-$WORKER_BUILD_VERSION/bin:$PATH"
  if [ "${KSB_TOOLCHAIN:-}" = debian ]; then export PATH="/usr/bin:$PATH"; fi
}

# wrangler without telemetry, update checks or the one outbound call it makes.
wrangler_env() {
  export CLOUDFLARE_CF_FETCH_ENABLED=false WRANGLER_SEND_METRICS=false \
    WRANGLER_SEND_ERROR_REPORTS=false NO_UPDATE_NOTIFIER=1
}
