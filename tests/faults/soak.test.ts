// Method: 1,000,000 messages of 64 B from a real server through one subscription with default
// options, read once in the callback form and once with `for await` (the README's loop), published by
// an independent raw socket (tests/helpers/flood.ts) as fast as the server acknowledges them. Every
// payload carries its sequence number: none may be missing, repeated or out of order. RSS is sampled
// after a warm-up and at the end (printed; a generous bound asserted), and native memory must be zero
// after close. Slow by design: runs only with PUSHWIRE_SOAK=1 (CI sets it).
import process from "node:process";
import { assert, runtime, test, waitFor } from "../shim.ts";
import { connect, type Message } from "../../mod.ts";
import { RedisServer } from "../helpers/redis_server.ts";
import { assertNoNativeMemory } from "../integration/support.ts";
import { Flood } from "../helpers/flood.ts";

const total = 1_000_000;
const enabled = process.env.PUSHWIRE_SOAK === "1";
const mib = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);

for (const form of ["callback", "for await"] as const) {
  test(`soak: 1,000,000 messages of 64 B, ${form}, none lost, bounded RSS, no native bytes after close (${runtime})`, async () => {
    const server = await RedisServer.start({ args: ["--client-output-buffer-limit", "pubsub 0 0 0"] });
    try {
      const client = await connect(server.url);
      let next = 0;
      let errors = 0;
      let warmRss = 0;
      const check = (message: Message) => {
        // The first 10 bytes are the zero-padded sequence number.
        const data = message.data;
        let value = 0;
        for (let i = 0; i < 10; i++) value = value * 10 + data[i] - 48;
        if (value !== next || data.length !== 64) errors++;
        next = value + 1;
        if (next === 100_000) warmRss = process.memoryUsage().rss;
      };
      let reading: Promise<void> = Promise.resolve();
      if (form === "callback") {
        await client.subscribe("soak", check);
      } else {
        const subscription = await client.subscribe("soak");
        reading = (async () => {
          for await (const message of subscription) {
            check(message);
            if (next === total || errors > 0) break;
          }
        })();
      }
      const started = Date.now();
      const flood = await Flood.start({
        port: server.port,
        channels: ["soak"],
        payload: (index) => String(index).padStart(10, "0").padEnd(64, "."),
        batch: 2_000,
        total,
      });
      await flood.done;
      await waitFor(() => next === total || errors > 0, "every message", 60_000, 50);
      await reading;
      const seconds = (Date.now() - started) / 1000;
      const endRss = process.memoryUsage().rss;
      const stats = client.stats();
      console.log(
        `[${runtime}] soak (${form}): ${total} messages in ${seconds.toFixed(1)} s (${Math.round(total / seconds)}/s); ` +
          `RSS after 100k ${mib(warmRss)} MiB, at the end ${mib(endRss)} MiB (growth ${mib(endRss - warmRss)} MiB)`,
      );
      assert.equal(errors, 0, "no message missing, repeated or out of order");
      assert.equal(stats.received, total);
      assert.equal(stats.dropped, 0);
      assert.ok(endRss - warmRss < 256 * 1024 * 1024, "RSS growth after warm-up stays under 256 MiB");
      await client.close();
      await flood.stop();
    } finally {
      await server.stop();
    }
    assertNoNativeMemory();
  }, { timeoutMs: 120_000, skip: enabled ? false : "soak test: set PUSHWIRE_SOAK=1 to run it (about a minute per runtime)" });
}
