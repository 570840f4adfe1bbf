#!/usr/bin/env bash
# The main job: set up (idempotent), then run the SSE demo server. With no VALKEY_URL it starts a local
# valkey-server (redis-server when valkey-server is not installed) on a free loopback port itself and
# stops it on exit (examples/sse-demo/local_server.ts).
# Env: PUSHWIRE_RUNTIME=bun|deno (default bun), PORT (default 8080), VALKEY_URL (optional).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
eval "$(scripts/setup.sh)"
case "${PUSHWIRE_RUNTIME:-bun}" in
  bun) exec bun examples/sse-demo/server.ts ;;
  deno) exec deno run -A examples/sse-demo/server.ts ;;
  *) echo "PUSHWIRE_RUNTIME must be bun or deno" >&2; exit 2 ;;
esac
