// Fan-out bench: one Valkey/Redis channel → `--clients` browsers, through one pushwire client (one
// server subscription, refcounted) and `sse()` — or, with `--transport ws`, the pushwire/ws bridge —
// on Bun.serve or Deno.serve (this process).
// Method: a real redis-server; readers in a second process (bench/sse/readers.ts or bench/ws/readers.ts,
// raw sockets, run by Bun for both servers) so their memory and CPU are not ours; memory per client =
// (RSS and JS heap after every reader is connected and idle − before), after a forced GC, measured in
// the first configuration only; then bench/.build/publisher publishes at a fixed rate for a few
// seconds, each payload stamped with its send time, and we report events/s delivered to the readers,
// how many were lost, this process's CPU over the run, and publish → reader latency p50/p99 (sampled
// on every 50th reader).
// Configurations (full run): 100 msgs/s, the same with `coalesceMs: 50` (SSE only: events held ≤ 50 ms
// and written as one chunk), 1,000 and 2,000 msgs/s; `--rates 100` / `--coalesce 0` pick some.
// Each configuration runs for every count in `--clients` (a list: 1000,100 runs them all at 1,000
// streams, then at 100 — the first is the one memory per client is measured in), so bench/charts.ts can
// draw events/s against streams.
// Rule: reports only; exits non-zero when the bench itself breaks (no events, a crash).
// Usage: bun bench/sse.bench.ts [--short] [--clients 1000[,100...]] [--transport sse|ws] [--rates 100,1000]
//          [--coalesce 0,50] [--seconds 5] [--json out.json]
//        deno run -A --v8-flags=--expose-gc bench/sse.bench.ts ...
import { spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { connect } from "../mod.ts";
import { sse } from "../src/sse.ts";
import { wsBridge } from "../src/ws.ts";
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
const transport = argument("transport", "sse");
if (transport !== "sse" && transport !== "ws") throw new Error(`--transport sse|ws, got ${transport}`);
const seconds = Number(argument("seconds", short ? "2" : "5"));
/** (published msgs/s, sse() coalesceMs) per run. */
const allConfigurations: { rate: number; coalesceMs: number }[] = short
  ? [{ rate: 100, coalesceMs: 0 }]
  : [{ rate: 100, coalesceMs: 0 }, { rate: 100, coalesceMs: 50 }, { rate: 1000, coalesceMs: 0 }, { rate: 2000, coalesceMs: 0 }];
const pickedRates = process.argv.includes("--rates") ? argument("rates", "").split(",").map(Number) : undefined;
const pickedCoalesce = process.argv.includes("--coalesce") ? argument("coalesce", "").split(",").map(Number) : undefined;
// Rates and coalesceMs given together are run as given (any rate: --rates 10 --coalesce 0 shows the
// cost of idle streams); either alone picks from the standard configurations.
const configurations = pickedRates !== undefined && pickedCoalesce !== undefined
  ? pickedRates.flatMap((rate) => pickedCoalesce.map((coalesceMs) => ({ rate, coalesceMs })))
    .filter((configuration) => transport === "sse" || configuration.coalesceMs === 0)
  : allConfigurations.filter((configuration) =>
    (pickedRates?.includes(configuration.rate) ?? true) &&
    (pickedCoalesce?.includes(configuration.coalesceMs) ?? true) &&
    (transport === "sse" || configuration.coalesceMs === 0)
  );
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
/** The machine's 1-minute load when a run ended (CPU figures taken above ~0.5 include other work). */
function loadAverage(): string {
  try {
    return readFileSync("/proc/loadavg", "utf8").split(" ")[0];
  } catch {
    return "?";
  }
}

const redis = await RedisServer.start({ args: ["--client-output-buffer-limit", "pubsub 0 0 0"] });
const client: Any = await connect(redis.url, { reconnect: false });
const bridge = transport === "ws" ? wsBridge(client) : undefined;
const handler = (request: Request, server?: unknown) =>
  bridge !== undefined
    ? bridge.upgrade(request, server)
    : sse(client.subscribe(CHANNEL), { signal: request.signal, heartbeatMs: 0, coalesceMs });

let port: number;
let stopServer: () => Promise<void>;
if (bun) {
  const server = bun.serve({ hostname: "127.0.0.1", port: 0, idleTimeout: 0, fetch: handler, websocket: bridge?.websocket });
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
  const script = join(benchDirectory, transport, "readers.ts");
  const url = transport === "ws" ? `ws://127.0.0.1:${port}/ws` : `http://127.0.0.1:${port}/events`;
  const args = ["--url", url, "--topic", CHANNEL, "--clients", String(clients), "--expect", String(expect),
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
    String(payloadBytes), "--channel", CHANNEL, "--stamp",
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
      transport,
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
      // The kernel's share (system) holds the socket writes and, on loopback, part of the readers' TCP work.
      serverCpuSystemShare: cpu.system / 1e3 / Math.max(spanMs, performance.now() + performance.timeOrigin - publishStartedAt),
      // Only the first configuration starts from a process that never held streams: after a loaded
      // run the RSS keeps what the allocator grew to, so later differences would say nothing.
      memoryPerClientKiB: runs.length === 0 ? (connected.rss - before.rss) / clients / 1024 : null,
      heapPerClientKiB: runs.length === 0 ? (connected.heapUsed - before.heapUsed) / clients / 1024 : null,
      latencyP50Ms: result.latencyP50Ms,
      latencyP99Ms: result.latencyP99Ms,
      latencySamples: result.latencySamples,
      loadAverage1m: loadAverage(),
    });
    console.error(`  ${runtime} ${transport} ${clients} clients @ ${rate} msgs/s, coalesceMs ${coalesceMs}: ${JSON.stringify(runs.at(-1))}`);
    await sleep(500); // readers gone: the server side ends its streams
  }
} catch (error) {
  console.error(`sse bench (${runtime}): ${(error as Error)?.stack ?? error}`);
  exitCode = 1;
} finally {
  await bridge?.close().catch(() => {});
  await client.close().catch(() => {});
  await stopServer().catch(() => {});
  await redis.stop();
}

console.log("| runtime | transport | clients | published msgs/s | coalesceMs | events/s delivered | lost | RSS KiB/client | heap KiB/client | server CPU share (of it kernel) | latency p50 / p99 ms | load 1m |");
console.log("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
for (const run of runs) {
  const latency = run.latencyP50Ms === null ? "–" : `${run.latencyP50Ms.toFixed(1)} / ${run.latencyP99Ms.toFixed(1)}`;
  console.log(
    `| ${run.runtime} | ${run.transport} | ${run.clients} | ${run.rate} | ${run.coalesceMs} | ${Math.round(run.eventsPerSecond).toLocaleString("en-US")} | ${run.lost} | ` +
      `${run.memoryPerClientKiB?.toFixed(1) ?? "–"} | ${run.heapPerClientKiB?.toFixed(1) ?? "–"} | ${run.serverCpuShare.toFixed(2)} (${run.serverCpuSystemShare.toFixed(2)}) | ${latency} | ${run.loadAverage1m} |`,
  );
}
if (jsonOut) writeFileSync(jsonOut, JSON.stringify({ runtime, runs }, null, 2));
process.exit(exitCode || (runs.length ? 0 : 1));
