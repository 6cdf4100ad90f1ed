#!/usr/bin/env bash
# The load run (benches/load/README.md): feature checks, /gate and Stripe
# webhooks mixed, 60 s at 64 connections, against the bridge served by
# Miniflare's API on 127.0.0.1 (no wrangler proxy). Prints throughput, p50
# and p99 per kind, writes target/bench-load.json, and exits non-zero on any
# error, non-2xx or wrong answer, or an acknowledged event id not marked processed.
#
#   scripts/bench-load.sh [--quick]
#     --quick    10 s instead of 60 (BENCH_LOAD_SECONDS)
#
# Environment: BENCH_LOAD_SECONDS (60), BENCH_LOAD_CONNECTIONS (64),
# KSB_BUILT=1 to use build/ as it is instead of running scripts/build.sh first.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

for arg in "$@"; do
  case "$arg" in
    --quick) export BENCH_LOAD_SECONDS="${BENCH_LOAD_SECONDS:-10}" ;;
    -h | --help) sed -n '2,12p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument $arg (see --help)" ;;
  esac
done

command -v node >/dev/null || die "node not found: install Node.js 20 or newer"
ensure_build_tools
build_env
ensure_bridge_build
log "running the load run (node $(node --version))"
exec node "$KSB_ROOT/benches/load/run.mjs"
