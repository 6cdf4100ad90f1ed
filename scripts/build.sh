#!/usr/bin/env bash
# The one build entry, used by wrangler.toml's [build] command: compiles the
# worker to wasm with worker-build and writes build/index.js + build/*.wasm.
# Installs (once, cached) whatever it needs; see scripts/lib.sh.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"


ensure_build_tools
build_env
cd "$KSB_ROOT"
log "building the worker ($KSB_TOOLCHAIN toolchain)"
worker-build --release "$@"
strip_names "$KSB_ROOT/build"
