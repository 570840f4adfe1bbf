// Method: two real servers of the pass's kind (redis-server or valkey-server), one started with
// --replicaof the other, and pushwire's client on the replica. What is checked is what a replica does
// with pushwire's commands: subscriptions there get what the primary publishes (replication), its own
// PUBLISH stays on the replica, and Valkey 8's `CLIENT CAPA redirect` (pushwire never declares it)
// turns a read or write command into a -REDIRECT error, which is a typed ReplyError and leaves the
// connection's reply order intact. The CAPA is declared by the test through the @internal command().
import { assert, runtime, test, waitFor } from "../shim.ts";
import { RedisServer } from "../helpers/redis_server.ts";
import { asText } from "../helpers/raw_resp.ts";
import { serverKind } from "../helpers/server_kind.ts";
import { connect, ReplyError } from "../../mod.ts";
import { assertNoNativeMemory } from "./support.ts";

async function startPair(): Promise<{ primary: RedisServer; replica: RedisServer }> {
  // No 5 s wait for more replicas before the first full sync (repl-diskless-sync-delay's default).
  const primary = await RedisServer.start({ args: ["--repl-diskless-sync-delay", "0"] });
  try {
    const replica = await RedisServer.start({ args: ["--replicaof", primary.host, String(primary.port)] });
    await waitFor(async () => String(asText(await replica.command("INFO", "replication"))).includes("master_link_status:up"),
      "the replica's sync with its primary");
    return { primary, replica };
  } catch (error) {
    await primary.stop();
    throw error;
  }
}

async function capaCalls(server: RedisServer): Promise<number> {
  const stats = String(asText(await server.command("INFO", "commandstats")));
  return Number(/cmdstat_client\|capa:calls=(\d+)/.exec(stats)?.[1] ?? 0);
}

test(`replica: subscriptions get what the primary publishes; a publish on the replica stays there; pushwire declares no CLIENT CAPA (${serverKind()}, ${runtime})`, async () => {
  const { primary, replica } = await startPair();
  const onReplica = await connect(replica.url);
  const onPrimary = await connect(primary.url);
  try {
    const replicaGot: string[] = [];
    const primaryGot: string[] = [];
    await onReplica.subscribe("news", (message) => replicaGot.push(message.text()));
    await onPrimary.subscribe("news", (message) => primaryGot.push(message.text()));

    assert.equal(await onPrimary.publish("news", "from the primary"), 1); // its own receivers only
    await waitFor(() => replicaGot.includes("from the primary") && primaryGot.includes("from the primary"),
      "the primary's message on both");
    // Not redirected, not an error: the replica delivers to its own subscribers and replicates nothing back.
    assert.equal(await onReplica.publish("news", "from the replica"), 1);
    await waitFor(() => replicaGot.includes("from the replica"), "the replica's own message");
    assert.equal(await onPrimary.publish("news", "fence"), 1);
    await waitFor(() => primaryGot.includes("fence"), "the primary's later message");
    assert.deepEqual(primaryGot, ["from the primary", "fence"]);
    assert.equal(await capaCalls(replica), 0, "pushwire sent no CLIENT CAPA");
  } finally {
    await onReplica.close();
    await onPrimary.close();
    await replica.stop();
    await primary.stop();
  }
  assertNoNativeMemory();
});

test(`replica: -REDIRECT after CLIENT CAPA redirect is a ReplyError naming the primary; later replies keep their order (${serverKind()}, ${runtime})`, async () => {
  const { primary, replica } = await startPair();
  const client = await connect(replica.url);
  try {
    const got: string[] = [];
    await client.subscribe("news", (message) => got.push(message.text()));
    const capa = client.command(["CLIENT", "CAPA", "redirect"]);
    if (serverKind() === "redis") {
      // Redis 7.0 has no CAPA: a typed error, and the connection goes on.
      const refused = await capa.catch((error) => error);
      assert.ok(refused instanceof ReplyError, String(refused));
      assert.match(refused.message, /unknown subcommand/i);
    } else {
      assert.equal(await capa, "OK");
      // GET (a read) and SET (a write) are redirected; the PUBLISH between them is answered in place.
      const [read, published, write] = await Promise.allSettled([
        client.command(["GET", "some-key"]),
        client.publish("news", "between"),
        client.command(["SET", "some-key", "v"]),
      ]);
      for (const outcome of [read, write]) {
        assert.equal(outcome.status, "rejected");
        const error = (outcome as PromiseRejectedResult).reason;
        assert.ok(error instanceof ReplyError, String(error));
        assert.equal(error.serverCode, "REDIRECT");
        assert.ok(error.message.includes(`${primary.host}:${primary.port}`), error.message);
      }
      assert.deepEqual(published, { status: "fulfilled", value: 1 });
    }
    assert.equal(await client.publish("news", "after"), 1);
    await waitFor(() => got.includes("after"), "a message after the errors");
    assert.equal(client.stats().reconnects, 0);
  } finally {
    await client.close();
    await replica.stop();
    await primary.stop();
  }
  assertNoNativeMemory();
});
