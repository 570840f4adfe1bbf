#!/usr/bin/env bash
# The API reference as HTML, generated from the JSDoc of every public entry point (the `exports` of
# deno.json: pushwire, pushwire/sse, pushwire/otel) with `deno doc --html`, into docs/api/ (git-ignored:
# generated, never committed). Open docs/api/index.html afterwards.
# Usage: scripts/docs.sh [output directory]   (runs set-up first if Deno is not installed yet)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
out=${1:-docs/api}
if [ ! -x node_modules/.bin/deno ]; then eval "$(bash scripts/setup.sh)"; fi
export PATH="$root/node_modules/.bin:$PATH"

# The entry points, read from deno.json so a new one is documented without touching this script.
mapfile -t entries < <(deno run --quiet --allow-read scripts/entry_points.ts)
[ "${#entries[@]}" -gt 0 ] || { echo "[docs] no exports in deno.json" >&2; exit 1; }
# Replace only what this script made before (its marker), never a folder of something else.
if [ -d "$out" ] && [ -n "$(ls -A "$out")" ]; then
  [ -f "$out/.pushwire-docs" ] || { echo "[docs] $out exists and was not made by scripts/docs.sh: not replacing it" >&2; exit 1; }
  rm -rf "$out"
fi
name=$(deno eval --quiet 'console.log(JSON.parse(Deno.readTextFileSync("deno.json")).name)')
deno doc --html --name="$name" --output="$out" "${entries[@]}" >&2
touch "$out/.pushwire-docs"
echo "[docs] ${entries[*]} → $out/index.html" >&2
