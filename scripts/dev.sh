#!/usr/bin/env bash
# The run command (README): the worker under `wrangler dev` (local KV, no
# Cloudflare account, no outbound network) in front of the local Stripe and
# Kratos emulators. With a real Stripe test key in .dev.vars, it talks to
# Stripe instead of the Stripe emulator. Ctrl-C stops everything.
#
# It also serves the example app (examples/app, the browser half of an
# integration) as APP_URL, PRICING_URL and LOGIN_URL, with Kratos' browser
# sign-up rendered on it.
#
# Ports: KSB_PORT (worker, 8787), KSB_STRIPE_PORT (12111),
# KSB_KRATOS_ADMIN_PORT (4434), KSB_KRATOS_PUBLIC_PORT (4433),
# KSB_APP_PORT (the example app, 3000; 0 leaves it out).
# KSB_DEV_VARS: the vars file to read instead of .dev.vars; KSB_PERSIST_TO:
# where local KV and Durable Objects persist (default .wrangler/state).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$KSB_ROOT"

WORKER_PORT="${KSB_PORT:-8787}"
STRIPE_PORT="${KSB_STRIPE_PORT:-12111}"
KRATOS_ADMIN_PORT="${KSB_KRATOS_ADMIN_PORT:-4434}"
KRATOS_PUBLIC_PORT="${KSB_KRATOS_PUBLIC_PORT:-4433}"
APP_PORT="${KSB_APP_PORT:-3000}"
WORKER_URL="http://127.0.0.1:$WORKER_PORT"
APP="http://127.0.0.1:$APP_PORT"

ensure_build_tools

DEV_VARS="${KSB_DEV_VARS:-.dev.vars}"
WRANGLER_ARGS=()
[ -z "${KSB_DEV_VARS:-}" ] || WRANGLER_ARGS+=(--env-file "$KSB_DEV_VARS")
[ -z "${KSB_PERSIST_TO:-}" ] || WRANGLER_ARGS+=(--persist-to "$KSB_PERSIST_TO")

# A value from the vars file (KEY=value or KEY="value"), empty when absent.
dev_var() {
  [ -f "$DEV_VARS" ] || return 0
  { grep -E "^$1[[:space:]]*=" "$DEV_VARS" || true; } | tail -n 1 | cut -d= -f2- | sed -e 's/^[[:space:]]*//' -e 's/^"\(.*\)"$/\1/'
}

# Local defaults for whatever .dev.vars does not set: default_<NAME>, one a
# line (.dev.vars.example holds the same values; tests/wrangler_config.rs
# checks that they agree).
default_STRIPE_SECRET_KEY=sk_test_emulator
default_STRIPE_WEBHOOK_SECRET=whsec_dev
default_KRATOS_WEBHOOK_SECRET=dev-kratos-hook-secret
default_BRIDGE_API_TOKEN=dev-bridge-token
VAR_ARGS=()
for name in STRIPE_SECRET_KEY STRIPE_WEBHOOK_SECRET KRATOS_WEBHOOK_SECRET BRIDGE_API_TOKEN; do
  default="default_$name"
  [ -n "$(dev_var "$name")" ] || VAR_ARGS+=(--var "$name:${!default}")
done
stripe_key="$(dev_var STRIPE_SECRET_KEY)"
webhook_secret="$(dev_var STRIPE_WEBHOOK_SECRET)"; webhook_secret="${webhook_secret:-$default_STRIPE_WEBHOOK_SECRET}"
hook_secret="$(dev_var KRATOS_WEBHOOK_SECRET)"; hook_secret="${hook_secret:-$default_KRATOS_WEBHOOK_SECRET}"
api_token="$(dev_var BRIDGE_API_TOKEN)"; api_token="${api_token:-$default_BRIDGE_API_TOKEN}"

if [ -n "$stripe_key" ] && [ "$stripe_key" != sk_test_emulator ]; then
  log "STRIPE_SECRET_KEY from .dev.vars: talking to the real Stripe API (test mode)"
  STRIPE_EMULATOR_PORT=0
else
  STRIPE_EMULATOR_PORT="$STRIPE_PORT"
  VAR_ARGS+=(--var "STRIPE_API_BASE:http://127.0.0.1:$STRIPE_PORT")
fi
if [ "$APP_PORT" != 0 ]; then
  [ -n "$(dev_var APP_URL)" ] || VAR_ARGS+=(--var "APP_URL:$APP")
  [ -n "$(dev_var PRICING_URL)" ] || VAR_ARGS+=(--var "PRICING_URL:$APP/pricing")
  [ -n "$(dev_var LOGIN_URL)" ] || VAR_ARGS+=(--var "LOGIN_URL:$APP/login")
fi
VAR_ARGS+=(--var "KRATOS_ADMIN_URL:http://127.0.0.1:$KRATOS_ADMIN_PORT")
VAR_ARGS+=(--var "KRATOS_PUBLIC_URL:http://127.0.0.1:$KRATOS_PUBLIC_PORT")

log "building the emulators"
cargo build --quiet -p ksb-emulators --bin ksb-emulators

PIDS=()
cleanup() {
  for p in ${PIDS[@]+"${PIDS[@]}"}; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

target/debug/ksb-emulators \
  --stripe-port "$STRIPE_EMULATOR_PORT" \
  --kratos-admin-port "$KRATOS_ADMIN_PORT" --kratos-public-port "$KRATOS_PUBLIC_PORT" \
  --worker-url "$WORKER_URL" \
  --stripe-webhook-secret "$webhook_secret" --kratos-webhook-secret "$hook_secret" \
  --kratos-registration-ui-url "$APP/registration" --kratos-return-url "$APP/" \
  --kratos-allowed-return-url "$WORKER_URL/" &
PIDS+=($!)

if [ "$APP_PORT" != 0 ]; then
  PORT="$APP_PORT" APP_URL="$APP" BRIDGE_URL="$WORKER_URL" KRATOS_PUBLIC_URL="http://127.0.0.1:$KRATOS_PUBLIC_PORT" \
    node examples/app/server.mjs &
  PIDS+=($!)
fi

cat >&2 <<TXT

  kratos-stripe-bridge is starting on $WORKER_URL  (Ctrl-C stops it)
  Stripe emulator: http://127.0.0.1:$STRIPE_EMULATOR_PORT   Kratos admin/public: :$KRATOS_ADMIN_PORT / :$KRATOS_PUBLIC_PORT
  Example app:     $APP  (open it in a browser: sign up, upgrade, pay in the Stripe emulator)

  Try it:
    curl $WORKER_URL/healthz
    # sign up a user in the Kratos emulator; its registration hook creates the Stripe customer
    curl -s -X POST http://127.0.0.1:$KRATOS_ADMIN_PORT/_emulator/flows/registration \\
         -d '{"traits":{"email":"ada@example.com","name":{"first":"Ada","last":"Lovelace"}}}'
    # the identity's plan (use the identity id printed above)
    curl -H "Authorization: Bearer $api_token" $WORKER_URL/v1/identities/<identity id>/entitlements

TXT

wrangler_env
# --test-scheduled: GET /__scheduled fires the cron (the reconciliation walk).
node_modules/.bin/wrangler dev --ip 127.0.0.1 --port "$WORKER_PORT" --test-scheduled "${VAR_ARGS[@]}" \
  ${WRANGLER_ARGS[@]+"${WRANGLER_ARGS[@]}"} &
PIDS+=($!)
# Until one of them exits, then stop the others (bash 3.2 has no `wait -n`;
# a background sleep keeps Ctrl-C and TERM prompt, as `wait` returns at once).
while :; do
  for p in "${PIDS[@]}"; do
    if ! kill -0 "$p" 2>/dev/null; then
      rc=0; wait "$p" || rc=$?
      exit "$rc"
    fi
  done
  sleep 1 &
  wait $! || true
done
