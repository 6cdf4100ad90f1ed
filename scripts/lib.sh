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
    log "installing Debian's rustc-web, cargo-web, rust-web-src and rust-web-clippy"
    as_root apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq rustc-web cargo-web rust-web-src rust-web-clippy >&2 \
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

# Debian's clippy (rust-web-clippy: /usr/bin/cargo-clippy and clippy-driver)
# at exactly rustc-web's version: clippy-driver is a compiler of its own and
# only reads a sysroot built by the same rustc. ensure_debian_sysroot installs
# it with rustc-web; this adds it where rustc-web came without it.
ensure_debian_clippy() {
  local want
  want="$(dpkg-query -W -f='${Version}' rustc-web 2>/dev/null)" || die "rustc-web is not installed (dpkg)"
  if [ "$(dpkg-query -W -f='${db:Status-Abbrev}${Version}' rust-web-clippy 2>/dev/null)" = "ii $want" ] \
    && [ -x /usr/bin/cargo-clippy ]; then return; fi
  log "installing Debian's rust-web-clippy $want (rustc-web's version)"
  as_root apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "rust-web-clippy=$want" >&2 \
    || die "apt-get install rust-web-clippy=$want failed"
}

# The root crate's rust-version (Cargo.toml), e.g. 1.91.
rust_version() {
  awk -F'"' '/^rust-version *=/ { print $2; exit }' "$KSB_ROOT/Cargo.toml"
}

# rustfmt and clippy for the native lints: rustup's components (in its default
# profile; added here where a minimal profile left them out).
ensure_lint_tools() {
  cargo fmt --version >/dev/null 2>&1 && cargo clippy --version >/dev/null 2>&1 && return
  command -v rustup >/dev/null || die "cargo fmt and cargo clippy are needed (rustup component add rustfmt clippy)"
  log "adding rustup components rustfmt and clippy"
  rustup component add rustfmt clippy >&2 || die "rustup could not add rustfmt and clippy"
}

# Formatting and lints, warnings as errors; scripts/test.sh runs them before
# the tests. Call after ensure_wasm_target (KSB_TOOLCHAIN says which wasm
# toolchain to lint with).
#   rustfmt  the workspace, the standalone bench crates and fuzz/ (rustfmt.toml at the root)
#   clippy   native: every target of the workspace (core, emulators, tests,
#            benches), benches/wasm, benches/signing (all features) and the
#            fuzz targets (fuzz/, its own workspace and target dir);
#            wasm32: the root crate's lib, whose shell (src/http) only
#            compiles for wasm32, with rustup's target or Debian's clippy.
run_lints() {
  local t0=$SECONDS t
  local bench_manifest="$KSB_ROOT/benches/wasm/Cargo.toml"
  # benches/wasm is its own workspace; share bench-wasm.sh's target dir.
  local bench_target="${KSB_BENCH_TARGET_DIR:-$KSB_ROOT/target/wasm-bench}"

  ensure_lint_tools
  t=$SECONDS
  log "lint: rustfmt (cargo fmt --check)"
  (cd "$KSB_ROOT" && cargo fmt --all --check && cargo fmt --check --manifest-path "$bench_manifest" \
    && cargo fmt --check --manifest-path benches/gate/empty-worker/Cargo.toml \
    && cargo fmt --check --manifest-path benches/gate/pass-through-worker/Cargo.toml \
    && cargo fmt --check --manifest-path benches/signing/Cargo.toml \
    && cargo fmt --check --manifest-path fuzz/Cargo.toml) \
    || die "formatting differs (diff above); run cargo fmt in the root and in benches/wasm, benches/gate/empty-worker, benches/gate/pass-through-worker, benches/signing, fuzz"
  log "lint: rustfmt ok ($((SECONDS - t)) s)"

  t=$SECONDS
  log "lint: clippy, native ($(cargo clippy --version))"
  (cd "$KSB_ROOT" && cargo clippy --workspace --all-targets --locked -- -D warnings \
    && CARGO_TARGET_DIR="$bench_target" cargo clippy --manifest-path "$bench_manifest" --all-targets --locked -- -D warnings \
    && CARGO_TARGET_DIR="$KSB_ROOT/target/signing-bench" cargo clippy --manifest-path benches/signing/Cargo.toml --all-features --locked -- -D warnings \
    && cargo clippy --manifest-path fuzz/Cargo.toml --all-targets --locked -- -D warnings) \
    || die "clippy (native) failed"
  log "lint: clippy native ok ($((SECONDS - t)) s)"

  t=$SECONDS
  case "${KSB_TOOLCHAIN:-}" in
    rustup)
      log "lint: clippy, $WASM_TARGET, rustup toolchain ($(cargo clippy --version))"
      (cd "$KSB_ROOT" && cargo clippy -p kratos-stripe-bridge --lib --target "$WASM_TARGET" --locked -- -D warnings) \
        || die "clippy ($WASM_TARGET) failed"
      ;;
    debian)
      ensure_debian_clippy
      local rustc_v clippy_v need
      rustc_v="$(/usr/bin/rustc -V | awk '{ print $2 }')"
      clippy_v="$(PATH="/usr/bin:$PATH" /usr/bin/cargo clippy --version | awk '{ print $2 }')"
      need="$(rust_version)"
      # Debian's cargo runs the cargo-clippy first on PATH: make sure it is Debian's.
      [ "$clippy_v" = "0.1.$(cut -d. -f2 <<<"$rustc_v")" ] \
        || die "/usr/bin/cargo clippy runs clippy $clippy_v, not Debian's for rustc $rustc_v"
      # Not only this crate: worker and the url/icu crates in Cargo.lock need
      # it too (let chains, newer std APIs), so --ignore-rust-version cannot help.
      [ "$(printf '%s\n' "$need" "$rustc_v" | sort -V | head -n1)" = "$need" ] \
        || die "Debian's rustc-web is $rustc_v, older than rust-version $need; upgrade it:" \
          "apt-get update && apt-get install rustc-web cargo-web rust-web-src rust-web-clippy"
      log "lint: clippy, $WASM_TARGET, Debian toolchain (clippy $clippy_v, rustc $rustc_v)"
      (cd "$KSB_ROOT" && PATH="/usr/bin:$PATH" RUSTC=/usr/bin/rustc CARGO_TARGET_DIR="$KSB_ROOT/target/clippy-wasm-debian" \
        /usr/bin/cargo clippy -p kratos-stripe-bridge --lib --target "$WASM_TARGET" --locked -- -D warnings) \
        || die "clippy ($WASM_TARGET, Debian) failed"
      ;;
    *) die "run_lints: call ensure_wasm_target first (KSB_TOOLCHAIN is '${KSB_TOOLCHAIN:-}')" ;;
  esac
  log "lint: clippy $WASM_TARGET ok ($((SECONDS - t)) s); all lints passed in $((SECONDS - t0)) s"
}

# The browser the browser tests drive (tests/e2e_browser.rs): Debian's
# Chromium, driven by playwright-core from package-lock.json, which never
# downloads a browser of its own. KSB_CHROMIUM names another Chromium or
# Chrome binary (on macOS, say) and skips the install. Exports KSB_CHROMIUM.
ensure_browser() {
  if [ -n "${KSB_CHROMIUM:-}" ]; then
    [ -x "$KSB_CHROMIUM" ] || die "KSB_CHROMIUM=$KSB_CHROMIUM is not an executable"
    export KSB_CHROMIUM; return
  fi
  if ! command -v chromium >/dev/null; then
    command -v apt-get >/dev/null \
      || die "the browser tests need Chromium: install it, or set KSB_CHROMIUM to a Chromium or Chrome binary"
    log "installing Debian's chromium and a font for the browser tests (once, a minute or two)"
    as_root apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends chromium fonts-liberation >&2 \
      || die "apt-get install chromium failed"
  fi
  KSB_CHROMIUM="$(command -v chromium)"
  export KSB_CHROMIUM
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

# Strips the name section (function names, a sixth of the upload) from the
# wasm worker-build wrote to $1/index_bg.wasm: worker-build's own wasm-opt
# step always keeps it (--debuginfo), and a deployed worker needs no names (a
# panic's message and place are logged without them). Only this pass runs,
# with the features worker-build enables, so the code is as optimised.
strip_names() {
  local wasm="$1/index_bg.wasm"
  "$KSB_ROOT/node_modules/.bin/wasm-opt" "$wasm" -o "$wasm.stripped" --strip-debug \
    --enable-mutable-globals --enable-sign-ext --enable-nontrapping-float-to-int --enable-bulk-memory \
    --enable-multivalue --enable-reference-types --enable-exception-handling \
    && mv "$wasm.stripped" "$wasm" || die "wasm-opt --strip-debug failed on $wasm"
}

# The bridge build the benchmarks serve: build/ as it is with KSB_BUILT=1,
# else a fresh scripts/build.sh.
ensure_bridge_build() {
  if [ "${KSB_BUILT:-}" = 1 ]; then
    [ -f "$KSB_ROOT/build/index.js" ] || die "KSB_BUILT=1 but build/index.js is missing: run scripts/build.sh"
    log "using the bridge build in build/ as it is (KSB_BUILT=1)"
  else
    bash "$KSB_ROOT/scripts/build.sh"
  fi
}

# One of the benchmarks' baseline workers-rs workers (benches/gate/<name>):
# its own workspace and Cargo.lock, built like the bridge (same worker-build,
# wasm-bindgen, wasm-opt, esbuild; call build_env first) into
# target/bench-<name>/build, so it never invalidates the bridge's builds.
build_baseline_worker() {
  # $1: the crate (benches/gate/<name>); $2: the build's name (default $1);
  # $3: cargo features to build it with (default none).
  local name="$1" out="${2:-$1}" features="${3:-}" crate="$KSB_ROOT/benches/gate/$1" want_wb have_wb
  export CARGO_TARGET_DIR="$KSB_ROOT/target/bench-$out"
  want_wb="$(wasm_bindgen_version)"
  have_wb="$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/[^0-9.]/, ""); print; exit }' "$crate/Cargo.lock")"
  [ "$have_wb" = "$want_wb" ] \
    || die "benches/gate/$name/Cargo.lock has wasm-bindgen $have_wb, the root Cargo.lock $want_wb: they must match (one wasm-bindgen CLI)"
  # worker-build does not pass --locked on to cargo: check the lock first.
  (cd "$crate" && cargo metadata --locked --format-version 1 >/dev/null) \
    || die "benches/gate/$name/Cargo.lock is out of date"
  log "building the $out baseline (benches/gate/$name${features:+ with $features} -> target/bench-$out/build)"
  (cd "$crate" && worker-build --release --out-dir "$CARGO_TARGET_DIR/build" ${features:+-- --features "$features"})
  strip_names "$CARGO_TARGET_DIR/build"
  unset CARGO_TARGET_DIR
}

# The empty workers-rs worker: what any request costs (benches/gate/empty-worker),
# as is and writing one log line per request as the bridge does.
build_empty_worker() {
  build_baseline_worker empty-worker
  build_baseline_worker empty-worker empty-logging-worker log-line
}

# The workers-rs pass-through worker: what forwarding costs (benches/gate/pass-through-worker).
build_pass_through_worker() {
  build_baseline_worker pass-through-worker
}

# The benchmarks' recipe worker (benches/side-by-side/recipe-worker.ts),
# bundled the way wrangler bundles a TypeScript worker: esbuild, ESM, the
# workerd export conditions, not minified (call build_env first).
bundle_recipe_worker() {
  local out="$KSB_ROOT/target/bench-recipe-worker"
  mkdir -p "$out"
  log "bundling the recipe worker (benches/side-by-side/recipe-worker.ts -> $out)"
  "$ESBUILD_BIN" "$KSB_ROOT/benches/side-by-side/recipe-worker.ts" --bundle --format=esm --platform=neutral \
    --conditions=workerd,worker,browser --main-fields=module,main --log-level=warning \
    --outfile="$out/recipe-worker.js"
}

# wrangler without telemetry, update checks or the one outbound call it makes.
wrangler_env() {
  export CLOUDFLARE_CF_FETCH_ENABLED=false WRANGLER_SEND_METRICS=false \
    WRANGLER_SEND_ERROR_REPORTS=false NO_UPDATE_NOTIFIER=1
}
