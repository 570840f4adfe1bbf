// Method: a real redis-server flooded through an independent raw socket (tests/helpers/flood.ts) while
// a pushwire client is closed at a random moment, 100 times (seed 000's "dispose during a flood"):
// sometimes from a timer, sometimes from inside a message callback, with an iterator consuming and a
// callback subscription at once. No exception may escape, no promise may be left rejected and
// unhandled, and every native byte must be freed after each close.
import process from "node:process";
import { assert, runtime, sleep, test } from "../shim.ts";
import { connect, nativeMemory } from "../../mod.ts";
import { RedisServer } from "../helpers/redis_server.ts";
import { seededRandom } from "../integration/support.ts";
import { Flood } from "../helpers/flood.ts";

// deno-lint-ignore no-explicit-any
declare const Deno: any;

/** Records unhandled rejections and uncaught errors until the returned function is called. */
function watchUnhandled(): { failures: unknown[]; stop(): void } {
  const failures: unknown[] = [];
  if (runtime === "deno") {
    // deno-lint-ignore no-explicit-any
    const onRejection = (event: any) => {
      event.preventDefault();
      failures.push(event.reason);
    };
    // deno-lint-ignore no-explicit-any
    const onError = (event: any) => {
      event.preventDefault();
      failures.push(event.error);
    };
    globalThis.addEventListener("unhandledrejection", onRejection);
    globalThis.addEventListener("error", onError);
    return {
      failures,
      stop: () => {
        globalThis.removeEventListener("unhandledrejection", onRejection);
        globalThis.removeEventListener("error", onError);
      },
    };
  }
  const onRejection = (reason: unknown) => failures.push(reason);
  const onError = (error: unknown) => failures.push(error);
  process.on("unhandledRejection", onRejection);
  process.on("uncaughtException", onError);
  return {
    failures,
    stop: () => {
      process.off("unhandledRejection", onRejection);
      process.off("uncaughtException", onError);
    },
  };
}

test(`close during a flood, 100 times: no escape, no unhandled rejection, no native bytes (${runtime})`, async () => {
  const random = seededRandom(0xC105E);
  const server = await RedisServer.start();
  const unhandled = watchUnhandled();
  const flood = await Flood.start({
    port: server.port,
    channels: ["storm", "storm.a", "storm.b"],
    payload: (index) => `message ${index} `.padEnd(96, "~"),
    batch: 512,
  });
  let received = 0;
  try {
    for (let round = 0; round < 100; round++) {
      const client = await connect(server.url, { closeTimeoutMs: Math.floor(random() * 20) });
      const closeInCallback = random() < 0.3;
      let closing: Promise<void> | undefined;
      const channel = await client.subscribe("storm");
      await client.psubscribe("storm.*", () => {
        received++;
        if (closeInCallback && closing === undefined && random() < 0.01) closing = client.close();
      });
      const consumer = (async () => {
        for await (const message of channel) {
          received++;
          if (message.data.length === 0) throw new Error("empty payload");
        }
      })();
      await sleep(Math.floor(random() * 31));
      closing ??= client.close();
      await closing;
      await consumer; // ends without an error: close() is not a failure
      const memory = nativeMemory();
      assert.deepEqual(
        [memory.liveBytes, memory.liveMessages, memory.openParsers],
        [0, 0, 0],
        `round ${round}: native memory after close`,
      );
    }
    await sleep(50); // give a stray rejection the chance to surface
    assert.deepEqual(unhandled.failures, [], "no unhandled rejection or uncaught error");
    assert.ok(received > 0, "the flood reached the clients");
    console.log(`[${runtime}] close during flood: 100 rounds, ${received} messages, ${flood.acknowledged} published`);
  } finally {
    unhandled.stop();
    await flood.stop();
    await server.stop();
  }
}, { timeoutMs: 60_000 });
