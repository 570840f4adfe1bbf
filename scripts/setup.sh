#!/usr/bin/env bash
# Idempotent set-up for a fresh Debian machine that has only Node/npm, Python/pip and apt.
# Installs, skipping what is already present:
#   Zig         from PyPI (ziglang), version pinned once in native/build.zig.zon (.minimum_zig_version)
#   Bun, Deno   from npm, exact versions pinned once in package.json devDependencies (+ package-lock.json)
#   redis-server   from Debian (7.0, bookworm)
#   valkey-server  from Debian's bookworm-backports (8.0.1), added on the machine's own Debian mirror and
#                  pinned there by scripts/backports-source.sh (trixie's 8.1 needs a newer libc)
# then builds the native library. Never downloads a binary from anywhere but those registries.
# The servers' Debian packages start a service on port 6379 when installed; set-up keeps them from it
# (policy-rc.d, see apt_install): the tests and the demo start their own servers on random ports.
# Usage: scripts/setup.sh [--with-browser]   (--with-browser also installs Debian's chromium for tests)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

log() { printf '[setup] %s\n' "$*" >&2; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

apt_updated=0
# policy-rc.d answering 101 ("action forbidden") is how Debian lets an installer say "start no
# service" (invoke-rc.d and deb-systemd-invoke ask it). One is put in place for the install only,
# unless the machine has its own (containers usually do); the package's unit stays enabled for boot.
policy_rc=/usr/sbin/policy-rc.d
placed_policy=0
remove_placed_policy() { if [ "$placed_policy" -eq 1 ]; then as_root rm -f "$policy_rc"; placed_policy=0; fi; }
trap remove_placed_policy EXIT
apt_install() { # [-t suite] package...
  if [ "$apt_updated" -eq 0 ]; then as_root apt-get update -qq >&2; apt_updated=1; fi
  if [ ! -e "$policy_rc" ]; then
    printf '#!/bin/sh\n# pushwire scripts/setup.sh: no service starts while it installs packages\nexit 101\n' |
      as_root tee "$policy_rc" >/dev/null
    as_root chmod 755 "$policy_rc"
    placed_policy=1
  fi
  local status=0
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "$@" >&2 || status=$?
  remove_placed_policy
  return "$status"
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

# --- valkey-server (Debian bookworm-backports) -----------------------------------------------------
# Before redis-server: on a fresh machine the new source is then read by the one apt-get update.
if ! command -v valkey-server >/dev/null 2>&1; then
  codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
  if [ "$codename" != bookworm ]; then
    log "valkey-server is missing and this is not Debian bookworm (${codename:-unknown}): install valkey-server 8"
    log "yourself; until then PUSHWIRE_SERVER=redis runs the tests on redis-server alone"
  elif ! added=$(as_root bash scripts/backports-source.sh /etc/apt); then
    log "valkey-server not installed: no Debian bookworm source to add bookworm-backports next to"
  else
    log "installing valkey-server and valkey-tools from bookworm-backports"
    if [ -n "$added" ]; then apt_updated=0; fi # a new source is read only after an apt-get update
    apt_install -t bookworm-backports valkey-server valkey-tools
  fi
elif ! valkey-server --version | grep -q ' v=8\.0\.'; then
  log "note: $(valkey-server --version | cut -d' ' -f1-3) is installed; the tests expect Valkey 8.0 (left as it is)"
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
