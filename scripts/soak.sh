#!/usr/bin/env bash
# The full soak (README, "Soak"): KSB_SOAK_IDENTITIES identities (default
# 300) live a whole billing life against `wrangler dev` while the Stripe
# emulator fails 20% of API calls and duplicates, reorders and delays
# webhooks; prints its figures and fails on any mismatch. The test command
# runs the same test with 30 identities. KSB_SOAK_SEED (default 1) seeds
# the faults and shuffles. Installs what is missing and builds the worker
# once, as scripts/test.sh does, unless KSB_BUILT=1 and build/ exists.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$KSB_ROOT"

if [ "${KSB_BUILT:-0}" != 1 ] || [ ! -f build/index.js ]; then
  ensure_build_tools
  bash scripts/build.sh
fi
export KSB_BUILT=1 KSB_SOAK_IDENTITIES="${KSB_SOAK_IDENTITIES:-300}"
cargo test --locked --test e2e_soak a_soak_with_faults -- --nocapture "$@"
