#!/usr/bin/env bash
# The whole test suite, as the README gives it: set-up (idempotent), the Zig unit tests, then every
# tests/**/*.test.ts under Bun AND under Deno, then the benchmarks in short mode (a broken benchmark
# fails the suite; benchmarks report numbers, they never assert timings).
# Ends with one line: "N passed, N failed" (the sum of every step). Exit status 0 only when nothing failed;
# with CI=true (.ci/run's environment) a file the set-up or the run leaves behind that git shows, and did
# not show before, fails.
# Env: PUSHWIRE_SERVER=redis|valkey|both (default both) picks the servers; PUSHWIRE_TEST_LANES=1 runs
#      the server passes one at a time (default: a Bun lane and a Deno lane side by side); PUSHWIRE_TEST_FILTER=<path
#      prefix under tests/> runs a subset; PUSHWIRE_SKIP_BENCH=1 skips benches; PUSHWIRE_SOAK=1 enables
#      the long soak tests (CI sets it).
# Which tests need a server is decided by their folder under tests/: the folders in `once_folders`
# (unit, native, packaging) run once per runtime; EVERY OTHER folder (integration, faults, sse, cluster,
# smoke, browser, sentinel, any new one) starts servers and runs once per runtime and per server, with
# PUSHWIRE_TEST_SERVER set for tests/helpers/server_kind.ts. The Zig tests, deno check, deno lint,
# deno doc --lint, the JSDoc examples, the benchmarks and the once-folders run once (their few servers:
# the first one picked).
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
export NO_COLOR=1 FORCE_COLOR=0

# A clean checkout stays clean: what git shows before the set-up, to compare with after the run.
git_dirt() { git status --porcelain --untracked-files=all 2>/dev/null | sort; }
dirt_before=$(git_dirt)

env_lines=$(scripts/setup.sh --with-browser) || { echo "setup failed"; echo "0 passed, 1 failed"; exit 1; }
eval "$env_lines"

passed=0
failed=0
log_dir="$root/tests/output/logs"
mkdir -p "$log_dir"
filter="${PUSHWIRE_TEST_FILTER:-}"
once_folders="unit native packaging"

case "${PUSHWIRE_SERVER:-both}" in
  both) servers="redis valkey" ;;
  redis | valkey) servers=$PUSHWIRE_SERVER ;;
  *) echo "PUSHWIRE_SERVER must be redis, valkey or both (got ${PUSHWIRE_SERVER})"; echo "0 passed, 1 failed"; exit 1 ;;
esac
first_server=${servers%% *}

count() { # $1 = step name, $2 = passed, $3 = failed
  printf '== %-28s %5s passed, %s failed\n' "$1" "$2" "$3"
  passed=$((passed + $2))
  failed=$((failed + $3))
}

# --- Zig unit tests --------------------------------------------------------------------------------
if [ -z "$filter" ]; then
  zig_log="$log_dir/zig.log"
  (cd native && zig build test --summary all) >"$zig_log" 2>&1
  zig_status=$?
  # "Build Summary: ... N/M tests passed" or "... N passed; M failed" depending on the outcome.
  zig_total=$(grep -oE '[0-9]+/[0-9]+ tests passed' "$zig_log" | tail -1)
  if [ -n "$zig_total" ]; then
    zig_passed=${zig_total%%/*}
    zig_all=${zig_total#*/}; zig_all=${zig_all%% *}
    count "zig build test" "$zig_passed" "$((zig_all - zig_passed))"
  else
    zig_passed=$(grep -oE '[0-9]+ passed' "$zig_log" | tail -1 | grep -oE '[0-9]+' || echo 0)
    zig_failed=$(grep -oE '[0-9]+ failed' "$zig_log" | tail -1 | grep -oE '[0-9]+' || echo 0)
    [ "$zig_status" -ne 0 ] && [ "${zig_failed:-0}" -eq 0 ] && zig_failed=1
    count "zig build test" "${zig_passed:-0}" "${zig_failed:-0}"
  fi
  [ "$zig_status" -ne 0 ] && tail -40 "$zig_log"
fi

# --- Type check (Deno's TypeScript; the same sources Bun runs) -------------------------------------------
if [ -z "$filter" ]; then
  check_log="$log_dir/deno-check.log"
  if deno check mod.ts src/ tests/ bench/ examples/ scripts/ >"$check_log" 2>&1; then count "deno check" 1 0
  else count "deno check" 0 1; sed 's/\x1b\[[0-9;]*m//g' "$check_log" | grep -A4 -E 'TS[0-9]+' | head -30; fi
fi

# --- Lint (deno lint: the same sources; a finding fails the suite) -----------------------------------------
if [ -z "$filter" ]; then
  lint_log="$log_dir/deno-lint.log"
  if deno lint >"$lint_log" 2>&1; then count "deno lint" 1 0
  else count "deno lint" 0 1; sed 's/\x1b\[[0-9;]*m//g' "$lint_log" | tail -30; fi
fi

# --- API docs (deno doc --lint over every entry point of deno.json "exports": every export documented,
# no public type that refers to one the entry points do not export; JSR scores the package on it) --------
if [ -z "$filter" ]; then
  doc_log="$log_dir/deno-doc-lint.log"
  mapfile -t entries < <(deno run --quiet --allow-read scripts/entry_points.ts 2>"$doc_log")
  if [ "${#entries[@]}" -gt 0 ] && deno doc --lint "${entries[@]}" >>"$doc_log" 2>&1; then count "deno doc --lint" 1 0
  else
    count "deno doc --lint" 0 1
    doc_findings=$(sed 's/\x1b\[[0-9;]*m//g' "$doc_log")
    grep -v -E '^error\[|^ *(-->|\||[0-9]+ \||=|info:|Stack|[0-9]+: )|^$' <<<"$doc_findings" | head -5 # the total, or why it did not run
    grep -E '^error\[|^ *-->' <<<"$doc_findings" | head -40
  fi
fi

# --- JSDoc examples (deno check --doc-only: every ```ts block in the JSDoc of mod.ts and src/ compiles,
# importing the package as its users do, "pushwire", "pushwire/sse", ..., through an import map of the
# entry points; blocks marked `ts ignore` are skipped: the Bun.serve ones, as Bun's types are not
# installed for Deno's checker) ----------------------------------------------------------------------
if [ -z "$filter" ]; then
  examples_log="$log_dir/doc-examples.log"
  import_map="$log_dir/doc-examples.importmap.json"
  if deno run --quiet --allow-read scripts/entry_points.ts --import-map >"$import_map" 2>"$examples_log" &&
    deno check --quiet --import-map="$import_map" --doc-only mod.ts src/ >>"$examples_log" 2>&1; then
    count "JSDoc examples" 1 0
  else count "JSDoc examples" 0 1; sed 's/\x1b\[[0-9;]*m//g' "$examples_log" | grep -v '^Check ' | head -30; fi
fi

# --- TypeScript tests, both runtimes (and every server for the server folders) ---------------------
# Test folders split by the rule above; a filter selects within them.
once_roots=()
server_roots=()
for folder in tests/*/; do
  folder=${folder%/}
  name=${folder#tests/}
  ls "$folder"/*.test.ts >/dev/null 2>&1 || continue # helpers, output: no tests
  if [ -n "$filter" ] && [[ "$name/" != "${filter%%/*}/"* ]]; then continue; fi
  root=$folder
  [ -n "$filter" ] && root="tests/$filter"
  if [[ " $once_folders " == *" $name "* ]]; then once_roots+=("./$root"); else server_roots+=("./$root"); fi
done

# A pass writes its log and, beside it, its exit status; counting reads both afterwards, so passes
# can run side by side (below) and still print in a fixed order.
bun_pass() { # $1 = label, $2 = server, then test roots
  local label=$1 server=$2 log="$log_dir/bun-$1.log"
  shift 2
  PUSHWIRE_TEST_SERVER=$server bun test --timeout 60000 "$@" >"$log" 2>&1
  echo $? >"$log.status"
}

deno_pass() { # $1 = label, $2 = server, then test roots
  local label=$1 server=$2 log="$log_dir/deno-$1.log"
  shift 2
  PUSHWIRE_TEST_SERVER=$server deno test -A --no-check --quiet "$@" >"$log" 2>&1
  echo $? >"$log.status"
}

count_bun() { # $1 = label
  local log="$log_dir/bun-$1.log" status bun_passed bun_failed
  status=$(cat "$log.status" 2>/dev/null || echo 1)
  bun_passed=$(grep -E '^ *[0-9]+ pass$' "$log" | tail -1 | grep -oE '[0-9]+' || echo 0)
  bun_failed=$(grep -E '^ *[0-9]+ fail$' "$log" | tail -1 | grep -oE '[0-9]+' || echo 0)
  [ "$status" -ne 0 ] && [ "${bun_failed:-0}" -eq 0 ] && bun_failed=1
  count "bun test ($1)" "${bun_passed:-0}" "${bun_failed:-0}"
  [ "$status" -ne 0 ] && grep -E '^\(fail\)|error:|Error' "$log" | head -40
}

count_deno() { # $1 = label
  local log="$log_dir/deno-$1.log" status summary deno_passed deno_failed
  status=$(cat "$log.status" 2>/dev/null || echo 1)
  # Deno colours its summary even with NO_COLOR when it thinks it writes to a terminal: strip ANSI codes.
  summary=$(sed 's/\x1b\[[0-9;]*m//g' "$log" | grep -E '^(ok|FAILED) \| [0-9]+ passed' | tail -1)
  deno_passed=$(echo "$summary" | grep -oE '[0-9]+ passed' | grep -oE '[0-9]+' || echo 0)
  deno_failed=$(echo "$summary" | grep -oE '[0-9]+ failed' | grep -oE '[0-9]+' || echo 0)
  [ "$status" -ne 0 ] && [ "${deno_failed:-0}" -eq 0 ] && deno_failed=1
  count "deno test ($1)" "${deno_passed:-0}" "${deno_failed:-0}"
  [ "$status" -ne 0 ] && sed 's/\x1b\[[0-9;]*m//g' "$log" | grep -E 'FAILED|=> |error:' | head -40
}

if [ "${#once_roots[@]}" -gt 0 ]; then
  bun_pass once "$first_server" "${once_roots[@]}"; count_bun once
  deno_pass once "$first_server" "${once_roots[@]}"; count_deno once
fi
if [ "${#server_roots[@]}" -gt 0 ]; then
  present=()
  for server in $servers; do
    if command -v "$server-server" >/dev/null 2>&1; then present+=("$server"); continue; fi
    count "$server-server" 0 1
    echo "$server-server is not installed (scripts/setup.sh installs it; PUSHWIRE_SERVER picks the servers)"
  done
  # The server passes are two lanes side by side, one per runtime (each goes through the servers in
  # turn): most of a pass is waiting on servers, timers and failovers (a whole run uses about half of
  # one core), so on two cores two lanes take the time of one. PUSHWIRE_TEST_LANES=1 runs them one
  # after another. Each test starts its own servers on random ports, so lanes share nothing.
  if [ "${PUSHWIRE_TEST_LANES:-2}" = "1" ]; then
    for server in "${present[@]}"; do
      bun_pass "$server" "$server" "${server_roots[@]}"
      deno_pass "$server" "$server" "${server_roots[@]}"
    done
  else
    (for server in "${present[@]}"; do bun_pass "$server" "$server" "${server_roots[@]}"; done) &
    bun_lane=$!
    (for server in "${present[@]}"; do deno_pass "$server" "$server" "${server_roots[@]}"; done) &
    deno_lane=$!
    wait "$bun_lane" "$deno_lane"
  fi
  for server in "${present[@]}"; do count_bun "$server"; count_deno "$server"; done
fi

# --- Benchmarks, short mode ------------------------------------------------------------------------------
if [ -z "$filter" ] && [ -z "${PUSHWIRE_SKIP_BENCH:-}" ] && [ -x scripts/bench.sh ]; then
  bench_log="$log_dir/bench.log"
  if scripts/bench.sh --short >"$bench_log" 2>&1; then count "bench --short" 1 0
  else count "bench --short" 0 1; tail -30 "$bench_log"; fi
fi

# --- Clean checkout: the set-up and the run leave nothing git would show (outputs go to ignored folders) ----
if git rev-parse --git-dir >/dev/null 2>&1; then
  new_dirt=$(comm -13 <(printf '%s\n' "$dirt_before") <(git_dirt) | sed '/^$/d')
  if [ -z "$new_dirt" ]; then count "clean checkout" 1 0
  elif [ "${CI:-}" = "true" ]; then
    count "clean checkout" 0 1; echo "the run left files git shows (ignore them or stop writing them):"; echo "$new_dirt" | head -20
  else
    # Outside CI an edit made while the suite ran shows here too: say it, fail only in CI's fresh clone.
    echo "== clean checkout: not clean (a failure under CI=true; edits made during the run show here too):"
    echo "$new_dirt" | head -20
  fi
fi

echo "logs: $log_dir"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
