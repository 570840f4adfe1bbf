// Client benchmarks: drives bench/client/run_one.ts once per (runtime, library, payload size) in a fresh
// process, against (1) bench/replay-server — client-bound, the subscriber is the only real cost —,
// (2) a real redis-server fed by bench/.build/publisher, and (3) a fixed-rate latency run.
// Rule: it REPORTS; it never asserts a time. A run that fails or receives nothing makes it exit non-zero.
// Usage (from the repo root, after scripts/bench.sh built bench/.build/):
//   bun bench/client.bench.ts [--short] [--suites replay,redis,latency] [--runtimes bun,deno]
//                             [--libraries a,b] [--sizes 16,256,4096,65536] [--resp2] [--out file.json]
//                             [--repeat N]  (replay and real-server runs per library and size; the
//                                            median is reported)
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { FLOOR_LIBRARIES, type LibraryName, librariesFor, PUSHWIRE_LIBRARIES } from "./client/receivers.ts";
import { type ClientResult, latencyTable, targetLines, throughputTable } from "./report.ts";
import { RedisServer } from "../tests/helpers/redis_server.ts";

const benchDirectory = dirname(fileURLToPath(import.meta.url));
const root = dirname(benchDirectory);
const buildDirectory = join(benchDirectory, ".build");

type Runtime = "bun" | "deno";
type Suite = "replay" | "redis" | "latency";

function flag(name: string): string | undefined {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? process.argv[index + 1] : undefined;
}
const short = process.argv.includes("--short");
const resp2 = process.argv.includes("--resp2");
const suites = (flag("suites") ?? "replay,redis,latency").split(",") as Suite[];
const runtimes = (flag("runtimes") ?? "bun,deno").split(",") as Runtime[];
const onlyLibraries = flag("libraries")?.split(",") as LibraryName[] | undefined;
const sizes = (flag("sizes") ?? "16,256,4096,65536").split(",").map(Number);
const outFile = flag("out") ?? join(benchDirectory, "results", `client-${new Date().toISOString().replace(/[:.]/g, "-")}.json`);

// Messages per run, sized so one run takes well under a few seconds on 2 cores even for the slowest
// peer (ioredis ~0.5M msgs/s at 16 B) and big payloads stay near 0.5 GB per run.
const REPLAY_COUNTS: Record<number, number> = short
  ? { 16: 100_000, 256: 50_000, 4096: 10_000, 65536: 1_000 }
  : { 16: 1_000_000, 256: 500_000, 4096: 100_000, 65536: 8_000 };
// A real server is slower than the replay server: fewer messages keep runs short.
const REDIS_COUNTS: Record<number, number> = short
  ? { 16: 50_000, 256: 30_000, 4096: 5_000, 65536: 500 }
  : { 16: 500_000, 256: 300_000, 4096: 50_000, 65536: 4_000 };
const countFor = (table: Record<number, number>, size: number) =>
  table[size] ?? Math.max(1_000, Math.round(16_000_000 / Math.max(16, size)));
const warmupFor = (count: number) => Math.max(1_000, Math.round(count / 10));
/**
 * Replay and real-server runs per (runtime, library, size), in rounds (every library once, then again), so a slow
 * moment of the machine hits all libraries alike; the run with the median msgs/s is reported. Single
 * runs of one library varied by ±15% here, and at 64 KiB on Bun every library's runs fall on two levels
 * about 2× apart (bench/README.md, Method): with 3 runs the median could be either.
 */
const REPEATS = Number(flag("repeat") ?? (short ? 1 : 5));
const LATENCY_RATE = 10_000;
const LATENCY_SECONDS = short ? 1 : 3;

function runtimeCommand(runtime: Runtime, script: string, args: string[]): [string, string[]] {
  if (runtime === "bun") return ["bun", [script, ...args]];
  return ["deno", ["run", "-A", "--node-modules-dir=manual", script, ...args]];
}

type RunResult = ClientResult & { runtime: Runtime; library: LibraryName };
const results: RunResult[] = [];
const failures: string[] = [];

async function runOne(runtime: Runtime, library: LibraryName, args: string[]): Promise<void> {
  const [command, commandArgs] = runtimeCommand(runtime, join(benchDirectory, "client", "run_one.ts"), [
    "--library", library, ...args,
  ]);
  const child = spawn(command, commandArgs, { cwd: root, stdio: ["ignore", "pipe", "pipe"], env: process.env });
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (chunk: Uint8Array) => (stdout += new TextDecoder().decode(chunk)));
  child.stderr!.on("data", (chunk: Uint8Array) => (stderr += new TextDecoder().decode(chunk)));
  const killer = setTimeout(() => child.kill("SIGKILL"), short ? 30_000 : 90_000);
  const code = await new Promise<number | null>((resolve) => child.once("close", (exitCode) => resolve(exitCode)));
  clearTimeout(killer);
  const line = stdout.split("\n").find((text) => text.startsWith("RESULT "));
  if (code !== 0 || !line) {
    const reason = `${runtime}/${library} ${args.join(" ")}: exit ${code}\n${stderr.trim().split("\n").slice(-8).join("\n")}`;
    failures.push(reason);
    console.error(`  FAILED ${reason}`);
    return;
  }
  const result = JSON.parse(line.slice(7)) as RunResult;
  results.push(result);
  console.error(`  ${describe(result)}`);
}

function describe(result: RunResult): string {
  const name = `${result.runtime}/${result.library}`.padEnd(24);
  if (result.mode === "latency") {
    return `${name} latency p50 ${fmtLocal(result.p50Us as number)} µs  p99 ${fmtLocal(result.p99Us as number)} µs`;
  }
  return `${name} ${String(result.payloadBytes).padStart(6)} B  ${fmtLocal((result.messagesPerSecond as number) / 1e6, 3)} M msgs/s  ` +
    `${fmtLocal(result.megabytesPerSecond as number)} MB/s  ${fmtLocal(result.cpuUsPerMessage as number, 3)} CPU µs/msg`;
}

function fmtLocal(value: number, digits = 1): string {
  return value === undefined || Number.isNaN(value) ? "-" : value.toFixed(digits);
}

// ---- servers ---------------------------------------------------------------------------------------------

async function startProcess(command: string, args: string[], ready: RegExp): Promise<{ child: ChildProcess; match: RegExpMatchArray }> {
  const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  return await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${command} did not start: ${output}`)), 5_000);
    const onData = (chunk: Uint8Array) => {
      output += new TextDecoder().decode(chunk);
      const match = output.match(ready);
      if (match) {
        clearTimeout(timer);
        resolve({ child, match });
      }
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.once("exit", (code) => reject(new Error(`${command} exited ${code}: ${output}`)));
  });
}

async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 3_000);
  await exited;
  clearTimeout(timer);
}

// pushwire's client (mod.ts) is required once it exists; before that its runs are skipped, loudly.
const pushwirePresent = existsSync(join(root, "mod.ts"));
if (!pushwirePresent) console.error("NOTE: mod.ts not found: pushwire runs skipped, peers only");

/**
 * Floors (socket-floor, socket-views) count fixed-length frames: they run on the replay server and on redis-server
 * (one channel, one payload size, so every frame is the same length there too), not in latency runs.
 */
function librariesOf(runtime: Runtime, withFloors = false): LibraryName[] {
  const all = librariesFor(runtime)
    .filter((name) => pushwirePresent || !PUSHWIRE_LIBRARIES.includes(name))
    .filter((name) => withFloors || !FLOOR_LIBRARIES.includes(name));
  return onlyLibraries ? all.filter((name) => onlyLibraries.includes(name)) : all;
}

/**
 * The order of round `round`: it starts one place further along the list each round, so over the
 * rounds no library always runs first, or always right after the same one (the server and the
 * machine carry state from one run into the next). Also used for the runtimes, which then alternate.
 */
function rotated<T>(items: readonly T[], round: number): T[] {
  const shift = items.length === 0 ? 0 : round % items.length;
  return [...items.slice(shift), ...items.slice(0, shift)];
}

async function replaySuite(): Promise<void> {
  console.error(`# replay server (client-bound), ${resp2 ? "RESP2" : "RESP3"}`);
  for (const size of sizes) {
    const count = countFor(REPLAY_COUNTS, size);
    const { child, match } = await startProcess(join(buildDirectory, "replay-server"), [
      "--port", "0", "--count", String(count), "--warmup-count", String(warmupFor(count)),
      "--payload-bytes", String(size), ...(resp2 ? ["--resp2"] : []),
    ], /PORT (\d+)/);
    try {
      for (let round = 0; round < REPEATS; round++) {
        for (const runtime of rotated(runtimes, round)) {
          for (const library of rotated(librariesOf(runtime, !resp2), round)) {
            if (resp2 && library === "bun-redis") continue;
            await runOne(runtime, library, [
              "--mode", "replay", "--url", `redis://127.0.0.1:${match[1]}`, "--count", String(count),
              "--warmup", String(warmupFor(count)), "--payload-bytes", String(size), "--protocol", resp2 ? "2" : "3",
            ]);
          }
        }
      }
    } finally {
      await stopProcess(child);
    }
  }
}

async function withRedis(body: (url: string, pid: number) => Promise<void>): Promise<void> {
  // The tests' helper: a random loopback port, tried again when it is taken (a bench that picked one
  // port once failed when that port was in use), and the server answering checked by its PID.
  // No output-buffer limit for subscribers: a slow subscriber must be measured, not disconnected.
  const server = await RedisServer.start({ args: ["--client-output-buffer-limit", "pubsub 0 0 0"] });
  try {
    await body(server.url, server.pid!);
  } finally {
    await server.stop();
  }
}

async function redisSuite(): Promise<void> {
  console.error("# real redis-server, pipelined C publisher");
  await withRedis(async (url, pid) => {
    for (const size of sizes) {
      const count = countFor(REDIS_COUNTS, size);
      for (let round = 0; round < REPEATS; round++) {
        for (const runtime of rotated(runtimes, round)) {
          for (const library of rotated(librariesOf(runtime, true), round)) {
            await runOne(runtime, library, [
              "--mode", "redis", "--url", url, "--count", String(count), "--warmup", String(warmupFor(count)),
              "--payload-bytes", String(size), "--publisher", join(buildDirectory, "publisher"),
              "--redis-pid", String(pid),
            ]);
          }
        }
      }
    }
  });
}

async function latencySuite(): Promise<void> {
  console.error(`# latency at ${LATENCY_RATE} msgs/s for ${LATENCY_SECONDS} s (+1 s warm-up), 16 B`);
  await withRedis(async (url) => {
    for (const runtime of runtimes) {
      for (const library of librariesOf(runtime)) {
        await runOne(runtime, library, [
          "--mode", "latency", "--url", url, "--rate", String(LATENCY_RATE), "--seconds", String(LATENCY_SECONDS),
          "--payload-bytes", "16",
        ]);
      }
    }
  });
}

const startedAt = Date.now();
for (const suite of suites) {
  if (suite === "replay") await replaySuite();
  else if (suite === "redis") await redisSuite();
  else if (suite === "latency") await latencySuite();
  else throw new Error(`unknown suite ${suite}`);
}
/**
 * One result per (mode, runtime, library, size): the median run, with every run's rate. Median by
 * msgs/s on the replay server (the subscriber is the limit there); by CPU µs/msg against redis-server,
 * whose rate is the server's, so what a run says about the subscriber is its CPU.
 */
function medianRuns(all: RunResult[]): RunResult[] {
  const groups = new Map<string, RunResult[]>();
  for (const result of all) {
    const key = `${result.mode}|${result.runtime}|${result.library}|${result.payloadBytes}`;
    groups.set(key, [...(groups.get(key) ?? []), result]);
  }
  return [...groups.values()].map((runs) => {
    const measure = (run: RunResult) => run.mode === "redis" ? run.cpuUsPerMessage as number : run.messagesPerSecond as number;
    const sorted = [...runs].sort((a, b) => measure(a) - measure(b));
    const median = sorted[Math.floor((sorted.length - 1) / 2)];
    return {
      ...median,
      runs: runs.length,
      runRates: runs.map((run) => Math.round(run.messagesPerSecond as number)),
      // In round order (run i of every library is round i): report.ts pairs them round by round.
      runCpu: runs.map((run) => run.cpuUsPerMessage as number),
    };
  });
}

const reported = medianRuns(results);
mkdirSync(dirname(outFile), { recursive: true });
writeFileSync(
  outFile,
  JSON.stringify({ short, resp2, repeats: REPEATS, startedAt: new Date(startedAt).toISOString(), results: reported, allRuns: results, failures }, null, 2),
);
console.log(`## replay server (client-bound), median of ${REPEATS} run(s)\n` + throughputTable(reported, "replay"));
console.log("\n## real redis-server\n" + throughputTable(reported, "redis"));
console.log("\n## latency\n" + latencyTable(reported));
console.log("\n## targets (msgs/s: replay runs; CPU: redis-server runs)\n" + targetLines(reported));
console.log(`\n${results.length} runs in ${((Date.now() - startedAt) / 1000).toFixed(1)} s; results: ${outFile}`);
if (failures.length || results.length === 0) {
  console.error(`${failures.length} run(s) failed:\n${failures.join("\n")}`);
  process.exit(1);
}
