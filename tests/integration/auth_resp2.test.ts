// Method: real redis-server processes configured for each case (ACL users set through the independent
// raw client, --requirepass, HELLO disabled with rename-command to play an old server); the server's
// own CLIENT LIST tells which protocol and name each connection really uses.
import { assert, runtime, test, waitFor } from "../shim.ts";
import { connect, ReplyError } from "../../mod.ts";
import type { RedisServer } from "../helpers/redis_server.ts";
import { RawConnection } from "../helpers/raw_resp.ts";
import { numsub, withServer } from "./support.ts";

async function clientList(server: RedisServer, password?: string): Promise<string[]> {
  const connection = await RawConnection.connect(server.port);
  let reply;
  try {
    if (password !== undefined) await connection.command("AUTH", password);
    reply = await connection.command("CLIENT", "LIST");
  } finally {
    await connection.close();
  }
  const text = reply instanceof Uint8Array ? new TextDecoder().decode(reply) : String(reply);
  return text.trim().split("\n").filter((line) => !line.includes("cmd=client|list"));
}

async function roundTrip(client: Awaited<ReturnType<typeof connect>>, channel: string): Promise<void> {
  const subscription = await client.subscribe(channel);
  assert.equal(await client.publish(channel, `hello ${channel}`), 1);
  const message = (await subscription[Symbol.asyncIterator]().next()).value!;
  assert.equal(message.text(), `hello ${channel}`);
  await subscription.unsubscribe();
}

test(`auth: an ACL user from the URL, with a client name (${runtime})`, () =>
  withServer(async (server) => {
    assert.equal(await server.command("ACL", "SETUSER", "alice", "on", ">s3cret", "~*", "&*", "+@all"), "OK");
    await using client = await connect(`redis://alice:s3cret@127.0.0.1:${server.port}`, { name: "pushwire-test" });
    await roundTrip(client, "acl");
    const lines = await clientList(server);
    assert.equal(lines.length, 1, "RESP3: one connection carries everything");
    assert.match(lines[0], /name=pushwire-test/);
    assert.match(lines[0], /user=alice/);
    assert.match(lines[0], /resp=3/);
  }));

test(`auth: a wrong password is a clear ReplyError, with no retry storm (${runtime})`, () =>
  withServer(async (server) => {
    await server.command("ACL", "SETUSER", "bob", "on", ">right", "~*", "&*", "+@all");
    const error = await connect(server.url, { username: "bob", password: "wrong" }).then(
      () => assert.fail("connected with a wrong password"),
      (error: unknown) => error,
    );
    assert.ok(error instanceof ReplyError);
    assert.equal(error.serverCode, "WRONGPASS");
    assert.match(error.message, /authentication as user "bob" failed/);
    const info = await server.command("INFO", "stats");
    const text = info instanceof Uint8Array ? new TextDecoder().decode(info) : String(info);
    const connections = Number(/total_connections_received:(\d+)/.exec(text)?.[1]);
    assert.ok(connections <= 4, `one attempt, not a storm (server saw ${connections} connections)`);
  }));

test(`auth: requirepass with the password option, RESP3 and forced RESP2 (${runtime})`, () =>
  withServer(async (server) => {
    // Set after start rather than with --requirepass: the harness's readiness probe (INFO) has no password.
    await server.command("CONFIG", "SET", "requirepass", "pw");
    {
      await using client = await connect(server.url, { password: "pw" });
      await roundTrip(client, "resp3");
    }
    {
      await using client = await connect(server.url, { password: "pw", protocol: 2 });
      await roundTrip(client, "resp2");
    }
    await assert.rejects(connect(server.url, { password: "nope" }), { name: "ReplyError", serverCode: "WRONGPASS" });
    await assert.rejects(connect(server.url, { protocol: 2 }), { name: "ReplyError" });
  }));

test(`resp2: protocol 2 subscribes on one connection and publishes on a second (${runtime})`, () =>
  withServer(async (server) => {
    await using client = await connect(server.url, { protocol: 2, name: "resp2-client" });
    const channels = await client.subscribe("r2");
    const patterns = await client.psubscribe("r2.*");
    assert.equal(await client.publish("r2", "plain"), 1);
    assert.equal(await client.publish("r2.x", "patterned"), 1);
    const message = (await channels[Symbol.asyncIterator]().next()).value!;
    assert.deepEqual([message.kind, message.channel, message.text()], ["message", "r2", "plain"]);
    const pmessage = (await patterns[Symbol.asyncIterator]().next()).value!;
    assert.deepEqual([pmessage.kind, pmessage.pattern, pmessage.channel], ["pmessage", "r2.*", "r2.x"]);
    const lines = await clientList(server);
    assert.equal(lines.length, 2);
    assert.ok(lines.every((line) => /resp=2/.test(line) && /name=resp2-client/.test(line)));
    assert.equal(lines.filter((line) => /sub=1 psub=1/.test(line)).length, 1, "one subscriber connection");
    await channels.unsubscribe();
    assert.equal(await numsub(server, "r2"), 0);
    assert.equal(client.stats().nativeLiveBytes, 0);
  }));

test(`resp2: while only the subscriber reconnects, a publish goes out at once on the command connection (${runtime})`, () =>
  withServer(async (server) => {
    await using client = await connect(server.url, { protocol: 2, reconnect: { initialDelayMs: 10, maxDelayMs: 50, maxAttempts: 1_000 } });
    const subscription = await client.subscribe("r2-back");
    const events: string[] = [];
    subscription.onEvent((event) => events.push(event.type));
    assert.equal(await client.publish("r2-back", "before"), 1); // opens the command connection
    // Cut the subscriber and keep it out: the server then takes no new connection (this raw one and
    // the client's command connection are the two it still has).
    const admin = await RawConnection.connect(server.port);
    try {
      await admin.command("CLIENT", "KILL", "TYPE", "pubsub");
      await admin.command("CONFIG", "SET", "maxclients", "2");
      await waitFor(() => events.includes("disconnected"), "the subscriber to be lost");
      let timer: ReturnType<typeof setTimeout> | undefined;
      const receivers = await Promise.race([
        client.publish("r2-back", "meanwhile"),
        new Promise((_, reject) => (timer = setTimeout(() => reject(new Error("the publish waited for the subscriber")), 1_000))),
      ]).finally(() => clearTimeout(timer));
      assert.equal(receivers, 0, "published while nobody was subscribed");
      assert.ok(!events.includes("reconnected"), "the subscriber was still away");
      await admin.command("CONFIG", "SET", "maxclients", "10000");
    } finally {
      await admin.close();
    }
    await waitFor(() => events.includes("reconnected"), "the subscriber to come back");
    assert.equal(await client.publish("r2-back", "after"), 1);
    const texts: string[] = [];
    for await (const message of subscription) {
      texts.push(message.text());
      if (texts.length === 2) break;
    }
    assert.deepEqual(texts, ["before", "after"]);
  }));

test(`resp2: a server without HELLO falls back to RESP2 (${runtime})`, () =>
  withServer(async (server) => {
    await server.command("CONFIG", "SET", "requirepass", "old");
    await using client = await connect(server.url, { password: "old" });
    await roundTrip(client, "fallback");
    const lines = await clientList(server, "old");
    assert.equal(lines.length, 2, "RESP2: a subscriber connection and a command connection");
    assert.ok(lines.every((line) => /resp=2/.test(line)));
  }, ["--rename-command", "HELLO", ""]));
