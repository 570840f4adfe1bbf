// Method: a real server per test (PUSHWIRE_TEST_SERVER: redis or valkey), pushwire publishing with
// history, and the independent raw RESP client (tests/helpers/raw_resp.ts) as the non-pushwire side:
// it subscribes and reads the envelope bytes as any subscriber would, reads the keys the key rule
// names, flushes the script cache, and counts commands (INFO commandstats). Bad arguments are checked
// to fail with InvalidArgumentError before anything reaches the server (the server's DBSIZE and
// commandstats stay as they were).
import { assert, runtime, test } from "../shim.ts";
import { connect, InvalidArgumentError } from "../../mod.ts";
import { RawConnection, type RawValue } from "../helpers/raw_resp.ts";
import { serverKind } from "../helpers/server_kind.ts";
import { withServer } from "../integration/support.ts";
import type { RedisServer } from "../helpers/redis_server.ts";
import { Recorder } from "./support.ts";

const label = `${runtime}, ${serverKind()}`;
const history = { maxLength: 100 };
const encoder = new TextEncoder();
const decoder = new TextDecoder();

function text(value: RawValue): string {
  return value instanceof Uint8Array ? decoder.decode(value) : String(value);
}

async function commandCalls(server: RedisServer, name: string): Promise<number> {
  const info = text(await server.command("INFO", "commandstats"));
  const match = new RegExp(`cmdstat_${name}:calls=(\\d+)`).exec(info);
  return match === null ? 0 : Number(match[1]);
}

test(`durable wire: a non-pushwire subscriber reads the v1 envelope; a plain pushwire subscription sees it as the payload (${label})`, () =>
  withServer(async (server) => {
    await using client = await connect(server.url);
    const raw = await RawConnection.connect(server.port);
    try {
      await raw.command("SUBSCRIBE", "news");
      const plain = await client.subscribe("news");
      const durable = await client.subscribe("news", { history: {} });
      const plainRecorder = new Recorder(plain);
      const durableRecorder = new Recorder(durable);
      const { id, receivers } = await client.publish("news", "hello\nworld", { history });
      assert.equal(receivers, 2, "the raw subscriber and pushwire's one server subscription");
      assert.match(id, /^\d{16}-0$/); // epoch: the server's TIME in µs
      // The raw client answers in order: what it reads first after this PING is the message push.
      const push = await raw.command("PING") as RawValue[];
      assert.deepEqual([text(push[0]), text(push[1]), text(push[2])], ["message", "news", `pw1 ${id}\nhello\nworld`]);
      await durableRecorder.waitForCount(1);
      await plainRecorder.waitForCount(1);
      assert.deepEqual(durableRecorder.seen, [{ text: "hello\nworld", id }]);
      assert.deepEqual(plainRecorder.seen, [{ text: `pw1 ${id}\nhello\nworld`, id: undefined }]);
      // The key rule, as documented: the stream and its epoch key.
      assert.equal(await server.command("XLEN", "pushwire:history:{news}"), 1);
      assert.equal(text(await server.command("GET", "pushwire:history:{news}:epoch")), id.split("-")[0]);
      // A message published without history reaches the durable subscription as it is, without an id.
      await client.publish("news", "plain");
      await durableRecorder.waitForCount(2);
      assert.deepEqual(durableRecorder.seen[1], { text: "plain", id: undefined });
    } finally {
      await raw.close();
    }
  }));

test(`durable wire: binary channel and payload survive live and replayed; a tagged channel keys by its tag (${label})`, () =>
  withServer(async (server) => {
    await using client = await connect(server.url);
    const channel = new Uint8Array([0x63, 0xff, 0x00, 0x7b, 0x74, 0x7d]); // c \xff \0 {t}: not UTF-8, tag "t"
    const payloads = [new Uint8Array([0, 1, 2, 255, 10, 13]), encoder.encode("pw1 1-1\nnot a header of ours"), new Uint8Array(0)];
    for (const payload of payloads) await client.publish(channel, payload, { history });
    const tagged = await server.command("XLEN", new Uint8Array([...encoder.encode("pushwire:history:{t}:"), ...channel]));
    assert.equal(tagged, 3, "pushwire:history:{<tag>}:<channel>");
    const subscription = await client.subscribe(channel, { since: { last: 3 } });
    const iterator = subscription[Symbol.asyncIterator]();
    for (const payload of payloads) {
      const message = (await iterator.next()).value!;
      assert.deepEqual(message.data, payload);
      assert.deepEqual(message.channelBytes, channel);
      assert.match(message.id!, /^\d+-\d+$/);
    }
    await client.publish(channel, payloads[0], { history });
    const live = (await iterator.next()).value!;
    assert.deepEqual(live.data, payloads[0]);
    assert.equal(live.id!.split("-")[1], "3");
  }));

test(`durable wire: ttlMs expires both keys; the script is loaded once (EVAL on NOSCRIPT, EVALSHA after) (${label})`, () =>
  withServer(async (server) => {
    await using client = await connect(server.url);
    await server.command("CONFIG", "RESETSTAT");
    await client.publish("ttl", "one", { history: { maxLength: 5, ttlMs: 60_000 } });
    for (const key of ["pushwire:history:{ttl}", "pushwire:history:{ttl}:epoch"]) {
      const ttl = Number(await server.command("PTTL", key));
      assert.ok(ttl > 50_000 && ttl <= 60_000, `${key} PTTL ${ttl}`);
    }
    await client.publish("ttl", "two", { history: { maxLength: 5 } });
    assert.equal(await commandCalls(server, "eval"), 1, "EVAL once, after the first EVALSHA met NOSCRIPT");
    assert.equal(await commandCalls(server, "evalsha"), 2);
    await server.command("SCRIPT", "FLUSH");
    const { id } = await client.publish("ttl", "three", { history: { maxLength: 5 } });
    assert.equal(id.split("-")[1], "2", "the flushed script came back and the sequence went on");
    assert.equal(await commandCalls(server, "eval"), 2);
  }));

test(`durable wire: RESP2 (protocol: 2, commands on a connection of their own) resumes exactly too (${label})`, () =>
  withServer(async (server) => {
    await using publisher = await connect(server.url);
    await using client = await connect(server.url, { protocol: 2 });
    const ids: string[] = [];
    for (let index = 0; index < 10; index++) ids.push((await publisher.publish("r2", `m${index}`, { history })).id);
    const subscription = await client.subscribe("r2", { since: ids[4] });
    const recorder = new Recorder(subscription);
    await recorder.waitForEvent("recovered");
    await server.command("CLIENT", "KILL", "TYPE", "pubsub");
    for (let index = 10; index < 15; index++) await publisher.publish("r2", `m${index}`, { history });
    await recorder.waitForCount(10);
    assert.deepEqual(recorder.texts(), ["m5", "m6", "m7", "m8", "m9", "m10", "m11", "m12", "m13", "m14"]);
  }));

test(`durable wire: bad arguments are InvalidArgumentError and nothing reaches the server (${label})`, () =>
  withServer(async (server) => {
    await using client = await connect(server.url);
    await server.command("CONFIG", "RESETSTAT");
    const refusals: [string, () => Promise<unknown>][] = [
      ["maxLength missing", () => client.publish("c", "x", { history: {} as { maxLength: number } })],
      ["maxLength 0", () => client.publish("c", "x", { history: { maxLength: 0 } })],
      ["maxLength over the bound", () => client.publish("c", "x", { history: { maxLength: 1_000_001 } })],
      ["maxLength not an integer", () => client.publish("c", "x", { history: { maxLength: 1.5 } })],
      ["ttlMs negative", () => client.publish("c", "x", { history: { maxLength: 1, ttlMs: -1 } })],
      ["history not an object", () => client.publish("c", "x", { history: 5 as never })],
      ["options not an object", () => client.publish("c", "x", "fast" as never)],
      ["key empty", () => client.publish("c", "x", { history: { maxLength: 1, key: "" } })],
      ["key without a hash tag", () => client.publish("c", "x", { history: { maxLength: 1, key: "my-history" } })],
      ["a } channel without tag", () => client.publish("a}b", "x", { history: { maxLength: 1 } })],
      ["shard key off the channel's slot", () => client.spublish("c", "x", { history: { maxLength: 1, key: "{other}:h" } })],
      ["since malformed", () => client.subscribe("c", { since: "12-ab" })],
      ["since a number", () => client.subscribe("c", { since: 12 as never })],
      ["since.last negative", () => client.subscribe("c", { since: { last: -1 } })],
      ["since.last over the bound", () => client.subscribe("c", { since: { last: 2_000_000 } })],
      ["two channels", () => client.subscribe("c", "d", { since: { last: 1 } })],
      ["a pattern", () => client.psubscribe("c*", { history: {} })],
      ["history.key not bytes", () => client.subscribe("c", { history: { key: 7 as never } })],
    ];
    for (const [what, call] of refusals) {
      await assert.rejects(call(), InvalidArgumentError, what);
    }
    // An overriding key with a tag works, and subscribe finds it with the same key.
    const { id } = await client.publish("a}b", "kept", { history: { maxLength: 1, key: "pushwire:history:{ab}" } });
    const subscription = await client.subscribe("a}b", { since: { last: 1 }, history: { key: "pushwire:history:{ab}" } });
    const message = (await subscription[Symbol.asyncIterator]().next()).value!;
    assert.deepEqual([message.text(), message.id], ["kept", id]);
    assert.equal(await commandCalls(server, "evalsha") + await commandCalls(server, "eval"), 2, "only the good publish ran the script");
    assert.equal(await commandCalls(server, "subscribe"), 1, "only the good subscribe was sent");
  }));
