#!/usr/bin/env bash
# Where the bundle's bytes go (benches/size/README.md): the bridge's upload
# beside the empty workers-rs worker's and the recipe worker's (raw and
# gzipped, as `wrangler deploy` uploads them), then the bridge's wasm by
# crate, its largest items and its most instantiated generic code, from
# twiggy (installed once, cached).
#
#   scripts/bench-size.sh        KSB_BUILT=1 to use build/ as it is
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
case "${1:-}" in -h | --help) sed -n '2,8p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;; esac

TWIGGY_VERSION=0.8.0
ensure_build_tools
ensure_cargo_tool twiggy "$TWIGGY_VERSION" twiggy
build_env
ensure_bridge_build
build_empty_worker
bundle_recipe_worker
node "$KSB_ROOT/benches/size/report.mjs" "$KSB_TOOLS/twiggy-$TWIGGY_VERSION/bin/twiggy" \
  "$KSB_ROOT/build" "$KSB_ROOT/target/bench-empty-worker/build" "$KSB_ROOT/target/bench-recipe-worker/recipe-worker.js"
