// Method: a real Chromium (Debian's /usr/bin/chromium, headless, driven by playwright-core as in
// demo.test.ts) on the real demo (examples/sse-demo/server.ts, whose rooms are durable channels) over
// a real server (PUSHWIRE_TEST_SERVER). Nothing in the page is scripted by the test: its EventSource
// reconnects by itself. A room has history when the page joins (it must show the last 50), the demo
// server is stopped (the tab is away: its EventSource retries), 40 messages are published from a
// pushwire client of their own, and a SECOND demo (another pushwire client and HTTP server, started
// on the same port so that the browser's automatic reconnect reaches it) must serve the tab exactly
// the 40 it missed, resumed from the Last-Event-ID the browser sends, then live messages.
// Screenshot: tests/output/browser/durable.png. Skipped (with the reason) only without /usr/bin/chromium.
import { mkdirSync } from "node:fs";
import { assert, test } from "../shim.ts";
import { connect } from "../../mod.ts";
import { keySlot, nativeMemory } from "../../src/native/parser.ts";
import { RedisServer } from "../helpers/redis_server.ts";
import { browserTestOptions, hasChromium, launchChromium } from "./chromium.ts";

const screenshotDirectory = new URL("../output/browser/", import.meta.url);
const history = { maxLength: 500 };

// Load libpushwire outside any test: Deno's sanitizer counts a library first opened inside a test as a leak.
if (hasChromium) keySlot("load");

function chatMessage(text: string): string {
  return JSON.stringify({ text, name: "test", at: Date.now() });
}

test("browser: a durable room shows its last 50 on join, and a tab that was away catches up on another server", async () => {
  const { startDemo } = await import("../../examples/sse-demo/server.ts");
  const redis = await RedisServer.start();
  const publisher = await connect(redis.url);
  let demo = await startDemo({ redisUrl: redis.url, port: 0, quiet: true });
  const port = Number(new URL(demo.url).port);
  const channel = demo.channel("away");
  const browser = await launchChromium();
  try {
    for (let index = 0; index < 60; index++) await publisher.publish(channel, chatMessage(`old ${index}`), { history });
    const page = await browser.newPage({ viewport: { width: 900, height: 900 } });
    const pageErrors: string[] = [];
    page.on("pageerror", (error) => pageErrors.push(String(error)));
    const texts = () => page.$$eval("#messages li:not(.notice):not(.empty)", (items) => items.map((item) => item.textContent ?? ""));
    await page.goto(`${demo.url}?room=away`);
    await page.waitForSelector('#status[data-state="live"]', { timeout: 10_000 });
    await page.locator("#messages li", { hasText: "old 59" }).waitFor({ timeout: 10_000 });
    const joined = await texts();
    assert.equal(joined.length, 50, "the last 50 on join");
    assert.ok(joined[0].endsWith("old 10") && joined[49].endsWith("old 59"), `${joined[0]} … ${joined[49]}`);

    await demo.stop(); // the tab is away: its EventSource sees the stream end and keeps retrying
    await page.waitForSelector('#status[data-state="reconnecting"]', { timeout: 10_000 });
    for (let index = 0; index < 40; index++) await publisher.publish(channel, chatMessage(`missed ${index}`), { history });
    demo = await startDemo({ redisUrl: redis.url, port, quiet: true }); // another client, another server
    await page.locator("#messages li", { hasText: "missed 39" }).waitFor({ timeout: 20_000 });
    await page.waitForSelector('#status[data-state="live"]', { timeout: 10_000 });
    await publisher.publish(channel, chatMessage("live after"), { history });
    await page.locator("#messages li", { hasText: "live after" }).waitFor({ timeout: 10_000 });

    const all = (await texts()).map((text) => text.replace(/^.*?test/, ""));
    const expected = [
      ...Array.from({ length: 50 }, (_, index) => `old ${index + 10}`),
      ...Array.from({ length: 40 }, (_, index) => `missed ${index}`),
      "live after",
    ];
    assert.deepEqual(all, expected, "every message once, in order, across the two servers");
    mkdirSync(screenshotDirectory, { recursive: true });
    await page.screenshot({ path: new URL("durable.png", screenshotDirectory).pathname, fullPage: true });
    assert.deepEqual(pageErrors, []);
  } finally {
    await browser.close();
    await demo.stop();
    await publisher.close();
    await redis.stop();
  }
  assert.equal(nativeMemory().liveBytes, 0, "every native message freed");
}, browserTestOptions(90_000));
