# shellcheck shell=bash
# Shared by the project's scripts: where the tool cache is, how to install
# each build tool once, and the environment the wasm build runs in.
# Source it; it defines functions and changes nothing by itself.
#
# The scripts (build.sh, dev.sh, test.sh, fuzz-replay.sh, this file, and the
# developer tools) run on macOS' stock bash 3.2 with its BSD tools as on Linux:
# no bash-4 features (associative arrays, `wait -n`, mapfile, ${x,,}, ...) and
# no GNU-only tools or flags (`timeout`, `sha256sum`, `date +%N`, `sed -i`
# without a suffix, `readlink -f`, `grep -P`, ...). lint_scripts below checks it.

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

# The SHA-256 of a file, in hex: sha256sum (GNU) or shasum (macOS, perl).
sha256_of() {
  if command -v sha256sum >/dev/null; then sha256sum "$1" | cut -d' ' -f1; else shasum -a 256 "$1" | cut -d' ' -f1; fi # portable: only where it exists
}

# Runs a command, stopped with TERM after $1 seconds (GNU `timeout` is not on
# macOS): a background watchdog. The command's exit status, 143 when stopped.
with_timeout() { # seconds command...
  local secs="$1" pid dog rc=0
  shift
  "$@" &
  pid=$!
  (
    trap 'kill "$s" 2>/dev/null; wait "$s"; exit 0' TERM
    sleep "$secs" &
    s=$!
    wait "$s" && kill -TERM "$pid" 2>/dev/null
  ) </dev/null >/dev/null 2>&1 &
  dog=$!
  wait "$pid" || rc=$?
  kill -TERM "$dog" 2>/dev/null || true
  wait "$dog" 2>/dev/null || true
  return "$rc"
}

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else die "need root for: $*"; fi
}

# npm packages pinned by package-lock.json: wrangler, esbuild, binaryen (wasm-opt).
ensure_node_modules() {
  local stamp="$KSB_ROOT/node_modules/.ksb-lock"
  local want
  want="$(sha256_of "$KSB_ROOT/package-lock.json")"
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
      if with_timeout 180 rustup target add "$WASM_TARGET" >&2; then KSB_TOOLCHAIN=rustup; return; fi
      [ "$mode" = rustup ] && die "rustup could not add $WASM_TARGET"
      log "rustup could not download $WASM_TARGET; using Debian's rustc-web instead"
    fi
  fi
  ensure_debian_sysroot
  KSB_TOOLCHAIN=debian
}

ensure_debian_sysroot() {
  local libdir=/usr/lib/rustlib/$WASM_TARGET/lib
  # Only on Debian (apt-get, x86_64 Linux); elsewhere rustup's target is the way.
  if [ "$(uname -s)" != Linux ] || ! command -v apt-get >/dev/null; then
    die "no $WASM_TARGET standard library: install Rust with rustup (https://rustup.rs) and run" \
      "\`rustup target add $WASM_TARGET\` (the Debian rustc-web fallback needs apt-get)"
  fi
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

# The scripts, kept to bash 3.2 (macOS' /bin/bash) and to tools and flags
# that macOS' BSD userland has too: the user-facing ones (lib.sh, build.sh,
# dev.sh, test.sh, fuzz-replay.sh) and the developer tools (bench-*.sh,
# soak.sh, fuzz.sh) alike.
KSB_PORTABLE_SCRIPTS="$(cd "$KSB_ROOT" && echo scripts/*.sh)"

# Checks KSB_PORTABLE_SCRIPTS: `bash -n` on each (and with a bash 3.2 too,
# when KSB_BASH32 names one), and none of the bash-4 or GNU-only constructs
# below in their code. Whole-line comments are skipped; a line that must
# keep one (behind a check) ends with `# portable: <why>`.
lint_scripts() {
  local f bad=0 tab pattern what hits rules
  tab="$(printf '\t')"
  for f in $KSB_PORTABLE_SCRIPTS; do
    bash -n "$KSB_ROOT/$f" || die "bash -n $f failed"
    if [ -n "${KSB_BASH32:-}" ]; then
      "$KSB_BASH32" -n "$KSB_ROOT/$f" || die "$KSB_BASH32 -n $f failed (bash 3.2)"
    fi
  done
  # One rule a line: a grep -E pattern, a tab, what it is. The check skips
  # the lines between the two markers (the patterns would match themselves).
  # portable-lint: rules begin
  rules='(declare|local|typeset)[[:space:]]+-[[:alpha:]]*[Agnlu]	declare/local -A, -g, -n, -l, -u (bash 4)
wait[[:space:]]+-n	wait -n (bash 4.3): poll with kill -0
(^|[^[:alnum:]_])(mapfile|readarray|coproc)([^[:alnum:]_]|$)	mapfile, readarray, coproc (bash 4)
[$][{][#!]?[[:alnum:]_]+([[][^]]*[]])?[,^]	${x,,} or ${x^^} case changes (bash 4): use tr
[$][{][[:alnum:]_]+([[][^]]*[]])?@[[:alpha:]][}]	${x@Q} transformations (bash 4.4)
&>>	&>> (bash 4): use >>file 2>&1
[|]&	|& (bash 4): use 2>&1 |
;;&	;;& (bash 4)
[[][[][[:space:]]+-v[[:space:]]	[[ -v ]] (bash 4.2): use ${x+set}
[[]-[0-9]+[]][}]	negative array subscripts (bash 4.3)
EPOCHREALTIME|EPOCHSECONDS|SRANDOM|BASH_ARGV0	bash 5 variables
shopt[[:space:]]+-s[[:space:]].*(globstar|lastpipe|autocd|checkjobs|direxpand|globasciiranges|inherit_errexit|localvar_)	a shopt option bash 3.2 lacks
(^|[^[:alnum:]_.-])timeout[[:space:]]+(-|[0-9])	GNU timeout (not on macOS): use with_timeout
(^|[^[:alnum:]_.-])(sha256sum|sha1sum|md5sum|nproc|setsid|flock|tac)([^[:alnum:]_.-]|$)	a GNU/Linux-only tool (macOS: shasum -a 256, getconf _NPROCESSORS_ONLN, ...)
(^|[^[:alnum:]_.-])sed([[:space:]]+-[[:alnum:]]+)*[[:space:]]+(-[[:alpha:]]*i|--in-place)([[:space:]]|$)	sed -i without an attached suffix (GNU and BSD differ): use sed -i.bak
(^|[^[:alnum:]_.-])date[[:space:]]+(-d|--date)|(^|[^[:alnum:]_.-])date[[:space:]][^|;]*%N	GNU date (-d, %N)
(^|[^[:alnum:]_.-])stat[[:space:]]+(-c|--)	GNU stat -c
(^|[^[:alnum:]_.-])readlink[[:space:]]+-[[:alpha:]]*[fem]	GNU readlink -f/-e/-m: use cd and pwd
(^|[^[:alnum:]_.-])grep([[:space:]]+-[[:alnum:]]+)*[[:space:]]+(-[[:alpha:]]*P|--perl)	grep -P (GNU): use grep -E
(^|[^[:alnum:]_.-])(cp|mv|rm|ln|mkdir|touch|stat|date|sort|head|tail|cut|sed|grep|xargs|readlink|mktemp|du|df|tr|wc|uniq|chmod|chown|find|tar)[[:space:]]+(-[[:alnum:]]+[[:space:]]+)*--[[:alpha:]]	a GNU long option of a coreutils tool
(^|[^[:alnum:]_.-])xargs([[:space:]]+-[[:alnum:]]+)*[[:space:]]+-[[:alpha:]]*r	xargs -r (GNU)
(^|[^[:alnum:]_.-])head[[:space:]]+-n[[:space:]]*-[0-9]	head -n -N (GNU)
(^|[^[:alnum:]_.-])base64([[:space:]]+-[[:alnum:]]+)*[[:space:]]+-[[:alpha:]]*w	base64 -w (GNU)
(^|[^[:alnum:]_.-])find[^|;]*-(printf|regextype)	find -printf, -regextype (GNU)'
  # portable-lint: rules end
  for f in $KSB_PORTABLE_SCRIPTS; do
    while IFS="$tab" read -r pattern what; do
      hits="$(awk '/^[[:space:]]*# portable-lint: rules begin$/ { skip = 1 }
        { print ((skip || /^[[:space:]]*#/ || /# portable: /) ? "" : $0) }
        /^[[:space:]]*# portable-lint: rules end$/ { skip = 0 }' "$KSB_ROOT/$f" | grep -nE -e "$pattern" || true)"
      if [ -n "$hits" ]; then
        log "lint: $f: $what:"
        printf '%s\n' "$hits" | sed "s|^|  $f:|" >&2
        bad=1
      fi
    done <<EOF
$rules
EOF
  done
  [ "$bad" = 0 ] || die "the scripts above use bash-4 or GNU-only constructs (they must run on macOS' bash 3.2)"
  log "lint: scripts ok (bash -n${KSB_BASH32:+, bash 3.2 -n}; no bash-4 or GNU-only construct in scripts/*.sh)"
}

# Formatting and lints, warnings as errors; scripts/test.sh runs them before
# the tests. Call after ensure_wasm_target (KSB_TOOLCHAIN says which wasm
# toolchain to lint with).
#   scripts  lint_scripts: the user-facing scripts stay bash 3.2 and BSD-tool portable
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

  lint_scripts
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

# The proxies tests/e2e_examples_proxies.rs runs examples/proxies with:
# nginx (with its auth_request module) and Caddy. KSB_NGINX and KSB_CADDY name
# other binaries (Homebrew's, say); else the ones on the PATH (or in
# /usr/sbin); else Debian's packages, unpacked once into the cache with
# apt-get download and dpkg-deb -x: no service is installed or started (a
# package install would start nginx and Caddy on port 80), and root is needed
# only for apt-get update. Traefik is not packaged by Debian: its example is
# documented, not run. Exports KSB_NGINX and KSB_CADDY.
ensure_proxies() {
  KSB_NGINX="$(proxy_binary nginx KSB_NGINX usr/sbin/nginx)" || exit 1
  KSB_CADDY="$(proxy_binary caddy KSB_CADDY usr/bin/caddy)" || exit 1
  export KSB_NGINX KSB_CADDY
}

# proxy_binary PACKAGE VARIABLE PATH-IN-PACKAGE: prints the binary's path (see ensure_proxies).
proxy_binary() {
  local name="$1" var="$2" inner="$3" given dir work deb
  eval "given=\"\${$var:-}\""
  if [ -n "$given" ]; then
    [ -x "$given" ] || die "$var=$given is not an executable"
    echo "$given"; return
  fi
  if command -v "$name" >/dev/null; then command -v "$name"; return; fi
  if [ -x "/usr/sbin/$name" ]; then echo "/usr/sbin/$name"; return; fi
  for dir in "$KSB_TOOLS/debian-$name"_*; do
    if [ -x "$dir/$inner" ]; then echo "$dir/$inner"; return; fi
  done
  command -v apt-get >/dev/null \
    || die "the proxy examples' tests need $name: install it, or set $var to its binary"
  log "unpacking Debian's $name into $KSB_TOOLS for the proxy examples' tests (once)"
  work="$(mktemp -d)"
  if ! (cd "$work" && apt-get download -qq "$name" >&2 2>/dev/null); then
    as_root apt-get update -qq >&2
    (cd "$work" && apt-get download -qq "$name" >&2) || die "apt-get download $name failed"
  fi
  deb="$(ls "$work"/*.deb)"
  dir="$KSB_TOOLS/debian-$(basename "$deb" .deb)"
  mkdir -p "$KSB_TOOLS"
  rm -rf "$dir.partial" && dpkg-deb -x "$deb" "$dir.partial" && rm -rf "$dir" && mv "$dir.partial" "$dir" \
    || die "dpkg-deb -x $deb failed"
  rm -rf "$work"
  [ -x "$dir/$inner" ] || die "Debian's $name has no $inner"
  echo "$dir/$inner"
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
