#!/usr/bin/env bash
# The benchmark suite (bench/README.md): builds what it needs into bench/.build/, runs every benchmark
# on Bun and Deno, writes JSON to bench/results/<timestamp>/ and prints one summary.
# Benchmarks REPORT numbers; they never fail on a time. This script exits non-zero only when a
# benchmark is broken (an exception, a wrong message count, zero messages, a stall).
# Usage: scripts/bench.sh [--short]      (--short: a few seconds per suite, for CI; full: ≤ ~10 min)
# Environment: PUSHWIRE_ZIG (zig binary), BENCH_SUITES (default "core,ceiling,client,sse,durable"),
#              BENCH_RUNTIMES (default "bun,deno"), BENCH_SSE_CLIENTS (default "1000,100").
# Charts: bench/charts.ts writes client-throughput.svg and sse-fanout.svg next to the JSON.
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

short=""
[ "${1:-}" = "--short" ] && short="--short"
suites=${BENCH_SUITES:-core,ceiling,client,sse,durable}
runtimes=${BENCH_RUNTIMES:-bun,deno}
log() { printf '[bench] %s\n' "$*" >&2; }
has_suite() { [[ ",$suites," == *",$1,"* ]]; }
has_runtime() { [[ ",$runtimes," == *",$1,"* ]]; }

export PATH="$root/node_modules/.bin:$PATH"
build="$root/bench/.build"
results="$root/bench/results/$(date -u +%Y%m%dT%H%M%SZ)${short:+-short}"
mkdir -p "$build" "$results"
failures=()
fail() { failures+=("$1"); log "FAILED: $1"; }

# --- build ----------------------------------------------------------------------------------------
# ReleaseFast into its own prefix, so the ReleaseSafe library the tests use (native/zig-out) is untouched.
zig_version=$(sed -n 's/.*minimum_zig_version = "\(.*\)".*/\1/p' native/build.zig.zon)
zig=${PUSHWIRE_ZIG:-$root/.toolchain/zig-$zig_version/ziglang/zig}
log "building libpushwire (ReleaseFast) into bench/.build/native"
(cd native && "$zig" build -Doptimize=ReleaseFast --prefix "$build/native") || { log "native build failed"; exit 1; }
export PUSHWIRE_LIB="$build/native/lib/libpushwire.so"
[ -f "$PUSHWIRE_LIB" ] || { log "no $PUSHWIRE_LIB after the build"; exit 1; }

log "building replay-server, publisher, c-consumer (gcc -O2)"
gcc -O2 -Wall -o "$build/replay-server" bench/replay-server/replay_server.c -lpthread || exit 1
gcc -O2 -Wall -o "$build/publisher" bench/replay-server/publisher.c -lpthread || exit 1
gcc -O2 -Wall -Inative/include -o "$build/c-consumer" bench/native/c_consumer.c \
  -L"$build/native/lib" -lpushwire -Wl,-rpath,"$build/native/lib" || exit 1

# --- core: bytes → Frames (mitata), both runtimes -----------------------------------------------------
if has_suite core; then
  if has_runtime bun; then
    log "core bench on Bun"
    bun bench/core.bench.ts $short --json "$results/core-bun.json" >"$results/core-bun.txt" || fail "core bench (bun)"
  fi
  if has_runtime deno; then
    log "core bench on Deno"
    deno run -A --node-modules-dir=manual bench/core.bench.ts $short --json "$results/core-deno.json" \
      >"$results/core-deno.txt" || fail "core bench (deno)"
  fi
fi

# --- ceiling: the same stream read from C through the ABI, and the pure-Zig bench if present ---------
if has_suite ceiling; then
  seconds=0.5; [ -n "$short" ] && seconds=0.2
  log "native ceiling (C caller through the ABI)"
  "$build/c-consumer" "$seconds" >"$results/c-consumer.jsonl" || fail "c-consumer"
  if [ -f native/src/bench.zig ]; then
    log "pure-Zig ceiling (zig build bench, ReleaseFast)"
    (cd native && "$zig" build bench -Doptimize=ReleaseFast --prefix "$build/native") >"$results/zig-bench.txt" 2>&1 ||
      fail "pure-Zig bench (zig build bench)"
  else
    echo "native/src/bench.zig not present: pure-Zig ceiling skipped" >"$results/zig-bench.txt"
  fi
fi

# --- client: replay server, real redis-server, latency -----------------------------------------------
if has_suite client; then
  log "client benches (replay server, redis-server, latency) on $runtimes"
  bun bench/client.bench.ts $short --runtimes "$runtimes" --out "$results/client.json" \
    >"$results/client.txt" || fail "client bench"
fi

# --- SSE fan-out ---------------------------------------------------------------------------------------
if has_suite sse; then
  if [ -f src/sse.ts ] && [ -f mod.ts ] && [ -f bench/sse.bench.ts ]; then
    # 1,000 streams first (memory per client is measured in the first run), then 100: the chart's
    # events/s against streams.
    sse_clients=${BENCH_SSE_CLIENTS:-1000,100}
    for runtime in bun deno; do
      has_runtime "$runtime" || continue
      log "SSE fan-out on $runtime ($sse_clients streams)"
      if [ "$runtime" = bun ]; then
        bun bench/sse.bench.ts $short --clients "$sse_clients" --json "$results/sse-bun.json" >"$results/sse-bun.txt" || fail "sse bench (bun)"
      else
        deno run -A --node-modules-dir=manual --v8-flags=--expose-gc bench/sse.bench.ts $short --clients "$sse_clients" \
          --json "$results/sse-deno.json" >"$results/sse-deno.txt" || fail "sse bench (deno)"
      fi
    done
  else
    log "SSE fan-out skipped (needs src/sse.ts, mod.ts and bench/sse.bench.ts)"
    echo "skipped: src/sse.ts or mod.ts not present in this checkout" >"$results/sse-skipped.txt"
  fi
fi

# --- durable channels: publish with history, replay ------------------------------------------------
if has_suite durable; then
  for runtime in bun deno; do
    has_runtime "$runtime" || continue
    log "durable channels on $runtime"
    if [ "$runtime" = bun ]; then
      bun bench/durable.bench.ts $short --json "$results/durable-bun.json" >"$results/durable-bun.txt" || fail "durable bench (bun)"
    else
      deno run -A --node-modules-dir=manual bench/durable.bench.ts $short --json "$results/durable-deno.json" \
        >"$results/durable-deno.txt" || fail "durable bench (deno)"
    fi
  done
fi

# --- summary and charts ----------------------------------------------------------------------------------
bun bench/summary.ts "$results" | tee "$results/summary.md" || fail "summary"
bun bench/charts.ts "$results" >&2 || fail "charts"
log "results in ${results#"$root"/}"
if [ "${#failures[@]}" -gt 0 ]; then
  log "${#failures[@]} benchmark(s) broken: ${failures[*]}"
  exit 1
fi
