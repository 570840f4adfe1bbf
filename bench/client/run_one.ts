// One client benchmark run in a fresh process: one (runtime, library, payload size, mode).
// Method: connect (untimed); a warm-up subscription on a separate connection gets `--warmup` messages
// so the JIT has seen the receive path; then a fresh connection subscribes and we time from the
// SUBSCRIBE call to the last of `--count` messages, with process.cpuUsage() over the same window
// (all threads of this process: parser, GC, runtime I/O). The listener only counts messages and
// bytes, so the library's receive path is all that is measured.
//   --mode replay : the server is bench/replay-server (it streams the messages itself on SUBSCRIBE)
//   --mode redis  : a real redis-server; we spawn bench/.build/publisher (pipelined PUBLISH) once
//                   subscribed, and read the server's CPU time from /proc/<redis pid>/stat
//   --mode latency: a real redis-server; an in-process publisher sends `--rate` msgs/s for
//                   `--seconds`, each payload carrying its sequence number; latency = receive time
//                   minus send time, same clock (performance.now)
// Prints one line "RESULT <json>" on stdout. Exits non-zero on any failure, zero messages, or a stall.
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import net from "node:net";
import process from "node:process";
import { type LibraryName, openReceiver, type Payload } from "./receivers.ts";

interface Arguments {
  library: LibraryName;
  url: string;
  mode: "replay" | "redis" | "latency";
  count: number;
  warmup: number;
  payloadBytes: number;
  protocol: 2 | 3;
  publisher: string;
  redisPid: number;
  rate: number;
  seconds: number;
  stallMs: number;
}

function parseArguments(argv: string[]): Arguments {
  const values = new Map<string, string>();
  for (let i = 0; i < argv.length; i += 2) values.set(argv[i].replace(/^--/, ""), argv[i + 1]);
  const get = (name: string, fallback?: string): string => {
    const value = values.get(name) ?? fallback;
    if (value === undefined) throw new Error(`run_one: missing --${name}`);
    return value;
  };
  return {
    library: get("library") as LibraryName,
    url: get("url"),
    mode: get("mode", "replay") as Arguments["mode"],
    count: Number(get("count", "0")),
    warmup: Number(get("warmup", "0")),
    payloadBytes: Number(get("payload-bytes", "16")),
    protocol: Number(get("protocol", "3")) as 2 | 3,
    publisher: get("publisher", ""),
    redisPid: Number(get("redis-pid", "0")),
    rate: Number(get("rate", "10000")),
    seconds: Number(get("seconds", "3")),
    stallMs: Number(get("stall-ms", "20000")),
  };
}

const runtime = typeof (globalThis as { Bun?: unknown }).Bun !== "undefined" ? "bun" : "deno";
const MEASURED_CHANNEL = "bench:events";
const WARMUP_CHANNEL = "warmup:events";

/** Receives `count` messages on a fresh connection; `start` is called right after SUBSCRIBE is confirmed. */
async function receive(
  options: Arguments,
  channel: string,
  count: number,
  start: () => void | Promise<void>,
): Promise<{ wallMs: number; cpuUs: number; messages: number; bytes: number; dropped: number }> {
  const receiver = await openReceiver(options.library, options.url, { protocol: options.protocol, payloadBytes: options.payloadBytes });
  let messages = 0;
  let bytes = 0;
  let finish!: () => void;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  let lastProgress = performance.now();
  let lastSeen = 0;
  const watchdog = setInterval(() => {
    if (messages !== lastSeen) {
      lastSeen = messages;
      lastProgress = performance.now();
    } else if (performance.now() - lastProgress > options.stallMs) {
      console.error(`${options.library}: stalled at ${messages}/${count} messages (dropped ${receiver.dropped()})`);
      process.exit(3);
    }
  }, 250);
  const cpuBefore = process.cpuUsage();
  const startedAt = performance.now();
  await receiver.subscribe(channel, (payload: Payload) => {
    bytes += payload.length;
    if (++messages === count) finish();
  });
  await start();
  await finished;
  const wallMs = performance.now() - startedAt;
  const cpu = process.cpuUsage(cpuBefore);
  clearInterval(watchdog);
  const dropped = receiver.dropped();
  await receiver.close();
  return { wallMs, cpuUs: cpu.user + cpu.system, messages, bytes, dropped };
}

function cpuTicksOf(pid: number): number {
  if (!pid) return 0;
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
  return Number(fields[11]) + Number(fields[12]); // utime + stime, in clock ticks (fields 14, 15)
}
const TICKS_PER_SECOND = 100; // Linux USER_HZ

function runPublisher(options: Arguments, channel: string, count: number): Promise<Record<string, number>> {
  const port = new URL(options.url).port;
  const child = spawn(options.publisher, [
    "--port", port, "--count", String(count), "--payload-bytes", String(options.payloadBytes),
    "--channel", channel, "--pipeline", "256",
  ], { stdio: ["ignore", "pipe", "inherit"] });
  let output = "";
  child.stdout!.on("data", (chunk: Uint8Array) => (output += new TextDecoder().decode(chunk)));
  return new Promise((resolve, reject) => {
    child.once("close", (code) => {
      if (code === 0) resolve(JSON.parse(output.trim()));
      else reject(new Error(`publisher exited with ${code}: ${output}`));
    });
  });
}

async function throughput(options: Arguments): Promise<Record<string, unknown>> {
  if (options.warmup > 0) {
    await receive(options, WARMUP_CHANNEL, options.warmup, () => {
      if (options.mode === "redis") {
        runPublisher(options, WARMUP_CHANNEL, options.warmup).catch((error) => {
          console.error(`warm-up publisher: ${error}`);
          process.exit(1);
        });
      }
    });
  }
  let publisher: Promise<Record<string, number>> | undefined;
  const serverTicksBefore = cpuTicksOf(options.redisPid);
  const result = await receive(options, MEASURED_CHANNEL, options.count, () => {
    if (options.mode === "redis") publisher = runPublisher(options, MEASURED_CHANNEL, options.count);
  });
  const serverCpuUs = ((cpuTicksOf(options.redisPid) - serverTicksBefore) / TICKS_PER_SECOND) * 1e6;
  const publisherResult = publisher ? await publisher : undefined;
  const seconds = result.wallMs / 1000;
  return {
    ...result,
    messagesPerSecond: result.messages / seconds,
    megabytesPerSecond: result.bytes / 1e6 / seconds,
    cpuUsPerMessage: result.cpuUs / result.messages,
    subscriberCpuShare: result.cpuUs / 1e3 / result.wallMs,
    ...(options.mode === "redis"
      ? {
        serverCpuShare: serverCpuUs / 1e3 / result.wallMs,
        publisherCpuShare: publisherResult ? publisherResult.cpu_us / 1e3 / result.wallMs : 0,
        publisherWallMs: publisherResult?.wall_ms,
      }
      : {}),
  };
}

// ---- latency -----------------------------------------------------------------------------------------

function encodePublish(channel: string, payload: string): string {
  return `*3\r\n$7\r\nPUBLISH\r\n$${channel.length}\r\n${channel}\r\n$${payload.length}\r\n${payload}\r\n`;
}

function sequenceOf(payload: Payload): number {
  if (typeof payload === "string") return parseInt(payload, 10);
  let value = 0;
  for (let i = 0; i < payload.length; i++) {
    const digit = payload[i] - 48;
    if (digit < 0 || digit > 9) break;
    value = value * 10 + digit;
  }
  return value;
}

async function latency(options: Arguments): Promise<Record<string, unknown>> {
  const total = Math.round(options.rate * options.seconds);
  const warmupTotal = Math.min(total, Math.round(options.rate)); // first second: not recorded
  const sentAt = new Float64Array(total + warmupTotal);
  const latenciesUs = new Float64Array(total);
  let received = 0;
  const receiver = await openReceiver(options.library, options.url, { protocol: options.protocol, payloadBytes: options.payloadBytes });
  const port = Number(new URL(options.url).port);
  const publisher = net.connect({ port, host: "127.0.0.1" });
  publisher.setNoDelay(true);
  publisher.on("data", () => {});
  await new Promise<void>((resolve, reject) => {
    publisher.once("connect", () => resolve());
    publisher.once("error", reject);
  });
  let finish!: () => void;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  const overall = total + warmupTotal;
  await receiver.subscribe(MEASURED_CHANNEL, (payload) => {
    const now = performance.now();
    const sequence = sequenceOf(payload);
    if (sequence >= warmupTotal) latenciesUs[sequence - warmupTotal] = (now - sentAt[sequence]) * 1000;
    if (++received === overall) finish();
  });
  const filler = "x".repeat(Math.max(0, options.payloadBytes - 12));
  const startedAt = performance.now();
  let sent = 0;
  const cpuBefore = process.cpuUsage();
  const timer = setInterval(() => {
    const due = Math.min(overall, Math.floor(((performance.now() - startedAt) / 1000) * options.rate));
    if (due <= sent) return;
    let batch = "";
    const now = performance.now();
    for (; sent < due; sent++) {
      sentAt[sent] = now;
      batch += encodePublish(MEASURED_CHANNEL, String(sent).padStart(12, "0") + filler);
    }
    publisher.write(batch);
    if (sent === overall) clearInterval(timer);
  }, 1);
  const stall = setTimeout(() => {
    console.error(`${options.library}: latency run stalled at ${received}/${overall}`);
    process.exit(3);
  }, (options.seconds + 1) * 1000 + options.stallMs);
  await finished;
  clearTimeout(stall);
  const cpu = process.cpuUsage(cpuBefore);
  const wallMs = performance.now() - startedAt;
  publisher.destroy();
  await receiver.close();
  const sorted = Array.from(latenciesUs).sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return {
    messages: total,
    rate: options.rate,
    p50Us: at(0.5),
    p90Us: at(0.9),
    p99Us: at(0.99),
    p999Us: at(0.999),
    maxUs: sorted[sorted.length - 1],
    cpuShare: (cpu.user + cpu.system) / 1e3 / wallMs,
  };
}

// ---- main ------------------------------------------------------------------------------------------------

const options = parseArguments(process.argv.slice(2));
try {
  const result = options.mode === "latency" ? await latency(options) : await throughput(options);
  if (!result.messages) throw new Error("zero messages");
  console.log(
    "RESULT " +
      JSON.stringify({
        runtime,
        library: options.library,
        mode: options.mode,
        payloadBytes: options.payloadBytes,
        protocol: options.protocol,
        ...result,
      }),
  );
  process.exit(0);
} catch (error) {
  console.error(`${runtime}/${options.library}: ${(error as Error)?.stack ?? error}`);
  process.exit(1);
}
