// The browser of the browser tests (not a test file): Debian's /usr/bin/chromium, headless, driven by
// playwright-core (no browser download), and the test options every browser test shares.
import { existsSync } from "node:fs";
import type { TestOptions } from "../shim.ts";

export const chromiumPath = "/usr/bin/chromium";
export const hasChromium = existsSync(chromiumPath);

/** A headless Chromium with the flags these tests need (no sandbox in CI containers, no background traffic). */
export async function launchChromium() {
  const { chromium } = await import("playwright-core");
  return chromium.launch({
    executablePath: chromiumPath,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
}

/** Skipped (with the reason) only without Chromium; sanitizers off for the reason below. */
export function browserTestOptions(timeoutMs: number): TestOptions {
  return {
    timeoutMs,
    skip: hasChromium ? false : `${chromiumPath} is missing (install it: scripts/setup.sh --with-browser)`,
    // playwright-core keeps its own pipes and timers alive across the test boundary (it owns the browser
    // process); Deno's sanitizers would report them. Servers are still stopped in each test's `finally`.
    sanitize: false,
  };
}
