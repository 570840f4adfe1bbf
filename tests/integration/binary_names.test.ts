// Method: a real server (tests/helpers/redis_server.ts) and the real client, with channel and pattern
// names of 1 MiB made of bytes that are not UTF-8 (seeded, so a failure repeats): subscribe,
// psubscribe, publish, receive the exact bytes, unsubscribe, native memory back to 0; over RESP3 and
// RESP2. Then the one limit a name has (the parser's maxBulkLength, since the server echoes each name
// in one bulk string), checked with that option lowered: refused up front, nothing sent.
import { assert, runtime, test } from "../shim.ts";
import { connect, InvalidArgumentError, type LifecycleEvent, type Message } from "../../mod.ts";
import { assertNoNativeMemory, randomBytes, sameBytes, seededRandom, withServer } from "./support.ts";

const mebibyte = 1 << 20;

/** `length` seeded bytes that are not valid UTF-8 (0xFF never occurs in UTF-8) and hold no glob character. */
function binaryName(seed: number, length = mebibyte): Uint8Array {
  const bytes = randomBytes(seededRandom(seed), length);
  for (let index = 0; index < bytes.length; index++) {
    if (bytes[index] === 0x2A || bytes[index] === 0x3F || bytes[index] === 0x5B || bytes[index] === 0x5C) bytes[index] = 0x80;
  }
  bytes[0] = 0xFF;
  return bytes;
}

async function next(iterator: AsyncIterator<Message>): Promise<Message> {
  const result = await iterator.next();
  assert.ok(!result.done, "a message arrives");
  return result.value;
}

for (const protocol of [3, 2] as const) {
  test(`binary names: 1 MiB non-UTF-8 channel and pattern names, exact bytes both ways (RESP${protocol}, ${runtime})`, async () => {
    await withServer(async (server) => {
      const client = await connect(server.url, { protocol });
      try {
        const channel = binaryName(1);
        // Differs from `channel` in its last byte only: decoded (lossily) the two look the same.
        const twin = channel.slice();
        twin[twin.length - 1] ^= 0x01;
        const subscription = await client.subscribe([channel, channel.slice()]);
        const twinSubscription = await client.subscribe(twin);
        assert.equal(await client.publish(channel, "to the channel"), 1, "one server subscription for the name given twice");
        const message = await next(subscription[Symbol.asyncIterator]());
        assert.equal(message.text(), "to the channel");
        assert.ok(sameBytes(message.channelBytes, channel), "the exact channel bytes");
        assert.equal(await client.publish(twin, "to the twin"), 1);
        assert.ok(sameBytes((await next(twinSubscription[Symbol.asyncIterator]())).channelBytes, twin));
        assert.equal(subscription.stats().received, 1, "the twin's message went to the twin only");

        const pattern = new Uint8Array(mebibyte + 1);
        pattern.set(binaryName(2));
        pattern[mebibyte] = 0x2A; // "*"
        const patternSubscription = await client.psubscribe(pattern);
        const matching = new Uint8Array(mebibyte + 3);
        matching.set(pattern.subarray(0, mebibyte));
        matching.set([0xFE, 0x00, 0xC3], mebibyte);
        assert.equal(await client.publish(matching, "to the pattern"), 1);
        const patterned = await next(patternSubscription[Symbol.asyncIterator]());
        assert.equal(patterned.kind, "pmessage");
        assert.ok(sameBytes(patterned.patternBytes!, pattern), "the exact pattern bytes");
        assert.ok(sameBytes(patterned.channelBytes, matching), "the exact channel bytes of a pmessage");

        // A string that is not valid UTF-16 (a lone surrogate) is routed by its bytes too.
        const text = "\uD800" + "é".repeat(mebibyte / 4);
        const textSubscription = await client.subscribe(text, text);
        assert.equal(await client.publish(text, "to the text"), 1);
        assert.equal((await next(textSubscription[Symbol.asyncIterator]())).text(), "to the text");

        for (const each of [subscription, twinSubscription, patternSubscription, textSubscription]) await each.unsubscribe();
        assert.equal(await client.publish(channel, "nobody"), 0, "unsubscribed on the server");
        assert.equal(await client.publish(matching, "nobody"), 0);
        assert.equal(client.stats().reconnects, 0);
      } finally {
        await client.close();
      }
      assertNoNativeMemory();
    });
  }, { timeoutMs: 60_000 });
}

test(`binary names: a name longer than parserLimits.maxBulkLength is an InvalidArgumentError, nothing sent (${runtime})`, async () => {
  await withServer(async (server) => {
    const maxBulkLength = 64 * 1024;
    const client = await connect(server.url, { parserLimits: { maxBulkLength } });
    try {
      const bystander = await client.subscribe("bystander");
      const events: LifecycleEvent[] = [];
      bystander.onEvent((event) => events.push(event));
      for (const subscribe of [client.subscribe, client.psubscribe, client.ssubscribe]) {
        const error = await subscribe.call(client, ["fine", binaryName(3, maxBulkLength + 1)]).then(
          () => undefined,
          (error: unknown) => error,
        );
        assert.ok(error instanceof InvalidArgumentError, `refused up front, got ${error}`);
        assert.match(error.message, /maxBulkLength \(65536 bytes\)/);
      }
      // Exactly at the limit works.
      const atLimit = binaryName(4, maxBulkLength);
      const subscription = await client.subscribe(atLimit);
      assert.equal(await client.publish(atLimit, "fits"), 1);
      assert.equal((await next(subscription[Symbol.asyncIterator]())).text(), "fits");
      assert.equal(await client.publish("fine", "x"), 0, "nothing of the refused calls was subscribed");
      assert.deepEqual(events, [], "the connection was never dropped");
      assert.equal(client.stats().reconnects, 0);
    } finally {
      await client.close();
    }
    assertNoNativeMemory();
  });
});
