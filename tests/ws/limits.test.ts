// Method: everything real — redis-server, pushwire's client, the pushwire/ws bridge on this runtime's
// HTTP server, the runtime's own WebSocket clients and one raw-socket client that never reads. What is
// checked: a browser frame's size is its UTF-8 bytes (not its UTF-16 length), a socket that closes
// while out of the fan-out still has what it missed counted, and (Bun) a bridge refuses a second server.
import { assert, runtime, test, waitFor } from "../shim.ts";
import { InvalidArgumentError } from "../../mod.ts";
import { Browser, withBridge } from "./helpers.ts";

// deno-lint-ignore no-explicit-any
declare const Bun: any;

test(`ws limits: maxFrameBytes counts a frame's UTF-8 bytes (${runtime})`, () =>
  withBridge({ maxFrameBytes: 1024 }, async ({ bridge, browsers }) => {
    const [browser] = await browsers(1);
    // "é" is one UTF-16 unit and two UTF-8 bytes: 490 of them make a 1,018-byte frame, 500 a 1,038-byte one
    // (538 units: a count by length would let it through).
    const frame = (count: number) => JSON.stringify({ op: "subscribe", topic: "é".repeat(count), id: count });
    assert.equal(new TextEncoder().encode(frame(490)).length, 1018);
    assert.equal(new TextEncoder().encode(frame(500)).length, 1038);
    browser.send(frame(490));
    assert.equal((await browser.next(["subscribed", "error"], 490)).type, "subscribed");
    browser.send(frame(500));
    if (runtime === "deno") {
      // Deno hands the bridge the frame: it answers with a limit error and counts a bad frame.
      assert.equal((await browser.next("error", undefined)).code, "limit");
      assert.equal(bridge.stats().badFrames, 1);
      assert.equal(bridge.stats().topics, 1, "the frame over the limit subscribed nothing");
    } else {
      // Bun enforces maxPayloadLength itself: the socket is closed (1009, message too big).
      assert.equal((await browser.closed).code, 1009);
    }
  }));

test(`ws limits: a socket that closes while out of the fan-out has what it missed counted as dropped (${runtime})`, () =>
  withBridge({}, async ({ bridge, publisher, browsers, stalled: openStalled }) => {
    const [browser] = await browsers(1);
    const stalled = await openStalled("room:gone");
    const payload = "x".repeat(8 * 1024);
    await browser.subscribe("room:gone");
    // 2,000 × 8 KiB: far past the stalled socket's 1 MiB bound, so it leaves the fan-out.
    for (let start = 0; start < 2_000; start += 100) {
      await publisher.pipeline(Array.from({ length: 100 }, () => ["PUBLISH", "room:gone", payload]));
    }
    await waitFor(() => browser.of("message").length >= 2_000, "the reading socket got all 2,000", 30_000);
    await waitFor(() => bridge.stats().detachedSockets === 1, "the stalled socket is out of the fan-out");
    assert.equal(bridge.stats().dropped, 0, "nothing counted while it may still drain and be told");
    await stalled.close();
    await waitFor(() => bridge.stats().sockets === 1, "the bridge saw the close");
    const { dropped } = bridge.stats();
    assert.ok(dropped > 0 && dropped < 2_000, `what it missed is counted: ${dropped}`);
    assert.equal(browser.of("dropped").length, 0, "the reading socket lost nothing");
  }), { timeoutMs: 60_000 });

if (runtime === "bun") {
  test("ws limits: a bridge serves one Bun server; an upgrade through a second is an InvalidArgumentError", () =>
    withBridge({}, async ({ bridge, browsers }) => {
      const errors: unknown[] = [];
      const second = Bun.serve({
        hostname: "127.0.0.1",
        port: 0,
        fetch: (request: Request, bunServer: unknown) => {
          try {
            return bridge.upgrade(request, bunServer);
          } catch (error) {
            errors.push(error);
            return new Response("refused", { status: 500 });
          }
        },
        websocket: bridge.websocket,
      });
      try {
        const [browser] = await browsers(1);
        await Browser.open(`ws://127.0.0.1:${second.port}/ws`).then(
          (stray) => stray.close().then(() => assert.fail("the second server upgraded a socket")),
          () => {},
        );
        assert.equal(errors.length, 1);
        assert.ok(errors[0] instanceof InvalidArgumentError, `got ${errors[0]}`);
        await browser.subscribe("room:one"); // the first server goes on
        assert.equal(bridge.stats().sockets, 1);
      } finally {
        await second.stop(true);
      }
    }));
}
