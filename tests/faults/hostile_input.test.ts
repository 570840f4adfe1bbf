// Method: a fake RESP server (tests/faults/fake_server.ts, node:net on 127.0.0.1) completes the
// handshake and the SUBSCRIBE, then sends bytes no real server would: each must end that connection
// with a typed ProtocolError that subscribers see (disconnected event, iterator error), without a
// crash or a hang, and with every native byte freed once the client is closed. Real: the client, its
// sockets and the native parser; faked: the server.
import { assert, runtime, test, waitFor } from "../shim.ts";
import { ConnectionError, connect, type LifecycleEvent, nativeMemory, type ParserLimits, ProtocolError } from "../../mod.ts";
import { bytes, FakeServer, push } from "./fake_server.ts";
import { assertNoNativeMemory, randomBytes, seededRandom } from "../integration/support.ts";

function nested(depth: number): Uint8Array {
  return bytes("*1\r\n".repeat(depth) + ":1\r\n");
}

const hostile: [string, () => Uint8Array, ParserLimits?][] = [
  ["a 20-digit bulk length", () => bytes(">3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$99999999999999999999\r\n")],
  ["a negative aggregate length", () => bytes("*-5\r\n")],
  ["a negative push length", () => bytes(">-3\r\n")],
  ["100,000 nested arrays", () => nested(100_000)],
  ["wrong element types in a push", () => bytes(">3\r\n$7\r\nmessage\r\n:5\r\n$1\r\nx\r\n")],
  ["an unknown type byte", () => bytes("?what\r\n")],
  ["a bulk without its CRLF", () => bytes(">3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$3\r\nabcXY")],
  ["64 KiB of random bytes", () => randomBytes(seededRandom(0x5eed), 64 * 1024)],
  ["a payload over parserLimits.maxBulkLength", () => push("message", "victim", "x".repeat(2048)), { maxBulkLength: 1024 }],
];

for (const [name, payload, parserLimits] of hostile) {
  test(`hostile input: ${name} ends the connection with a ProtocolError (${runtime})`, async () => {
    await using server = await FakeServer.start((connection, args) => {
      if (args[0] !== "PUBLISH") return;
      connection.write(push("message", args[1], "fine")); // one good message first
      connection.write(payload());
      return true;
    });
    const client = await connect(server.url, { reconnect: false, parserLimits });
    const subscription = await client.subscribe("victim");
    const events: LifecycleEvent[] = [];
    subscription.onEvent((event) => events.push(event));
    // The PUBLISH is the trigger; the bad bytes arrive where its reply should be.
    await assert.rejects(client.publish("victim", "go"), ProtocolError);
    const seen: string[] = [];
    const error = await (async () => {
      for await (const message of subscription) seen.push(message.text());
    })().then(() => undefined, (error: unknown) => error);
    assert.ok(error instanceof ProtocolError, `iterator error: ${error}`);
    assert.ok(error.status < 0);
    assert.deepEqual(seen, ["fine"], "frames before the bad bytes are delivered");
    const disconnected = events.find((event) => event.type === "disconnected");
    assert.ok(disconnected?.type === "disconnected" && disconnected.error instanceof ProtocolError);
    await client.close();
    assertNoNativeMemory();
  });
}

test(`hostile input: after a protocol error the client reconnects and resubscribes in one write (${runtime})`, async () => {
  await using server = await FakeServer.start((connection, args) => {
    if (connection.index === 0 && args[0] === "PUBLISH") {
      connection.write(bytes("?garbage\r\n"));
      return true;
    }
  });
  await using client = await connect(server.url, { reconnect: { initialDelayMs: 5, maxDelayMs: 20 } });
  const channel = await client.subscribe("a", "b");
  await client.psubscribe("p.*");
  await client.ssubscribe("s");
  const events: LifecycleEvent[] = [];
  channel.onEvent((event) => events.push(event));
  await assert.rejects(client.publish("a", "x"), ProtocolError);
  await waitFor(() => events.some((event) => event.type === "reconnected"), "reconnected");
  assert.ok(events[0].type === "disconnected" && events[0].error instanceof ProtocolError);
  assert.equal(client.stats().reconnects, 1);
  const second = server.connections[1];
  // The handshake, then the whole resubscription in the first write after it.
  assert.equal(second.commands[0][0], "HELLO");
  const resubscribe = second.chunks[1];
  assert.deepEqual(resubscribe.map((args) => args.join(" ")), ["SUBSCRIBE a b", "PSUBSCRIBE p.*", "SSUBSCRIBE s"]);
  second.write(push("message", "b", "back"));
  const message = await channel[Symbol.asyncIterator]().next();
  assert.equal(message.value?.text(), "back");
  assert.equal(nativeMemory().openParsers, 1, "the failed connection's parser was freed");
});

test(`hostile input: a subscription the server drops on its own ends with an error, not silence (${runtime})`, async () => {
  await using server = await FakeServer.start();
  const client = await connect(server.url, { reconnect: false });
  const shard = await client.ssubscribe("moved", "kept");
  const other = await client.subscribe("unrelated");
  const events: LifecycleEvent[] = [];
  shard.onEvent((event) => events.push(event));
  server.connections[0].write(push("sunsubscribe", "moved", 1));
  await waitFor(() => shard.closed, "subscription ended");
  await assert.rejects(shard[Symbol.asyncIterator]().next(), ConnectionError);
  assert.equal(events.at(-1)?.type, "end");
  // Its other name is released; the rest of the client keeps working.
  await waitFor(() => !server.connections[0].subscribed.has("kept"), "SUNSUBSCRIBE kept");
  assert.equal(other.closed, false);
  assert.equal(await client.publish("unrelated", "x"), 0);
  await client.close();
  assertNoNativeMemory();
});
