// Method: a real browser (Debian's /usr/bin/chromium driven by playwright-core, headless, no browser
// download) opens the real demo (examples/sse-demo/server.ts started in-process on 127.0.0.1:0, over
// pushwire's client and a real redis-server). The test publishes through the independent raw client
// and the page must show it; then the page posts through its own form and must receive its message
// back over EventSource. The second test does the same over the WebSocket transport (the page's
// switch, the browser's own WebSocket, the pushwire/ws bridge) with an SSE tab in the same room,
// which must see what the WebSocket tab publishes, and a pipelined burst that the page must show whole
// and in order (on Deno the bridge sends most of it in batch frames, which the page unwraps; the
// demo's /stats says how many). Screenshots: tests/output/browser/demo.png and
// demo-ws.png. Skipped (with the reason) only when /usr/bin/chromium is missing; CI installs it
// (scripts/setup.sh --with-browser).
import { mkdirSync } from "node:fs";
import { assert, runtime, test } from "../shim.ts";
import { keySlot, nativeMemory } from "../../src/native/parser.ts";
import { RedisServer } from "../helpers/redis_server.ts";
import { browserTestOptions, hasChromium, launchChromium } from "./chromium.ts";
import { RawConnection, rawCommand } from "../helpers/raw_resp.ts";

const screenshotDirectory = new URL("../output/browser/", import.meta.url);

// Load libpushwire outside any test: Deno's sanitizer counts a library first opened inside a test as a leak.
if (hasChromium) keySlot("load");

test("browser: the SSE demo page shows a published message and its own posts", async () => {
  const { startDemo } = await import("../../examples/sse-demo/server.ts");
  const redis = await RedisServer.start();
  const demo = await startDemo({ redisUrl: redis.url, port: 0, quiet: true });
  const browser = await launchChromium();
  try {
    const page = await browser.newPage({ viewport: { width: 900, height: 720 } });
    const pageErrors: string[] = [];
    page.on("pageerror", (error) => pageErrors.push(String(error)));
    await page.goto(`${demo.url}?room=browser-test`);
    await page.waitForSelector('#status[data-state="live"]', { timeout: 10_000 });

    // A message from outside the page: PUBLISH straight to the room's channel.
    const published = JSON.stringify({ text: "Hello from the test ✓\nsecond line", name: "test", at: Date.now() });
    assert.equal(await rawCommand(redis.port, "PUBLISH", demo.channel("browser-test"), published), 1);
    const item = page.locator("#messages li", { hasText: "Hello from the test ✓" });
    await item.waitFor({ timeout: 10_000 });
    // Published without history (a plain PUBLISH): no history id, so the event has no SSE id.
    assert.equal(await item.getAttribute("data-id"), null);
    assert.match(await item.innerText(), /Hello from the test ✓\nsecond line/);

    // And the page's own form: POST → PUBLISH → back over the event stream.
    await page.fill("#name", "chromium");
    await page.fill("#text", "typed in the page");
    await page.click("#post button");
    const typed = page.locator("#messages li", { hasText: "typed in the page" });
    await typed.waitFor({ timeout: 10_000 });
    assert.match(await typed.getAttribute("data-id") ?? "", /^\d+-0$/, "the room is durable: its first history id");

    mkdirSync(screenshotDirectory, { recursive: true });
    await page.screenshot({ path: new URL("demo.png", screenshotDirectory).pathname });
    assert.deepEqual(pageErrors, []);
  } finally {
    await browser.close();
    await demo.stop();
    await redis.stop();
  }
  assert.equal(nativeMemory().liveBytes, 0, "every native message freed");
}, browserTestOptions(60_000));

test("browser: the demo's WebSocket transport shares the rooms with SSE: published and posted messages reach both tabs", async () => {
  const { startDemo } = await import("../../examples/sse-demo/server.ts");
  const redis = await RedisServer.start();
  const demo = await startDemo({ redisUrl: redis.url, port: 0, quiet: true });
  const browser = await launchChromium();
  try {
    const pageErrors: string[] = [];
    const wsPage = await browser.newPage({ viewport: { width: 900, height: 720 } });
    const ssePage = await browser.newPage({ viewport: { width: 900, height: 720 } });
    for (const page of [wsPage, ssePage]) page.on("pageerror", (error) => pageErrors.push(String(error)));
    await wsPage.goto(`${demo.url}?room=both-ways&transport=ws`);
    await ssePage.goto(`${demo.url}?room=both-ways`);
    for (const page of [wsPage, ssePage]) await page.waitForSelector('#status[data-state="live"]', { timeout: 10_000 });
    assert.equal(await wsPage.locator('#transport input[value="ws"]').isChecked(), true);

    // One PUBLISH from outside: one server subscription feeds both transports.
    const published = JSON.stringify({ text: "to every tab ✓", name: "test", at: Date.now() });
    assert.equal(await rawCommand(redis.port, "PUBLISH", demo.channel("both-ways"), published), 1);
    for (const page of [wsPage, ssePage]) {
      const item = page.locator("#messages li", { hasText: "to every tab ✓" });
      await item.waitFor({ timeout: 10_000 });
      // A plain PUBLISH is not in the room's history: no id on either transport.
      assert.equal(await item.getAttribute("data-id"), null);
    }

    // The WebSocket tab's form publishes through its socket (the demo's hook allows room channels).
    await wsPage.fill("#name", "ws-tab");
    await wsPage.fill("#text", "sent over the socket");
    await wsPage.click("#post button");
    for (const page of [wsPage, ssePage]) {
      await page.locator("#messages li", { hasText: "sent over the socket" }).waitFor({ timeout: 10_000 });
    }
    assert.match(await ssePage.locator("#messages li", { hasText: "sent over the socket" }).innerText(), /ws-tab/);

    // The switch moves a tab to SSE and back without reloading.
    await wsPage.click('#transport input[value="sse"]');
    await wsPage.waitForSelector('#status[data-state="live"]', { timeout: 10_000 });
    await wsPage.click('#transport input[value="ws"]');
    await wsPage.waitForSelector('#status[data-state="live"]', { timeout: 10_000 });
    assert.equal(await rawCommand(redis.port, "PUBLISH", demo.channel("both-ways"), "after switching"), 1);
    await wsPage.locator("#messages li", { hasText: "after switching" }).waitFor({ timeout: 10_000 });

    // A burst in one pipeline: every message shows, in order, however the bridge framed them.
    const burst = Array.from({ length: 40 }, (_, index) => `burst ${String(index).padStart(2, "0")}`);
    const publisher = await RawConnection.connect(redis.port);
    try {
      await publisher.pipeline(burst.map((text) => ["PUBLISH", demo.channel("both-ways"), text]));
    } finally {
      await publisher.close();
    }
    await wsPage.locator("#messages li", { hasText: burst.at(-1)! }).waitFor({ timeout: 10_000 });
    const shown = await wsPage.locator("#messages li", { hasText: /burst \d\d$/ }).allInnerTexts();
    assert.deepEqual(shown.map((text) => text.slice(-8)), burst, "the whole burst, in order");
    const { websockets } = await (await fetch(`${demo.url}stats`)).json();
    if (runtime === "deno") assert.ok(websockets.batches > 0, `batch frames sent to the page: ${websockets.batches}`);

    mkdirSync(screenshotDirectory, { recursive: true });
    await wsPage.screenshot({ path: new URL("demo-ws.png", screenshotDirectory).pathname });
    assert.deepEqual(pageErrors, []);
  } finally {
    await browser.close();
    await demo.stop();
    await redis.stop();
  }
  assert.equal(nativeMemory().liveBytes, 0, "every native message freed");
}, browserTestOptions(60_000));
