#!/usr/bin/env bash
# The signing benchmark (benches/signing/README.md): the wasm bytes a
# RustCrypto signer adds (p256 for ES256, ed25519-dalek for EdDSA, each
# without and with its precomputed tables) over a baseline module, raw and
# gzipped, and the time of one signature in workerd (Miniflare) with the
# runtime's Web Crypto, as the bridge signs, beside the same crates compiled
# to wasm. Checks each implementation's signature with Node's Web Crypto.
#
#   scripts/bench-signing.sh [--quick]
#     --quick  3 rounds of 4 requests instead of 15 of 10
#
# Environment: BENCH_N (signatures per request, 100), BENCH_REQUESTS (10),
# BENCH_ROUNDS (15), BENCH_WARMUP (3). Builds go to target/bench-signing
# (KSB_SIGNING_TARGET_DIR), the results to its results.json.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

for arg in "$@"; do
  case "$arg" in
    --quick) export BENCH_ROUNDS="${BENCH_ROUNDS:-3}" BENCH_REQUESTS="${BENCH_REQUESTS:-4}" ;;
    -h | --help) sed -n '2,14p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument $arg (see --help)" ;;
  esac
done

command -v node >/dev/null || die "node not found: install Node.js 20 or newer"
ensure_wasm_target
if [ "$KSB_TOOLCHAIN" = debian ]; then export PATH="/usr/bin:$PATH"; fi
ensure_node_modules # miniflare (with wrangler) and binaryen's wasm-opt

out="${KSB_SIGNING_TARGET_DIR:-$KSB_ROOT/target/bench-signing}"
manifest="$KSB_ROOT/benches/signing/Cargo.toml"
# One cargo target dir for all variants: cargo keeps each feature set's
# dependencies apart, and each output is copied out before the next build.
export CARGO_TARGET_DIR="$out/cargo"

# variant name, then its cargo features.
variants=("baseline:" "es256:es256" "eddsa:eddsa" "es256-tables:es256 tables" "eddsa-tables:eddsa tables")
for v in "${variants[@]}"; do
  name="${v%%:*}" features="${v#*:}"
  log "building $name (benches/signing${features:+ with $features}) for $WASM_TARGET"
  cargo build --quiet --locked --release --target "$WASM_TARGET" --manifest-path "$manifest" \
    ${features:+--features "$features"}
  mkdir -p "$out/$name"
  raw="$CARGO_TARGET_DIR/$WASM_TARGET/release/ksb_bench_signing.wasm"
  # cargo's output, its name section stripped (strip_names works on <dir>/index_bg.wasm).
  cp "$raw" "$out/$name/index_bg.wasm"
  strip_names "$out/$name"
  mv "$out/$name/index_bg.wasm" "$out/$name/rustc.wasm"
  # Then as worker-build 0.8.7 --release and scripts/build.sh leave it:
  # `wasm-opt -O` with worker-build's feature set, then strip_names.
  "$KSB_ROOT/node_modules/.bin/wasm-opt" "$raw" -o "$out/$name/index_bg.wasm" -O \
    --enable-mutable-globals --enable-sign-ext --enable-nontrapping-float-to-int \
    --enable-bulk-memory --enable-multivalue --enable-reference-types \
    --enable-exception-handling --debuginfo
  strip_names "$out/$name"
done

log "running the signing benchmark (node $(node --version), $(getconf _NPROCESSORS_ONLN) cores)"
node "$KSB_ROOT/benches/signing/run.mjs" "$out"
