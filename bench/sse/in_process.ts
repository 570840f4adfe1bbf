// The library's own cost per sse() stream, without HTTP: `--streams` sse() streams in this process,
// each on its own client.subscribe() of one channel of a real redis-server, each body read by a
// ReadableStream reader here (no socket, so no file descriptor: 100,000 fit where 20,000 sockets do not).
// Reports RSS and JS heap per idle stream (after a forced GC, minus before), then publishes
// `--rate` msgs/s for `--seconds` (bench/.build/publisher) and reports events/s read and this process's
// CPU for them — the library's share of the fan-out, without the runtime's HTTP server and sockets.
// Usage: bun bench/sse/in_process.ts [--streams 100000] [--rate 10] [--seconds 5]
//        deno run -A --v8-flags=--expose-gc bench/sse/in_process.ts ...
import { spawn } from "node:child_process";
import { dirname, join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { connect } from "../../mod.ts";
import { openSSE, type SSEStream } from "../../src/sse.ts";
import { RedisServer } from "../../tests/helpers/redis_server.ts";

// deno-lint-ignore no-explicit-any
type Any = any;
const argument = (name: string, fallback: string) => {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? process.argv[index + 1] : fallback;
};
const streamCount = Number(argument("streams", "100000"));
const rate = Number(argument("rate", "10"));
const seconds = Number(argument("seconds", "5"));
const channel = "sse:in-process";
const bun: Any = (globalThis as Any).Bun;

function memory(): { rss: number; heapUsed: number } {
  if (bun) bun.gc(true);
  else (globalThis as Any).gc?.();
  const usage = process.memoryUsage();
  return { rss: usage.rss, heapUsed: usage.heapUsed };
}
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const redis = await RedisServer.start({ args: ["--client-output-buffer-limit", "pubsub 0 0 0"] });
const client = await connect(redis.url, { reconnect: false });
let events = 0;
const streams: SSEStream[] = [];
try {
  await sleep(200);
  const before = memory();
  for (let index = 0; index < streamCount; index++) {
    const stream = openSSE(client.subscribe(channel));
    streams.push(stream);
    const reader = stream.response.body!.getReader();
    void (async () => {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        for (let i = 0; i < value!.length; i++) if (value![i] === 0x23) events++;
      }
    })();
    if (index % 1000 === 999) await sleep(0);
  }
  await sleep(1000);
  const idle = memory();
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const count = rate * seconds;
  await new Promise<void>((resolve, reject) => {
    const child = spawn(join(dirname(fileURLToPath(import.meta.url)), "..", ".build", "publisher"), [
      "--port", String(redis.port), "--count", String(count), "--rate", String(rate), "--payload-bytes", "64", "--channel", channel,
    ], { stdio: ["ignore", "ignore", "inherit"] });
    child.once("exit", (code) => (code === 0 ? resolve() : reject(new Error(`publisher exited ${code}`))));
  });
  const deadline = performance.now() + 10_000;
  while (events < count * streamCount && performance.now() < deadline) await sleep(50);
  const elapsedMs = performance.now() - started;
  const cpu = process.cpuUsage(cpuBefore);
  const result = {
    runtime: bun ? "bun" : "deno",
    streams: streamCount,
    rssPerStreamKiB: (idle.rss - before.rss) / streamCount / 1024,
    heapPerStreamKiB: (idle.heapUsed - before.heapUsed) / streamCount / 1024,
    rssTotalMiB: idle.rss / 1024 / 1024,
    rate,
    expectedEvents: count * streamCount,
    events,
    eventsPerSecond: events / (elapsedMs / 1000),
    cpuShare: (cpu.user + cpu.system) / 1000 / elapsedMs,
    cpuMicrosecondsPerEvent: (cpu.user + cpu.system) / Math.max(1, events),
  };
  console.log(JSON.stringify(result));
} finally {
  for (const stream of streams) stream.close();
  await client.close().catch(() => {});
  await redis.stop();
}
process.exit(0);
