#!/usr/bin/env bash
# The side-by-side benchmark (benches/side-by-side/README.md): the bridge
# beside an empty workers-rs worker and the recipe worker (TypeScript with the
# `stripe` npm package), all served by Miniflare's API on 127.0.0.1, in one
# run: feature-check, /gate and duplicate-webhook throughput and latency,
# bundle size (raw and gzipped) and cold start. Prints tables and ratios,
# writes target/bench-side-by-side.json, and exits non-zero if any target
# answered an error or a non-2xx. Asserts nothing about time.
#
#   scripts/bench-side-by-side.sh [--quick]
#     --quick    3 s per target and round instead of 10 (BENCH_SECONDS), 3 cold starts
#
# Environment: BENCH_SECONDS (10), BENCH_CONNECTIONS (32), BENCH_ROUNDS (2),
# BENCH_WARMUP_SECONDS (2), BENCH_COLD_STARTS (5), KSB_BUILT=1 to use build/
# as it is instead of running scripts/build.sh first.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

for arg in "$@"; do
  case "$arg" in
    --quick) export BENCH_SECONDS="${BENCH_SECONDS:-3}" BENCH_COLD_STARTS="${BENCH_COLD_STARTS:-3}" ;;
    -h | --help) sed -n '2,15p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument $arg (see --help)" ;;
  esac
done

command -v node >/dev/null || die "node not found: install Node.js 20 or newer"
ensure_build_tools # npm tools (miniflare via wrangler, autocannon, esbuild, stripe), worker-build, wasm-bindgen, wasm32
build_env
ensure_bridge_build
build_empty_worker

bundle_recipe_worker

log "running the side-by-side benchmark (node $(node --version))"
exec node "$KSB_ROOT/benches/side-by-side/run.mjs"
