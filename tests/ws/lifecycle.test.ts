// Method: everything real — redis-server, pushwire's client (default options, so its own reconnect
// runs), the pushwire/ws bridge on this runtime's HTTP server and the runtime's own WebSocket
// clients. The server cuts the bridge's subscriber connection itself (CLIENT KILL TYPE pubsub, through
// the independent raw client), as a restart or failover would; the browsers must hear about the gap,
// after every message that reached the bridge before it. The publish hook and bad frames are driven
// from the same real sockets.
import { assert, test, waitFor } from "../shim.ts";
import type { WSPublishRequest } from "../../src/ws.ts";
import { keySlot } from "../../src/native/parser.ts";
import { asText } from "../helpers/raw_resp.ts";
import { withBridge } from "./helpers.ts";

keySlot("load");

test("ws lifecycle: CLIENT KILL TYPE pubsub → every socket gets disconnected (after the messages before it) then reconnected, and messages flow again", () =>
  withBridge({}, async ({ bridge, publisher, browsers: open }) => {
    const browsers = await open(5);
    await Promise.all(browsers.map((browser) => browser.subscribe("room:life")));
    const before = Array.from({ length: 300 }, (_, index) => `before ${index}`);
    await publisher.pipeline(before.map((payload) => ["PUBLISH", "room:life", payload]));
    await waitFor(() => bridge.stats().messages === before.length, "the bridge took every message before the kill");
    const killed = Number(asText(await publisher.command("CLIENT", "KILL", "TYPE", "pubsub")));
    assert.equal(killed, 1, "the bridge's one subscriber connection");
    for (const browser of browsers) {
      const disconnected = await browser.next("disconnected");
      assert.equal(disconnected.topic, "room:life");
      assert.equal(typeof disconnected.at, "number");
      const reconnected = await browser.next("reconnected");
      assert.equal(reconnected.topic, "room:life");
      assert.ok(reconnected.downtimeMs >= 0);
      assert.ok(browser.frames.indexOf(disconnected) < browser.frames.indexOf(reconnected));
      const messages = browser.frames.slice(0, browser.frames.indexOf(disconnected)).filter((frame) => frame.type === "message");
      assert.deepEqual(messages.map((frame) => frame.data), before, "every message before the kill, in order, before the disconnected frame");
    }
    await waitFor(async () => Number(await publisher.command("PUBLISH", "room:life", "back")) === 1, "resubscribed");
    await waitFor(() => browsers.every((browser) => browser.of("message").some((frame) => frame.data === "back")), "the message after the reconnect");
  }));

test("ws publish: denied by default; the authorizePublish hook decides per socket; nothing denied reaches Valkey", () =>
  withBridge({}, async ({ bridge: closedBridge, publisher: watcher, browsers, serveAnother }) => {
    const seen: WSPublishRequest[] = [];
    const hooked = serveAnother({
      authorizePublish: (request) => {
        seen.push(request);
        return request.context === "writer" && request.topic.startsWith("room:");
      },
    }, (request) => new URL(request.url).searchParams.get("role"));
    const [plain] = await browsers(1);
    const [writer] = await browsers(1, `${hooked.server.url}?role=writer`);
    const [reader] = await browsers(1, `${hooked.server.url}?role=reader`);
    await reader.subscribe("room:pub");
    plain.send({ op: "publish", topic: "room:pub", data: "from a plain socket", id: 1 });
    const denied = await plain.next("error", 1);
    assert.equal(denied.code, "forbidden");
    assert.equal(closedBridge.stats().denied, 1);

    reader.send({ op: "publish", topic: "room:pub", data: "from a reader", id: 2 });
    assert.equal((await reader.next("error", 2)).code, "forbidden");
    writer.send({ op: "publish", topic: "other", data: "outside the rooms", id: 3 });
    assert.equal((await writer.next("error", 3)).code, "forbidden");

    writer.send({ op: "publish", topic: "room:pub", data: "from the writer ✓", id: 4 });
    const published = await writer.next("published", 4);
    assert.equal(published.receivers, 1, "the reader's topic subscription");
    await waitFor(() => reader.of("message").length === 1, "the allowed message");
    assert.equal(reader.of("message")[0].data, "from the writer ✓");
    assert.deepEqual(seen.map((request) => [request.context, request.topic, request.kind, request.data]), [
      ["reader", "room:pub", "channel", "from a reader"],
      ["writer", "other", "channel", "outside the rooms"],
      ["writer", "room:pub", "channel", "from the writer ✓"],
    ]);
    assert.equal(hooked.bridge.stats().published, 1);
    assert.equal(hooked.bridge.stats().denied, 2);
    const stats = asText(await watcher.command("INFO", "stats")) as string;
    assert.match(stats, /pubsub_channels:1/, "only the reader's channel exists");
  }));

test("ws bad frames: each gets a typed error frame and the socket keeps working", () =>
  withBridge({ maxTopicsPerSocket: 2 }, async ({ bridge, browsers }) => {
    const [browser] = await browsers(1);
    const bad = [
      "not json",
      "[1,2]",
      JSON.stringify({ op: "dance", topic: "x" }),
      JSON.stringify({ op: "subscribe" }),
      JSON.stringify({ op: "subscribe", topic: "x", kind: "galaxy" }),
      JSON.stringify({ op: "subscribe", topic: "x".repeat(1025) }),
      JSON.stringify({ op: "publish", topic: "x", kind: "pattern", data: "d" }),
      JSON.stringify({ op: "publish", topic: "x", data: 42 }),
      JSON.stringify({ op: "subscribe", topic: "x", id: { nested: true } }),
    ];
    for (const text of bad) browser.send(text);
    browser.socket.send(new Uint8Array([1, 2, 3]));
    await waitFor(() => browser.of("error").length === bad.length + 1, "an error frame for each bad frame");
    assert.ok(browser.of("error").every((frame) => frame.code === "bad-request" && /^pushwire\/ws: /.test(frame.message)));
    assert.equal(bridge.stats().badFrames, bad.length + 1);

    await browser.subscribe("a");
    await browser.subscribe("b");
    browser.send({ op: "subscribe", topic: "c", id: "third" });
    assert.equal((await browser.next("error", "third")).code, "limit");
    await browser.subscribe("a"); // already on it: no new topic, no error
    assert.equal(bridge.stats().topics, 2);
  }));
