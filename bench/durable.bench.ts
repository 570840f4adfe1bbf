// Durable channels bench: what history costs. Against a real redis-server (tests/helpers/redis_server.ts),
// one pushwire client in this process:
//   publish      msgs/s of plain PUBLISH and of publish with history (the script: XADD MAXLEN n exact +
//                PUBLISH), and the script by EVALSHA with exact and with approximate trimming (MAXLEN ~ n,
//                a bench-only variant: the price of "the newest n means n"), with the server's µs per
//                call; 256 publishes in flight (one write per tick), 256 B payloads, maxLength 1,000
//                (the stream is full after the warm-up, so every add also trims)
//   replay       msgs/s delivered by since { last: N } (default options: paced by the buffer) to a
//                for-await consumer and to an onMessage callback, from subscribe() to the last message
//   live         msgs/s received by a plain and by a durable subscription (envelope opened, ids
//                checked) while the same client publishes with history: the end-to-end rate
// Rule: reports only; exits non-zero when the bench itself breaks (a count that does not add up).
// Usage: bun bench/durable.bench.ts [--short] [--json out.json]    deno run -A bench/durable.bench.ts ...
import { writeFileSync } from "node:fs";
import process from "node:process";
import { type Client, connect, type Message } from "../mod.ts";
import { historyScriptSource } from "../src/durable/script.ts";
import { RedisServer } from "../tests/helpers/redis_server.ts";

const argument = (name: string): string | undefined => {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? process.argv[index + 1] : undefined;
};
const short = process.argv.includes("--short");
const jsonOut = argument("json");
const runtime = typeof (globalThis as { Bun?: unknown }).Bun !== "undefined" ? "bun" : "deno";
const publishCount = short ? 20_000 : 200_000;
const replayCount = short ? 20_000 : 100_000;
const inFlight = 256;
const payload = new Uint8Array(256).fill(0x61);
const maxLength = 1_000;

interface Row {
  runtime: string;
  what: string;
  messages: number;
  messagesPerSecond: number;
  /** Server time per command (µs, INFO commandstats) where measured. */
  serverMicrosPerCall?: number;
}
const rows: Row[] = [];

function report(what: string, messages: number, elapsedMs: number, serverMicrosPerCall?: number): void {
  const messagesPerSecond = Math.round(messages / (elapsedMs / 1000));
  rows.push({ runtime, what, messages, messagesPerSecond, ...(serverMicrosPerCall === undefined ? {} : { serverMicrosPerCall }) });
  const server = serverMicrosPerCall === undefined ? "" : `, server ${serverMicrosPerCall} µs/call`;
  console.log(`${runtime.padEnd(4)} ${what.padEnd(52)} ${messagesPerSecond.toLocaleString("en-US").padStart(10)} msgs/s  (${messages.toLocaleString("en-US")} in ${Math.round(elapsedMs)} ms${server})`);
}

/** `count` calls of `publishOne`, `inFlight` per tick; returns the elapsed ms. */
async function timed(count: number, publishOne: (index: number) => Promise<unknown>): Promise<number> {
  const started = performance.now();
  for (let index = 0; index < count; index += inFlight) {
    const batch: Promise<unknown>[] = [];
    for (let offset = 0; offset < inFlight && index + offset < count; offset++) batch.push(publishOne(index + offset));
    await Promise.all(batch);
  }
  return performance.now() - started;
}

/** Server µs per call of `command` since the last CONFIG RESETSTAT (INFO commandstats). */
async function serverMicrosPerCall(client: Client, command: string): Promise<number> {
  const info = String(await client.command(["INFO", "commandstats"]));
  return Number(new RegExp(`cmdstat_${command}:calls=\\d+,usec=\\d+,usec_per_call=([\\d.]+)`).exec(info)?.[1] ?? NaN);
}

async function publishRates(client: Client): Promise<void> {
  const warmup = Math.min(maxLength * 2, publishCount / 10);
  // The same script through the same call (EVALSHA by client.command), exact and approximate: what
  // exact trimming costs the server.
  const script = async (source: string, channel: string) => {
    const sha = String(await client.command(["SCRIPT", "LOAD", source]));
    return () =>
      client.command(["EVALSHA", sha, "2", `pushwire:history:{${channel}}`, `pushwire:history:{${channel}}:epoch`,
        channel, payload, String(maxLength), "0", "PUBLISH"]);
  };
  const approximateSource = historyScriptSource.replace("'MAXLEN', ARGV[3]", "'MAXLEN', '~', ARGV[3]");
  if (approximateSource === historyScriptSource) throw new Error("the bench's approximate variant no longer matches the script");
  const variants: [string, string, () => Promise<unknown>][] = [
    ["publish: plain PUBLISH", "publish", () => client.publish("bench:plain", payload)],
    [`publish: with history (maxLength ${maxLength})`, "evalsha", () => client.publish("bench:history", payload, { history: { maxLength } })],
    [`script by EVALSHA: MAXLEN ${maxLength} (exact)`, "evalsha", await script(historyScriptSource, "bench:exact")],
    [`script by EVALSHA: MAXLEN ~ ${maxLength} (bench-only)`, "evalsha", await script(approximateSource, "bench:approximate")],
  ];
  for (const [what, command, publishOne] of variants) {
    await timed(warmup, publishOne);
    await client.command(["CONFIG", "RESETSTAT"]);
    report(what, publishCount, await timed(publishCount, publishOne), await serverMicrosPerCall(client, command));
  }
  const exactLength = Number(await client.command(["XLEN", "pushwire:history:{bench:exact}"]));
  const approximateLength = Number(await client.command(["XLEN", "pushwire:history:{bench:approximate}"]));
  if (exactLength !== maxLength) throw new Error(`exact trimming left ${exactLength} entries, not ${maxLength}`);
  console.log(`     stream length after the runs: exact ${exactLength}, approximate ${approximateLength}`);
}

async function replayRates(client: Client): Promise<void> {
  await timed(replayCount, () => client.publish("bench:replay", payload, { history: { maxLength: replayCount } }));
  for (const form of ["for await", "onMessage"] as const) {
    let received = 0;
    let lastSeq = -1;
    const check = (message: Message) => {
      const seq = Number(message.id!.split("-")[1]);
      if (lastSeq >= 0 && seq !== lastSeq + 1) throw new Error(`replay out of order: ${lastSeq} then ${seq}`);
      lastSeq = seq;
      received++;
    };
    const started = performance.now();
    if (form === "onMessage") {
      const done = Promise.withResolvers<void>();
      const subscription = await client.subscribe("bench:replay", {
        since: { last: replayCount },
        onMessage: (message) => {
          check(message);
          if (received === replayCount) done.resolve();
        },
      });
      await done.promise;
      report(`replay: since { last: ${replayCount} }, onMessage`, received, performance.now() - started);
      await subscription.unsubscribe();
    } else {
      const subscription = await client.subscribe("bench:replay", { since: { last: replayCount } });
      for await (const message of subscription) {
        check(message);
        if (received === replayCount) break;
      }
      report(`replay: since { last: ${replayCount} }, for await`, received, performance.now() - started);
    }
  }
}

async function liveRates(client: Client, server: RedisServer): Promise<void> {
  const receiver = await connect(server.url);
  try {
    for (const durable of [false, true]) {
      const channel = durable ? "bench:live-durable" : "bench:live-plain";
      const subscription = await receiver.subscribe(channel, durable ? { history: {} } : {});
      let received = 0;
      const done = (async () => {
        for await (const message of subscription) {
          if (durable && message.id === undefined) throw new Error("a durable message without its id");
          if (++received === publishCount) break;
        }
      })();
      const started = performance.now();
      await timed(publishCount, () => client.publish(channel, payload, { history: { maxLength } }));
      await done;
      report(`live: publish with history → ${durable ? "durable" : "plain"} subscription`, received, performance.now() - started);
    }
  } finally {
    await receiver.close();
  }
}

const server = await RedisServer.start();
const client = await connect(server.url);
try {
  await publishRates(client);
  await replayRates(client);
  await liveRates(client, server);
} finally {
  await client.close();
  await server.stop();
}
if (jsonOut) writeFileSync(jsonOut, JSON.stringify({ runtime, short, payloadBytes: payload.length, inFlight, rows }, null, 2));
