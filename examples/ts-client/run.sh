#!/usr/bin/env bash
# Generates the bridge's client types from its OpenAPI document, type-checks
# this example against them, bundles it and runs it against a bridge.
#   OPENAPI     the document: a file or a URL (default: docs/openapi.json,
#               the file the worker serves at /openapi.json)
#   OUT         where the bundle goes (default: a temporary folder)
#   BRIDGE_URL, BRIDGE_API_TOKEN, IDENTITY_ID, SESSION_TOKEN: see src/main.ts
# CHECK_ONLY=1 stops after the type check.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
bin="$root/node_modules/.bin"
[ -x "$bin/openapi-typescript" ] || { echo "run npm ci in $root first" >&2; exit 1; }

mkdir -p "$here/generated"
"$bin/openapi-typescript" "${OPENAPI:-$root/docs/openapi.json}" -o "$here/generated/bridge-api.d.ts" --silent
"$bin/tsc" -p "$here/tsconfig.json"
[ "${CHECK_ONLY:-0}" = 1 ] && exit 0

out="${OUT:-$(mktemp -d)}"
"$bin/esbuild" "$here/src/main.ts" --bundle --platform=node --format=esm --target=node20 \
  --log-level=warning --outfile="$out/ts-client.mjs"
node "$out/ts-client.mjs"
