// Test helpers for tests/sse: a scripted in-memory Subscription (the contract of docs/ARCHITECTURE.md:
// AsyncIterable + unsubscribe + onEvent) and an event-stream parser written from the WHATWG
// "text/event-stream" interpretation rules, so tests see events the way a browser's EventSource would.
import type { SSELifecycleEvent, SSEMessage, SSESubscription } from "../../src/sse.ts";

const encoder = new TextEncoder();

export function message(channel: string, payload: string | Uint8Array, kind = "message"): SSEMessage {
  const data = typeof payload === "string" ? encoder.encode(payload) : payload;
  return { kind, channel, pattern: undefined, data };
}

/** A Subscription driven by the test: push() delivers, emit() raises lifecycle events, end() finishes. */
export class FakeSubscription implements SSESubscription {
  readonly names: readonly string[];
  unsubscribeCalls = 0;
  closed = false;
  #buffer: SSEMessage[] = [];
  #waiting: ((result: IteratorResult<SSEMessage>) => void) | undefined;
  #failure: Error | undefined;
  #listeners = new Set<(event: SSELifecycleEvent) => void>();

  constructor(...names: string[]) {
    this.names = names;
  }

  get listenerCount(): number {
    return this.#listeners.size;
  }

  push(...messages: SSEMessage[]): void {
    for (const item of messages) {
      if (this.closed) return;
      if (this.#waiting) {
        const resolve = this.#waiting;
        this.#waiting = undefined;
        resolve({ value: item, done: false });
      } else {
        this.#buffer.push(item);
      }
    }
  }

  emit(event: SSELifecycleEvent): void {
    for (const listener of [...this.#listeners]) listener(event);
  }

  /** Finishes the iterator (with an error: next() rejects), as a closing client would. */
  end(error?: Error): void {
    if (this.closed) return;
    this.closed = true;
    this.#failure = error;
    this.emit({ type: "end", at: Date.now(), error });
    const resolve = this.#waiting;
    this.#waiting = undefined;
    resolve?.({ value: undefined, done: true });
  }

  unsubscribe(): Promise<void> {
    this.unsubscribeCalls++;
    this.end();
    return Promise.resolve();
  }

  onEvent(listener: (event: SSELifecycleEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  [Symbol.asyncIterator](): AsyncIterator<SSEMessage> {
    return {
      next: () => {
        const item = this.#buffer.shift();
        if (item) return Promise.resolve({ value: item, done: false });
        if (this.#failure) return Promise.reject(this.#failure);
        if (this.closed) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve) => (this.#waiting = resolve));
      },
    };
  }
}

export interface ParsedEvent {
  type: string;
  data: string;
  lastEventId: string;
}

/**
 * Incremental event-stream parser (WHATWG HTML §9.2.6 interpretation): lines end at CRLF, LF or CR;
 * a leading BOM is skipped; ":" starts a comment; one space after the field's colon is removed;
 * `data` lines join with LF; an event with an empty data buffer is not dispatched.
 */
export class EventStreamParser {
  events: ParsedEvent[] = [];
  comments: string[] = [];
  retryMs: number | undefined;
  #decoder = new TextDecoder();
  #pending = "";
  #pendingCr = false;
  #data = "";
  #type = "";
  #lastEventId = "";

  feed(bytes: Uint8Array): void {
    this.#pending += this.#decoder.decode(bytes, { stream: true });
    let start = 0;
    for (let index = 0; index < this.#pending.length; index++) {
      const character = this.#pending[index];
      if (character === "\n" && this.#pendingCr) {
        this.#pendingCr = false;
        start = index + 1;
        continue;
      }
      this.#pendingCr = false;
      if (character !== "\n" && character !== "\r") continue;
      this.#pendingCr = character === "\r";
      this.#line(this.#pending.slice(start, index));
      start = index + 1;
    }
    this.#pending = this.#pending.slice(start);
  }

  #line(line: string): void {
    if (line === "") return this.#dispatch();
    if (line.startsWith(":")) {
      this.comments.push(line.slice(1).replace(/^ /, ""));
      return;
    }
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "data") this.#data += value + "\n";
    else if (field === "event") this.#type = value;
    else if (field === "id" && !value.includes("\0")) this.#lastEventId = value;
    else if (field === "retry" && /^\d+$/.test(value)) this.retryMs = Number(value);
  }

  #dispatch(): void {
    if (this.#data === "") {
      this.#type = "";
      return;
    }
    this.events.push({ type: this.#type || "message", data: this.#data.slice(0, -1), lastEventId: this.#lastEventId });
    this.#data = "";
    this.#type = "";
  }
}

/** Reads a Response body into a parser until `until(parser)` holds (or the body ends). */
export async function readEvents(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  parser: EventStreamParser,
  until: (parser: EventStreamParser) => boolean,
): Promise<boolean> {
  while (!until(parser)) {
    const { value, done } = await reader.read();
    if (done) return false;
    parser.feed(value);
  }
  return true;
}
