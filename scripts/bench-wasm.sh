#!/usr/bin/env bash
# Benchmarks webhook verification and parsing (a 4.4 KB
# customer.subscription.updated event) natively and in wasm, and prints
# both side by side:
#   1. the native benchmark, `cargo bench --bench webhook` (benches/webhook.rs);
#   2. the same workloads from benches/wasm (the same event, byte for byte),
#      timed natively by its native twin at the release profile (opt-level
#      "s", as deployed) and at opt-level 3, and in wasm under Node's V8 (the
#      engine workerd embeds): the raw rustc module and the same module after
#      `wasm-opt -O` as worker-build runs it for a release build.
# Figures are medians of 5 runs; nothing is asserted about time.
#
#   scripts/bench-wasm.sh [--quick] [--no-cargo-bench]
#     --quick           runs of ~50 ms instead of ~200 ms (BENCH_TARGET_MS)
#     --no-cargo-bench  skip step 1
#
# Builds go to target/wasm-bench (KSB_BENCH_TARGET_DIR) so that they never
# invalidate the worker's or the tests' builds; the results are also written
# as JSON to target/wasm-bench/bench-wasm/results.json.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

cargo_bench=1
for arg in "$@"; do
  case "$arg" in
    --quick) export BENCH_TARGET_MS="${BENCH_TARGET_MS:-50}" ;;
    --no-cargo-bench) cargo_bench=0 ;;
    -h | --help) sed -n '2,19p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument $arg (see --help)" ;;
  esac
done

command -v node >/dev/null || die "node not found: install Node.js 20 or newer"
ensure_wasm_target
if [ "$KSB_TOOLCHAIN" = debian ]; then export PATH="/usr/bin:$PATH"; fi
ensure_node_modules # binaryen's wasm-opt, the version worker-build pins

export CARGO_TARGET_DIR="${KSB_BENCH_TARGET_DIR:-$KSB_ROOT/target/wasm-bench}"
bench="$KSB_ROOT/benches/wasm"
manifest="$bench/Cargo.toml"
out="$CARGO_TARGET_DIR/bench-wasm"
mkdir -p "$out"

if [ "$cargo_bench" = 1 ] && [ -f "$KSB_ROOT/benches/webhook.rs" ]; then
  log "native benchmark: cargo bench --bench webhook"
  (cd "$KSB_ROOT" && cargo bench --quiet --bench webhook)
fi

log "building benches/wasm for $WASM_TARGET (release: lto, opt-level s)"
cargo build --quiet --release --lib --target "$WASM_TARGET" --manifest-path "$manifest"
raw="$CARGO_TARGET_DIR/$WASM_TARGET/release/ksb_bench_wasm.wasm"
opt="$out/ksb_bench_wasm.opt.wasm"
# worker-build 0.8.7's release step: `wasm-opt -O` with this feature set.
log "wasm-opt -O (as worker-build --release)"
"$KSB_ROOT/node_modules/.bin/wasm-opt" "$raw" -o "$opt" -O \
  --enable-mutable-globals --enable-sign-ext --enable-nontrapping-float-to-int \
  --enable-bulk-memory --enable-multivalue --enable-reference-types \
  --enable-exception-handling --debuginfo

log "building the native twin (release, and opt-level 3)"
cargo build --quiet --release --bin native --manifest-path "$manifest"
cargo build --quiet --profile native-o3 --bin native --manifest-path "$manifest"

log "timing natively"
"$CARGO_TARGET_DIR/release/native" native >"$out/native.json"
"$CARGO_TARGET_DIR/native-o3/native" native-O3 >"$out/native-o3.json"

log "timing in wasm (node $(node --version))"
node "$bench/run.mjs" \
  --native "$out/native.json" --native "$out/native-o3.json" \
  --module "wasm=$raw" --module "wasm-opt=$opt" \
  --json "$out/results.json"
