// Test shim: the same test files run under `bun test` and `deno test`.
// Assertions come from node:assert/strict (both runtimes ship it; @std/assert cannot be installed here).
// Rule: tests import `test` and `assert` from here and nothing runtime-specific.
import assert from "node:assert/strict";

export { assert };

export type TestFunction = () => void | Promise<void>;
export interface TestOptions {
  /** Fails the test when it runs longer (default 30 s). */
  timeoutMs?: number;
  /** Skips the test; a string says why (printed by both runners). */
  skip?: boolean | string;
  /** Deno only: keep op/resource sanitizers on (default true). Turn off only with a reason. */
  sanitize?: boolean;
}

// deno-lint-ignore no-explicit-any
declare const Deno: any;
declare const Bun: unknown;

export const runtime: "bun" | "deno" = typeof Bun !== "undefined" ? "bun" : "deno";

// The specifier is built at run time so Deno never tries to resolve "bun:test".
// deno-lint-ignore no-explicit-any
const bunTest: any = runtime === "bun" ? await import(["bun", "test"].join(":")) : undefined;

const defaultTimeoutMs = 30_000;

export function test(name: string, fn: TestFunction, options: TestOptions = {}): void {
  const timeoutMs = options.timeoutMs ?? defaultTimeoutMs;
  const skip = options.skip !== undefined && options.skip !== false;
  if (runtime === "bun") {
    if (skip) bunTest.test.skip(name, fn);
    else bunTest.test(name, fn, timeoutMs);
    return;
  }
  const sanitize = options.sanitize ?? true;
  Deno.test({
    name,
    ignore: skip,
    sanitizeOps: sanitize,
    sanitizeResources: sanitize,
    fn: () => withTimeout(name, fn, timeoutMs),
  });
}

// Deno.test has no timeout of its own; a hung test must fail, not hang CI.
async function withTimeout(name: string, fn: TestFunction, timeoutMs: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`test "${name}" timed out after ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    await Promise.race([fn(), expired]);
  } finally {
    clearTimeout(timer);
  }
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `condition` every `intervalMs` until it returns truthy or `timeoutMs` passes (then throws). */
export async function waitFor<T>(
  condition: () => T | Promise<T>,
  description: string,
  timeoutMs = 5_000,
  intervalMs = 10,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await condition();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${description}`);
    await sleep(intervalMs);
  }
}
