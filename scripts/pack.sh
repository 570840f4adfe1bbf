#!/usr/bin/env bash
# Builds the npm tarball of pushwire with a prebuilt libpushwire for every shipped target:
#   1. `zig build prebuilt` (ReleaseFast, stripped) — skipped when every library is newer than
#      native/src, build.zig and build.zig.zon (PUSHWIRE_PACK_REBUILD=1 forces it; Zig's own cache
#      makes a forced run cheap when nothing changed);
#   2. scripts/pack-stage.ts copies what package.json `files` selects plus the libraries (renamed to
#      the loader's prebuilt/<os>-<arch>[-musl]/ folders) into a temporary staging directory, after
#      checking each library's format, machine and exported pw_* symbols;
#   3. `npm pack` there, then a check of the tarball's file list (nothing from tests/, bench/, the
#      Zig sources or build outputs; every target present).
# The checkout itself gets no prebuilt/ folder: the loader would prefer it over native/zig-out and
# every other test in the checkout would silently switch to the ReleaseFast libraries.
# Usage: scripts/pack.sh [--out DIR]  (default: a new temporary directory). Prints the file list and
# size on stderr, and the tarball's absolute path as the last line on stdout.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
export PATH="$root/node_modules/.bin:$PATH"

out=""
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out="$2"; shift 2 ;;
    *) echo "usage: scripts/pack.sh [--out DIR]" >&2; exit 2 ;;
  esac
done
[ -n "$out" ] || out=$(mktemp -d "${TMPDIR:-/tmp}/pushwire-pack.XXXXXX")
mkdir -p "$out"
out=$(cd "$out" && pwd)

log() { printf '[pack] %s\n' "$*" >&2; }

# --- 1. prebuilt libraries ---------------------------------------------------------------------
zig_version=$(sed -n 's/.*minimum_zig_version = "\(.*\)".*/\1/p' native/build.zig.zon)
zig=${PUSHWIRE_ZIG:-$root/.toolchain/zig-$zig_version/ziglang/zig}
[ -x "$zig" ] || zig=$(command -v zig || true)
[ -n "$zig" ] || { log "no zig: run scripts/setup.sh or set PUSHWIRE_ZIG"; exit 1; }

prebuilt=native/zig-out/prebuilt
libraries=(
  x86_64-linux-gnu/libpushwire.so aarch64-linux-gnu/libpushwire.so
  x86_64-linux-musl/libpushwire.so aarch64-linux-musl/libpushwire.so
  x86_64-macos/libpushwire.dylib aarch64-macos/libpushwire.dylib
  x86_64-windows/pushwire.dll
)
stale=""
[ -n "${PUSHWIRE_PACK_REBUILD:-}" ] && stale="forced by PUSHWIRE_PACK_REBUILD"
for library in "${libraries[@]}"; do
  [ -n "$stale" ] && break
  if [ ! -f "$prebuilt/$library" ]; then
    stale="$prebuilt/$library is missing"
  elif [ -n "$(find native/src native/build.zig native/build.zig.zon -newer "$prebuilt/$library" -print -quit)" ]; then
    stale="native sources are newer than $prebuilt/$library"
  fi
done
if [ -n "$stale" ]; then
  log "zig build prebuilt ($stale)"
  started=$SECONDS
  (cd native && "$zig" build prebuilt >&2)
  log "zig build prebuilt took $((SECONDS - started)) s"
else
  log "prebuilt libraries are up to date (newer than native/src)"
fi

# --- 2. staging --------------------------------------------------------------------------------
staging=$(mktemp -d "${TMPDIR:-/tmp}/pushwire-stage.XXXXXX")
trap 'rm -rf "$staging"' EXIT
if command -v bun >/dev/null 2>&1; then
  bun scripts/pack-stage.ts "$staging/package"
else
  deno run -A --no-check scripts/pack-stage.ts "$staging/package"
fi

# --- 3. npm pack + tarball check ----------------------------------------------------------------
# npm prints the contents and sizes ("npm notice ...") on stderr; stdout is the tarball's name.
tarball_name=$(cd "$staging/package" && npm pack --ignore-scripts --pack-destination "$out" | tail -1)
tarball="$out/$tarball_name"
[ -f "$tarball" ] || { log "npm pack produced no $tarball"; exit 1; }

listing=$(tar -tzf "$tarball")
forbidden=$(grep -E '^package/(tests|bench|scripts|examples|native/src|native/zig-out|native/\.zig-cache|node_modules|\.github|\.toolchain)/' <<<"$listing" || true)
if [ -n "$forbidden" ]; then
  log "the tarball contains files that must not ship:"; printf '  %s\n' $forbidden >&2; exit 1
fi
for folder in linux-x64 linux-arm64 linux-x64-musl linux-arm64-musl darwin-x64 darwin-arm64 windows-x64; do
  grep -qE "^package/prebuilt/$folder/(libpushwire\.(so|dylib)|pushwire\.dll)$" <<<"$listing" ||
    { log "the tarball has no library in prebuilt/$folder/"; exit 1; }
done
log "tarball: $tarball ($(stat -c %s "$tarball" 2>/dev/null || stat -f %z "$tarball") bytes, $(wc -l <<<"$listing") files)"
echo "$tarball"
