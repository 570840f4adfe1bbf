#!/usr/bin/env bash
# Idempotent set-up for a fresh Debian machine that has only Node/npm, Python/pip and apt.
# Installs, skipping what is already present:
#   Zig         from PyPI (ziglang), version pinned once in native/build.zig.zon (.minimum_zig_version)
#   Bun, Deno   from npm, exact versions pinned once in package.json devDependencies (+ package-lock.json)
#   redis-server from Debian (Valkey has no Debian package here; the protocol is the same)
# then builds the native library. Never downloads a binary from anywhere but those registries.
# Usage: scripts/setup.sh [--with-browser]   (--with-browser also installs Debian's chromium for tests)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

log() { printf '[setup] %s\n' "$*" >&2; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

apt_updated=0
apt_install() {
  if [ "$apt_updated" -eq 0 ]; then as_root apt-get update -qq >&2; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "$@" >&2
}

# --- Zig (PyPI) -------------------------------------------------------------------------------
zig_version=$(sed -n 's/.*minimum_zig_version = "\(.*\)".*/\1/p' native/build.zig.zon)
[ -n "$zig_version" ] || { log "cannot read .minimum_zig_version from native/build.zig.zon"; exit 1; }
zig_dir="$root/.toolchain/zig-$zig_version"
if [ ! -x "$zig_dir/ziglang/zig" ] || [ "$("$zig_dir/ziglang/zig" version)" != "$zig_version" ]; then
  log "installing ziglang==$zig_version from PyPI into $zig_dir"
  rm -rf "$zig_dir"
  python3 -m pip install --quiet --disable-pip-version-check --no-warn-script-location \
    --target "$zig_dir" "ziglang==$zig_version" >&2
fi

# --- Bun and Deno (npm) -----------------------------------------------------------------------
lock_stamp="node_modules/.pushwire-lock"
if [ ! -x node_modules/.bin/bun ] || [ ! -x node_modules/.bin/deno ] || ! cmp -s package-lock.json "$lock_stamp"; then
  # `npm install` (not `npm ci`): npm 11 leaves deno's other-platform optional packages out of the
  # lock and then `npm ci` refuses it as "out of sync"; `npm install` honours the lock as it is.
  log "installing npm devDependencies (bun, deno, ...) from package-lock.json"
  npm install --no-audit --no-fund --loglevel=error >&2
  cp package-lock.json "$lock_stamp"
fi

# --- redis-server (Debian) ----------------------------------------------------------------------
if ! command -v redis-server >/dev/null 2>&1; then
  log "installing redis-server from Debian"
  apt_install redis-server redis-tools
fi

# --- Chromium for the browser test (Debian; optional) ------------------------------------------
if [ "${1:-}" = "--with-browser" ] && [ ! -x /usr/bin/chromium ]; then
  log "installing chromium from Debian (browser test)"
  apt_install chromium
fi

# --- native library -------------------------------------------------------------------------------
# ReleaseSafe: the tests run with Zig's safety checks on (bounds, overflow, double free detection).
optimize=${PUSHWIRE_OPTIMIZE:-ReleaseSafe}
(cd native && "$zig_dir/ziglang/zig" build -Doptimize="$optimize" >&2)

# Print the environment for callers: `eval "$(scripts/setup.sh)"`.
printf 'export PATH=%q:%q:$PATH\n' "$zig_dir/ziglang" "$root/node_modules/.bin"
printf 'export PUSHWIRE_ZIG=%q\n' "$zig_dir/ziglang/zig"
