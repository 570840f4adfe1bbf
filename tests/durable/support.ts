// Shared helpers for tests/durable (not a test file): publishing many messages with history, and a
// consumer that records what a subscription delivers, so each test checks order, ids and exactness.
import type { Client, LifecycleEvent, Message, Subscription } from "../../mod.ts";
import type { ClusterClient } from "../../src/cluster/cluster_client.ts";
import { waitFor } from "../shim.ts";

/** What a test checks per delivered message. */
export interface Seen {
  text: string;
  id: string | undefined;
}

/** Publishes `texts` in order with history, `batch` at a time (one tick each: one pipelined write); returns the ids. */
export async function publishAll(
  client: Client | ClusterClient,
  channel: string,
  texts: readonly string[],
  history: { maxLength: number; ttlMs?: number },
  command: "publish" | "spublish" = "publish",
  batch = 200,
): Promise<string[]> {
  const ids: string[] = [];
  for (let start = 0; start < texts.length; start += batch) {
    const results = await Promise.all(
      texts.slice(start, start + batch).map((text) => client[command](channel, text, { history })),
    );
    for (const result of results) ids.push(result.id);
  }
  return ids;
}

/** `count` texts named `${prefix}${n}` for n from `from`. */
export function numbered(prefix: string, count: number, from = 0): string[] {
  return Array.from({ length: count }, (_, index) => `${prefix}${from + index}`);
}

/** Reads a subscription with for-await in the background and records every message and event. */
export class Recorder {
  readonly seen: Seen[] = [];
  readonly events: LifecycleEvent[] = [];
  readonly done: Promise<void>;

  constructor(readonly subscription: Subscription, readonly delayMs: (index: number) => number = () => 0) {
    subscription.onEvent((event) => this.events.push(event));
    this.done = (async () => {
      for await (const message of subscription) {
        this.seen.push(record(message));
        const delay = this.delayMs(this.seen.length);
        if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
      }
    })();
  }

  texts(): string[] {
    return this.seen.map((item) => item.text);
  }

  async waitForCount(count: number, timeoutMs = 10_000): Promise<void> {
    await waitFor(() => this.seen.length >= count, `${count} messages (have ${this.seen.length})`, timeoutMs);
  }

  async waitForEvent(type: LifecycleEvent["type"], timeoutMs = 10_000): Promise<LifecycleEvent> {
    const found = await waitFor(() => this.events.find((event) => event.type === type), `a ${type} event`, timeoutMs);
    return found!;
  }
}

export function record(message: Message): Seen {
  return { text: message.text(), id: message.id };
}

/** The sequence part of an entry id. */
export function seqOf(id: string | undefined): number {
  if (id === undefined) throw new Error("message without an id");
  return Number(id.split("-")[1]);
}
