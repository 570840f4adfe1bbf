// Method: a real redis-server per file; server-side subscription counts are read with PUBSUB NUMSUB /
// NUMPAT through the independent raw client, so the refcount is checked where it matters (the server).
import { assert, runtime, test } from "../shim.ts";
import { connect } from "../../mod.ts";
import { numsub, withServer } from "./support.ts";

test(`refcount: two local subscriptions share one server subscription (${runtime})`, () =>
  withServer(async (server) => {
    const events: string[] = [];
    await using client = await connect(server.url, {
      onOccupied: (name, type) => events.push(`occupied ${type} ${name}`),
      onVacated: (name, type) => events.push(`vacated ${type} ${name}`),
    });
    const first = await client.subscribe("room");
    const second = await client.subscribe("room", "lobby");
    assert.equal(await numsub(server, "room"), 1);
    assert.equal(await numsub(server, "lobby"), 1);
    await first.unsubscribe();
    assert.equal(await numsub(server, "room"), 1, "one local subscriber left");
    await second.unsubscribe();
    assert.equal(await numsub(server, "room"), 0);
    assert.equal(await numsub(server, "lobby"), 0);
    assert.deepEqual(events, [
      "occupied subscribe room",
      "occupied subscribe lobby",
      "vacated subscribe room",
      "vacated subscribe lobby",
    ]);
  }));

test(`refcount: patterns are refcounted separately from channels (${runtime})`, () =>
  withServer(async (server) => {
    await using client = await connect(server.url);
    const a = await client.psubscribe("news.*");
    const b = await client.psubscribe("news.*");
    const c = await client.subscribe("news.*");
    assert.equal(await server.command("PUBSUB", "NUMPAT"), 1);
    assert.equal(await numsub(server, "news.*"), 1);
    await a.unsubscribe();
    assert.equal(await server.command("PUBSUB", "NUMPAT"), 1);
    await b.unsubscribe();
    assert.equal(await server.command("PUBSUB", "NUMPAT"), 0);
    assert.equal(await numsub(server, "news.*"), 1);
    await c.unsubscribe();
  }));

test(`refcount: subscribing while an earlier subscribe is in flight waits for the same confirmation (${runtime})`, () =>
  withServer(async (server) => {
    let occupied = 0;
    await using client = await connect(server.url, { onOccupied: () => occupied++ });
    const [a, b] = await Promise.all([client.subscribe("race"), client.subscribe("race")]);
    assert.equal(occupied, 1);
    assert.equal(await client.publish("race", "x"), 1, "one server subscription");
    const fromA = await a[Symbol.asyncIterator]().next();
    const fromB = await b[Symbol.asyncIterator]().next();
    assert.equal(fromA.value, fromB.value);
  }));

test(`refcount: unsubscribe then subscribe again in one tick ends subscribed (${runtime})`, () =>
  withServer(async (server) => {
    await using client = await connect(server.url);
    const first = await client.subscribe("flip");
    const leaving = first.unsubscribe();
    const second = await client.subscribe("flip");
    await leaving;
    assert.equal(await numsub(server, "flip"), 1);
    assert.equal(await client.publish("flip", "still here"), 1);
    assert.equal((await second[Symbol.asyncIterator]().next()).value?.text(), "still here");
  }));

test(`refcount: ssubscribe and spublish (${runtime})`, () =>
  withServer(async (server) => {
    await using client = await connect(server.url);
    const shard = await client.ssubscribe("shard-1");
    assert.equal(shard.type, "ssubscribe");
    assert.deepEqual(await server.command("PUBSUB", "SHARDNUMSUB", "shard-1").then(textOf), ["shard-1", 1]);
    assert.equal(await client.spublish("shard-1", "s"), 1);
    const message = (await shard[Symbol.asyncIterator]().next()).value!;
    assert.equal(message.kind, "smessage");
    assert.equal(message.channel, "shard-1");
    await shard.unsubscribe();
    assert.deepEqual(await server.command("PUBSUB", "SHARDNUMSUB", "shard-1").then(textOf), ["shard-1", 0]);
  }));

function textOf(value: unknown): unknown {
  if (value instanceof Uint8Array) return new TextDecoder().decode(value);
  if (Array.isArray(value)) return value.map(textOf);
  return value;
}
