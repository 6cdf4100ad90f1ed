#!/usr/bin/env bash
# The gate benchmark (benches/gate/README.md): how many feature checks per
# second the built worker answers, and at what latency, beside two
# baselines measured in the same run: an empty workers-rs worker (the floor)
# and the recipe's naive JS gate (benches/gate/seed-worker.js). Each worker
# runs in its own Miniflare (workerd) on 127.0.0.1 with an in-memory KV; no
# `wrangler dev` proxy in between. Prints a table and ratios, writes
# target/bench-gate.json, and exits non-zero if any target answered an error
# or a non-2xx.
#
#   scripts/bench-gate.sh [--quick] [--diag] [--profile]
#     --quick    3 s per target and round instead of 10 (BENCH_SECONDS)
#     --diag     also a JS empty worker (the floor without wasm) and the bridge
#                with console.log stubbed out (BENCH_DIAG=1)
#     --edge     also edge gate mode (ungated, and gated with a cached session)
#                beside a plain pass-through JS worker, one origin (BENCH_EDGE=1)
#     --profile  then a V8 CPU profile of the bridge under the feature check
#                (benches/gate/profile.mjs; slows the worker, separate figures)
#
# Environment: BENCH_SECONDS (10), BENCH_CONNECTIONS (32), BENCH_ROUNDS (2),
# BENCH_WARMUP_SECONDS (2), BENCH_VIA (direct: each worker on its own workerd
# socket; entry: through Miniflare's entry worker), KSB_BUILT=1 to use
# build/ as it is instead of running scripts/build.sh first.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

profile=0
for arg in "$@"; do
  case "$arg" in
    --quick) export BENCH_SECONDS="${BENCH_SECONDS:-3}" ;;
    --diag) export BENCH_DIAG=1 ;;
    --edge) export BENCH_EDGE=1 ;;
    --profile) profile=1 ;;
    -h | --help) sed -n '2,23p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument $arg (see --help)" ;;
  esac
done

command -v node >/dev/null || die "node not found: install Node.js 20 or newer"
ensure_build_tools # npm tools (miniflare via wrangler, autocannon), worker-build, wasm-bindgen, wasm32
build_env

ensure_bridge_build

build_empty_worker
if [ "${BENCH_EDGE:-}" = 1 ]; then build_pass_through_worker; fi

log "running the gate benchmark (node $(node --version))"
status=0
node "$KSB_ROOT/benches/gate/run.mjs" || status=$?
if [ "$profile" = 1 ]; then
  log "profiling the bridge's feature check"
  node "$KSB_ROOT/benches/gate/profile.mjs" feature || status=$((status ? status : $?))
fi
exit "$status"
