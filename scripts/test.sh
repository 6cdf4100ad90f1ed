#!/usr/bin/env bash
# The test command (README): installs what is missing (once, cached), builds
# the wasm worker once, then runs every test: the pure core's unit tests, the
# emulators' tests, and the end-to-end tests against `wrangler dev`.
# Extra arguments go to `cargo test` (e.g. a test name filter).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$KSB_ROOT"

ensure_build_tools
bash scripts/build.sh
export KSB_BUILT=1 # the end-to-end harness reuses this build
cargo test --workspace --locked "$@"
