#!/usr/bin/env bash
# The test command (README): installs what is missing (once, cached), builds
# the wasm worker once, checks formatting and lints (rustfmt; clippy natively
# and for wasm32, warnings as errors: run_lints in scripts/lib.sh), builds the
# fuzz targets and replays their seed corpora (scripts/fuzz-replay.sh, a few
# seconds once built), then runs every test: the pure core's unit tests, the
# emulators' tests, and the end-to-end tests against `wrangler dev`, the
# browser flows among them (in Debian's Chromium, installed once:
# ensure_browser in scripts/lib.sh).
# Extra arguments go to `cargo test` (e.g. a test name filter).
# KSB_SKIP_LINTS=1 skips the formatting and lint step (for a quick local
# re-run while editing); CI never sets it, so by default lints always run.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$KSB_ROOT"

ensure_build_tools
ensure_browser # Chromium for tests/e2e_browser.rs
ensure_proxies # nginx and Caddy for tests/e2e_examples_proxies.rs
if [ "${KSB_SKIP_LINTS:-0}" = 1 ]; then log "KSB_SKIP_LINTS=1: skipping rustfmt and clippy"; else run_lints; fi
bash scripts/fuzz-replay.sh
bash scripts/build.sh
export KSB_BUILT=1 # the end-to-end harness reuses this build
cargo test --workspace --locked "$@"
