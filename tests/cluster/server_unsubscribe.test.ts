// Method: one real cluster-enabled node (the pass's redis-server or valkey-server) and pushwire's plain
// client. CLUSTER DELSLOTS makes the server end a shard subscription on its own (a `sunsubscribe`
// push), as a slot move does in production; the client's reading is held (@internal holdReading)
// until its own SUNSUBSCRIBE goes out, so the server's push is still unread then, and push and command
// cross exactly as they do when a user unsubscribes during a slot move. The command's real answer then
// differs by server and slot: a second push (Redis 7.0, slot served again), NOSUB (Valkey 8, slot served
// again: the connection has no subscription left), CLUSTERDOWN (slot not served, both). Nothing is faked.
import { assert, runtime, sleep, test, waitFor } from "../shim.ts";
import { RedisServer } from "../helpers/redis_server.ts";
import { asText, RawConnection, RawError, type RawValue } from "../helpers/raw_resp.ts";
import { serverKind } from "../helpers/server_kind.ts";
import { connect } from "../../mod.ts";
import { keySlot, nativeMemory } from "../../src/native/parser.ts";

keySlot("load"); // libpushwire opened outside any test (Deno's sanitizer)

const channel = "orders{crossing}";
const otherChannel = "orders{elsewhere}";

async function startNode(): Promise<RedisServer> {
  const server = await RedisServer.start({
    args: ["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-require-full-coverage", "no"],
  });
  const added = await server.command("CLUSTER", "ADDSLOTSRANGE", 0, 16383);
  if (added instanceof RawError) throw added;
  await waitFor(async () => String(asText(await server.command("CLUSTER", "INFO"))).includes("cluster_state:ok"),
    "cluster_state:ok on the single node");
  return server;
}

// One node for the file (a fresh node takes ~2 s to call its cluster state ok); a test that takes a
// slot away gives it back.
const node = await startNode();

test(`server: the answer to UNSUBSCRIBE-family commands on a connection with no subscription (${serverKind()}, ${runtime})`, async () => {
  for (const protocol of ["2", "3"]) {
    const connection = await RawConnection.connect(node.port);
    try {
      const [, ...answers] = await connection.pipeline([
        ["HELLO", protocol], ["UNSUBSCRIBE", "a", "b"], ["PUNSUBSCRIBE", "p*"], ["SUNSUBSCRIBE", "s"],
      ]);
      if (serverKind() === "valkey") {
        // Valkey 8: one error per command, whatever the number of names.
        assert.deepEqual(answers.map((answer) => (answer as RawError).message), [
          "NOSUB 'unsubscribe' command executed not in subscribed mode",
          "NOSUB 'punsubscribe' command executed not in subscribed mode",
          "NOSUB 'sunsubscribe' command executed not in subscribed mode",
        ]);
      } else {
        // Redis 7.0: a confirmation per name (the raw client reads the first of the two for "a b").
        assert.deepEqual(asText(answers[0] as RawValue), ["unsubscribe", "a", 0]);
      }
    } finally {
      await connection.close();
    }
  }
});

const answers = [
  { slotServedAgain: true, answer: serverKind() === "valkey" ? "NOSUB" : "a second sunsubscribe push" },
  { slotServedAgain: false, answer: "CLUSTERDOWN" },
];

for (const { slotServedAgain, answer } of answers) {
  for (const protocol of [3, 2] as const) {
    test(`unsubscribe crossing the server's own sunsubscribe, answered ${answer}: the connection stays and later commands get their own replies (RESP${protocol}, ${serverKind()}, ${runtime})`, async () => {
      assert.notEqual(keySlot(channel), keySlot(otherChannel));
      const server = node;
      const client = await connect(server.url, { protocol });
      try {
        const received: string[] = [];
        const subscription = await client.ssubscribe(channel, (message) => received.push(message.text()));
        const events: string[] = [];
        subscription.onEvent((event) => events.push(event.type));

        const holder = {};
        client.holdReading(holder);
        // Deno has a read in flight when reading stops: a message fills it, so what follows waits.
        assert.equal(await server.command("SPUBLISH", channel, "fill the read in flight"), 1);
        if (runtime === "deno") await waitFor(() => received.length === 1, "the message in flight");
        else await sleep(50);
        assert.equal(await server.command("CLUSTER", "DELSLOTS", keySlot(channel)), "OK");
        if (slotServedAgain) assert.equal(await server.command("CLUSTER", "ADDSLOTS", keySlot(channel)), "OK");
        // The server already pushed `sunsubscribe` (unread); our SUNSUBSCRIBE follows, then a PUBLISH
        // (RESP3: on the same connection, so its reply comes right after the SUNSUBSCRIBE's answer).
        const unsubscribed = subscription.unsubscribe();
        await sleep(20);
        const published = client.publish("classic-elsewhere", "x");
        await sleep(50);
        client.releaseReading(holder);
        assert.equal(await published, 0, "the PUBLISH got its own reply");
        await unsubscribed;

        // The same connection still serves: a new subscription and a round trip, no reconnect.
        const others: string[] = [];
        await client.ssubscribe(otherChannel, (message) => others.push(message.text()));
        assert.equal(await client.spublish(otherChannel, "after"), 1);
        await waitFor(() => others.length === 1, "the message after the crossing");
        assert.equal(client.stats().reconnects, 0, "no reconnect: the connection was never taken for lost");
        assert.equal(client.stats().errors, 0);
        assert.ok(!events.includes("disconnected"), `events: ${events.join(", ")}`);
      } finally {
        await client.close();
        if (!slotServedAgain) await server.command("CLUSTER", "ADDSLOTS", keySlot(channel));
      }
      assert.equal(nativeMemory().liveBytes, 0);
      assert.equal(nativeMemory().openParsers, 0);
    });
  }
}

test(`unsubscribe as a user whose ACL denies PING: the PING's NOPERM ends the unsubscribe, the next command gets its own reply (${serverKind()}, ${runtime})`, async () => {
  const user = `no-ping-${runtime}`;
  assert.equal(await node.command("ACL", "SETUSER", user, "on", ">secret", "~*", "&*", "+@all", "-ping"), "OK");
  for (const protocol of [3, 2] as const) {
    const client = await connect(node.url.replace("redis://", `redis://${user}:secret@`), { protocol });
    try {
      const subscription = await client.subscribe("classic-denied-ping");
      const unsubscribed = subscription.unsubscribe();
      await sleep(20); // the PUBLISH goes after the UNSUBSCRIBE and its PING
      const published = client.publish("classic-denied-ping", "x");
      let timer: ReturnType<typeof setTimeout> | undefined;
      const late = new Promise((resolve) => (timer = setTimeout(() => resolve("no reply within 5 s"), 5_000)));
      try {
        assert.equal(await Promise.race([published, late]), 0, `RESP${protocol}`);
      } finally {
        clearTimeout(timer);
      }
      await unsubscribed;
      assert.equal(client.stats().reconnects, 0);
    } finally {
      await client.close();
    }
  }
  assert.equal(nativeMemory().liveBytes, 0);
});

// Sanitizers off with a reason: the node is started at module level (one per file), and Deno counts
// stopping a process started before a test as that test's leak.
test(`server unsubscribe: teardown (${runtime})`, async () => {
  await node.stop();
}, { sanitize: false });
