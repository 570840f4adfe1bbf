// SSE fan-out bench: one Valkey/Redis channel → `--clients` streaming HTTP clients, through one pushwire
// client (one server subscription, refcounted) and `sse()` on Bun.serve or Deno.serve (this process).
// Method: a real redis-server; readers in a second process (bench/sse/readers.ts, raw sockets, run by
// Bun for both servers) so their memory and CPU are not ours; memory per client = (RSS and JS heap
// after every reader is connected and idle − before), after a forced GC, measured in the first
// configuration only; then bench/.build/publisher publishes at a fixed
// rate for a few seconds and we report events/s delivered to the readers and how many were lost.
// Configurations (full run): 100 msgs/s, the same with `coalesceMs: 50` (events held ≤ 50 ms and
// written as one chunk: fewer writes for the same events), 1,000 and 2,000 msgs/s; each for every
// count in `--clients` (a list: 1000,100 runs them all at 1,000 streams, then at 100 — the first is the
// one memory per client is measured in), so bench/charts.ts can draw events/s against streams.
// Rule: reports only; exits non-zero when the bench itself breaks (no events, a crash).
// Usage: bun bench/sse.bench.ts [--short] [--clients 1000[,100...]] [--json out.json]
//        deno run -A --v8-flags=--expose-gc bench/sse.bench.ts ...
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { connect } from "../mod.ts";
import { sse } from "../src/sse.ts";
import { RedisServer } from "../tests/helpers/redis_server.ts";

// deno-lint-ignore no-explicit-any
type Any = any;
const benchDirectory = dirname(fileURLToPath(import.meta.url));
const argument = (name: string, fallback: string) => {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? process.argv[index + 1] : fallback;
};
const short = process.argv.includes("--short");
const clientCounts = argument("clients", "1000").split(",").map(Number);
if (clientCounts.some((count) => !Number.isSafeInteger(count) || count < 1)) throw new Error("--clients: positive integers, comma-separated");
let clients = clientCounts[0];
const jsonOut = process.argv.includes("--json") ? argument("json", "") : undefined;
const seconds = short ? 2 : 5;
/** (published msgs/s, sse() coalesceMs) per run. */
const configurations: { rate: number; coalesceMs: number }[] = short
  ? [{ rate: 100, coalesceMs: 0 }]
  : [{ rate: 100, coalesceMs: 0 }, { rate: 100, coalesceMs: 50 }, { rate: 1000, coalesceMs: 0 }, { rate: 2000, coalesceMs: 0 }];
let coalesceMs = 0;
const payloadBytes = 64;
const CHANNEL = "sse:events";
const bun: Any = (globalThis as Any).Bun;
const deno: Any = (globalThis as Any).Deno;
const runtime = bun ? "bun" : "deno";

function collectGarbage(): void {
  if (bun) bun.gc(true);
  else if (typeof (globalThis as Any).gc === "function") (globalThis as Any).gc();
}
function memory(): { rss: number; heapUsed: number } {
  collectGarbage();
  const usage = process.memoryUsage();
  return { rss: usage.rss, heapUsed: usage.heapUsed };
}
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const redis = await RedisServer.start({ args: ["--client-output-buffer-limit", "pubsub 0 0 0"] });
const client: Any = await connect(redis.url, { reconnect: false });
const handler = (request: Request) =>
  sse(client.subscribe(CHANNEL), { signal: request.signal, heartbeatMs: 0, coalesceMs });

let port: number;
let stopServer: () => Promise<void>;
if (bun) {
  const server = bun.serve({ hostname: "127.0.0.1", port: 0, idleTimeout: 0, fetch: handler });
  port = server.port;
  stopServer = () => Promise.resolve(server.stop(true));
} else {
  const server = deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, handler);
  port = server.addr.port;
  stopServer = async () => {
    await server.shutdown();
  };
}

function startReaders(expect: number): { ready: Promise<void>; result: Promise<Any> } {
  const script = join(benchDirectory, "sse", "readers.ts");
  const args = ["--url", `http://127.0.0.1:${port}/events`, "--clients", String(clients), "--expect", String(expect),
    "--deadline-ms", String((seconds + 5) * 1000)];
  // The readers are the measuring instrument, not the thing measured: always Bun's, for both servers.
  // With Deno's readers the Deno rows at 1,000 msgs/s measured the readers: 8 k–222 k events/s across
  // runs of one build, against a steady ~100 k with Bun's readers.
  const child = spawn("bun", [script, ...args], { stdio: ["ignore", "pipe", "inherit"] });
  let output = "";
  let onReady!: () => void;
  const ready = new Promise<void>((resolve) => (onReady = resolve));
  const result = new Promise<Any>((resolve, reject) => {
    child.stdout!.on("data", (chunk: Uint8Array) => {
      output += new TextDecoder().decode(chunk);
      if (output.includes("READY")) onReady();
    });
    child.once("close", (code) => {
      const line = output.split("\n").find((text) => text.startsWith("RESULT "));
      if (code === 0 && line) resolve(JSON.parse(line.slice(7)));
      else reject(new Error(`readers exited ${code}: ${output}`));
    });
  });
  return { ready, result };
}

function publish(rate: number, count: number): Promise<void> {
  const child = spawn(join(benchDirectory, ".build", "publisher"), [
    "--port", String(redis.port), "--count", String(count), "--rate", String(rate), "--payload-bytes",
    String(payloadBytes), "--channel", CHANNEL,
  ], { stdio: ["ignore", "ignore", "inherit"] });
  return new Promise((resolve, reject) =>
    child.once("exit", (code) => (code === 0 ? resolve() : reject(new Error(`publisher exited ${code}`))))
  );
}

const runs: Any[] = [];
let exitCode = 0;
try {
  await sleep(200);
  const before = memory();
  const plan = clientCounts.flatMap((count) => configurations.map((configuration) => ({ ...configuration, clients: count })));
  for (const planned of plan) {
    clients = planned.clients; // read by startReaders
    const rate = planned.rate;
    coalesceMs = planned.coalesceMs; // read by the handler when the readers connect
    const expect = rate * seconds;
    const readers = startReaders(expect);
    await Promise.race([readers.ready, readers.result]);
    await sleep(500);
    const connected = memory();
    const cpuBefore = process.cpuUsage();
    const publishStartedAt = performance.now() + performance.timeOrigin;
    await publish(rate, expect);
    const publishEndedAt = performance.now() + performance.timeOrigin;
    const result = await readers.result;
    const cpu = process.cpuUsage(cpuBefore);
    // Until the last event, or until the publisher finished when streams ended early (slow-client policy).
    const spanMs = Math.max(1, Math.max(result.lastEventAt, publishEndedAt) - publishStartedAt);
    if (result.totalEvents === 0) throw new Error("no SSE event reached any reader");
    runs.push({
      runtime,
      clients,
      rate,
      coalesceMs,
      seconds,
      payloadBytes,
      publishedPerSecond: rate,
      eventsPerSecond: result.totalEvents / (spanMs / 1000),
      expectedEvents: clients * expect,
      deliveredEvents: result.totalEvents,
      lost: clients * expect - result.totalEvents,
      clientsComplete: result.finishedClients,
      serverCpuShare: (cpu.user + cpu.system) / 1e3 / Math.max(spanMs, performance.now() + performance.timeOrigin - publishStartedAt),
      // Only the first configuration starts from a process that never held streams: after a loaded
      // run the RSS keeps what the allocator grew to, so later differences would say nothing.
      memoryPerClientKiB: runs.length === 0 ? (connected.rss - before.rss) / clients / 1024 : null,
      heapPerClientKiB: runs.length === 0 ? (connected.heapUsed - before.heapUsed) / clients / 1024 : null,
    });
    console.error(`  ${runtime} sse ${clients} clients @ ${rate} msgs/s, coalesceMs ${coalesceMs}: ${JSON.stringify(runs.at(-1))}`);
    await sleep(500); // readers gone: the server side ends its streams
  }
} catch (error) {
  console.error(`sse bench (${runtime}): ${(error as Error)?.stack ?? error}`);
  exitCode = 1;
} finally {
  await client.close().catch(() => {});
  await stopServer().catch(() => {});
  await redis.stop();
}

console.log("| runtime | clients | published msgs/s | coalesceMs | events/s delivered | lost | RSS KiB/client | heap KiB/client | server CPU share |");
console.log("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
for (const run of runs) {
  console.log(
    `| ${run.runtime} | ${run.clients} | ${run.rate} | ${run.coalesceMs} | ${Math.round(run.eventsPerSecond).toLocaleString("en-US")} | ${run.lost} | ` +
      `${run.memoryPerClientKiB?.toFixed(1) ?? "–"} | ${run.heapPerClientKiB?.toFixed(1) ?? "–"} | ${run.serverCpuShare.toFixed(2)} |`,
  );
}
if (jsonOut) writeFileSync(jsonOut, JSON.stringify({ runtime, runs }, null, 2));
process.exit(exitCode || (runs.length ? 0 : 1));
