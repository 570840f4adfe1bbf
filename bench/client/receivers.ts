// One small adapter per subscriber library, so every client benchmark drives them the same way:
// connect (not timed), subscribe to one channel with a listener that receives the library's own payload
// object, close. Rule: each adapter uses the library's fastest documented receive path that still
// hands the user the payload (buffer mode where the library has one) and does no extra work.
//
// Libraries: pushwire (callback form), pushwire-iterator (`for await`), ioredis (messageBuffer event),
// node-redis (subscribe(channel, listener, bufferMode = true)), bun-redis (Bun's built-in RedisClient,
// strings only: it has no buffer mode). Peers are imported lazily so a missing one fails only its run.
// Plus two floors that are not libraries: socket-floor, pushwire's own transport with no parsing at all
// (it counts bytes and calls the listener once per whole frame length): what receiving the bytes into
// JavaScript costs on this runtime, the part of every JS-socket client's cost no parser can remove; and
// socket-views, the same plus one payload array per message (a view of the chunk where the payload
// is, made the cheapest way measured on the runtime), still with no parsing: a bound on any client
// that hands the listener its own Uint8Array per message (see bench/README.md, "Bounds").

import process from "node:process";

export type LibraryName =
  | "pushwire"
  | "pushwire-iterator"
  | "ioredis"
  | "node-redis"
  | "bun-redis"
  | "socket-floor"
  | "socket-views";
export const PUSHWIRE_LIBRARIES: readonly LibraryName[] = ["pushwire", "pushwire-iterator"];
export const PEER_LIBRARIES: readonly LibraryName[] = ["ioredis", "node-redis", "bun-redis"];
/** Not compared as a peer: a floor (fixed-length frames: replay server and redis-server runs). */
export const FLOOR_LIBRARIES: readonly LibraryName[] = ["socket-floor", "socket-views"];

export function librariesFor(runtime: "bun" | "deno"): LibraryName[] {
  const all: LibraryName[] = [...PUSHWIRE_LIBRARIES, ...PEER_LIBRARIES, ...FLOOR_LIBRARIES];
  return runtime === "bun" ? all : all.filter((name) => name !== "bun-redis");
}

/** What a listener receives: a Uint8Array/Buffer, or a string (bun-redis). Both have `.length`. */
export type Payload = Uint8Array | string;

export interface Receiver {
  /** Resolves once the server confirmed the subscription. `onMessage` runs once per message. */
  subscribe(channel: string, onMessage: (payload: Payload) => void): Promise<void>;
  /** Messages the library dropped on purpose (pushwire overflow counters), if it reports any. */
  dropped(): number;
  close(): Promise<void>;
}

export interface ReceiverOptions {
  /** 3 (HELLO 3, the default of every library here) or 2 (RESP2 pub/sub arrays). */
  protocol: 2 | 3;
  /** Payload size of every message (socket-floor computes the frame length from it). */
  payloadBytes: number;
}

export async function openReceiver(library: LibraryName, url: string, options: ReceiverOptions): Promise<Receiver> {
  switch (library) {
    case "pushwire":
      return await openPushwire(url, options, "callback");
    case "pushwire-iterator":
      return await openPushwire(url, options, "iterator");
    case "ioredis":
      return await openIoredis(url, options);
    case "node-redis":
      return await openNodeRedis(url, options);
    case "bun-redis":
      return await openBunRedis(url, options);
    case "socket-floor":
      return await openSocketFloor(url, options, false);
    case "socket-views":
      return await openSocketFloor(url, options, true);
  }
}

// ---- pushwire ---------------------------------------------------------------------------------------

// deno-lint-ignore no-explicit-any
type Any = any;

async function openPushwire(url: string, options: ReceiverOptions, form: "callback" | "iterator"): Promise<Receiver> {
  const pushwire: Any = await import("../../mod.ts");
  // Default flow options in both forms (what a user's first program runs): the iterator form paces
  // the socket itself (src/flow.ts); anything dropped anyway is reported and breaks the run.
  const client: Any = await pushwire.connect(url, { protocol: options.protocol, reconnect: false });
  const subscriptions: Any[] = [];
  return {
    async subscribe(channel, onMessage) {
      if (form === "callback") {
        subscriptions.push(await client.subscribe(channel, { onMessage: (message: Any) => onMessage(message.data) }));
        return;
      }
      const subscription = await client.subscribe(channel);
      subscriptions.push(subscription);
      (async () => {
        for await (const message of subscription) onMessage(message.data);
      })().catch((error) => {
        console.error(`pushwire-iterator: ${error?.stack ?? error}`);
        process.exit(1);
      });
    },
    dropped() {
      let dropped = 0;
      for (const subscription of subscriptions) dropped += subscription.stats?.().dropped ?? 0;
      return dropped;
    },
    async close() {
      await client.close();
    },
  };
}

// ---- ioredis ----------------------------------------------------------------------------------------

async function openIoredis(url: string, options: ReceiverOptions): Promise<Receiver> {
  const { default: Redis }: Any = await import("ioredis");
  const client: Any = new Redis(url, {
    protocol: options.protocol,
    lazyConnect: true,
    enableReadyCheck: false,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  await client.connect();
  return {
    async subscribe(channel, onMessage) {
      client.on("messageBuffer", (_channel: Uint8Array, message: Uint8Array) => onMessage(message));
      await client.subscribe(channel);
    },
    dropped: () => 0,
    close() {
      client.disconnect();
      return Promise.resolve();
    },
  };
}

// ---- node-redis -------------------------------------------------------------------------------------

async function openNodeRedis(url: string, options: ReceiverOptions): Promise<Receiver> {
  const { createClient }: Any = await import("redis");
  const client: Any = createClient({ url, RESP: options.protocol, socket: { reconnectStrategy: false } });
  client.on("error", () => {});
  await client.connect();
  return {
    async subscribe(channel, onMessage) {
      await client.subscribe(channel, (message: Uint8Array) => onMessage(message), true);
    },
    dropped: () => 0,
    async close() {
      if (typeof client.destroy === "function") client.destroy();
      else await client.disconnect();
    },
  };
}

// ---- Bun's built-in RedisClient ------------------------------------------------------------------------

async function openBunRedis(url: string, options: ReceiverOptions): Promise<Receiver> {
  const bun: Any = (globalThis as Any).Bun;
  if (!bun?.RedisClient) throw new Error("bun-redis runs on Bun only");
  if (options.protocol !== 3) throw new Error("bun-redis speaks RESP3 only");
  const client: Any = new bun.RedisClient(url, { autoReconnect: false });
  await client.connect();
  return {
    async subscribe(channel, onMessage) {
      await client.subscribe(channel, (message: string) => onMessage(message));
    },
    dropped: () => 0,
    close() {
      client.close();
      return Promise.resolve();
    },
  };
}

// ---- socket floor (not a library) ---------------------------------------------------------------------

/**
 * Payload views for socket-views, the cheapest way measured per runtime (2 M views of 256 B in 128 KiB
 * chunks, ns each): Bun, a Buffer alias of the chunk then Buffer#subarray 33–36, against
 * new Uint8Array(buffer, offset, length) 51, Uint8Array#subarray 52, slice 53; Deno,
 * new Uint8Array(buffer, offset, length) 27.5, subarray 51.
 */
type ViewMaker = (chunk: Uint8Array) => (start: number, length: number) => Uint8Array;
const makeViews: ViewMaker = typeof (globalThis as { Bun?: unknown }).Bun !== "undefined"
  ? (chunk) => {
    const alias = (globalThis as Any).Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length);
    return (start, length) => alias.subarray(start, start + length);
  }
  : (chunk) => {
    const buffer = chunk.buffer;
    const offset = chunk.byteOffset;
    return (start, length) => new Uint8Array(buffer, offset + start, length);
  };

async function openSocketFloor(url: string, options: ReceiverOptions, views: boolean): Promise<Receiver> {
  if (options.protocol !== 3) throw new Error("socket floors count RESP3 push frames only");
  const { openTransport }: Any = await import("../../src/transport/open.ts");
  const { port, hostname } = new URL(url);
  const encoder = new TextEncoder();
  let subscribed: (() => void) | undefined;
  let marker: Uint8Array | undefined;
  let seen = "";
  let frameLength = 0;
  let messageBytes = 0;
  let delivered = 0;
  let onMessage: (payload: Payload) => void = () => {};
  const payload = new Uint8Array(options.payloadBytes);
  const transport: Any = await openTransport({ endpoint: { kind: "tcp", host: hostname, port: Number(port) }, tls: undefined }, {
    onData(chunk: Uint8Array) {
      if (marker !== undefined) {
        // Before the confirmation: look for it (a few hundred bytes of handshake, read as latin1).
        seen += String.fromCharCode(...chunk.subarray(0, Math.min(chunk.length, 4096)));
        const text = new TextDecoder("latin1").decode(marker);
        const at = seen.indexOf(text);
        if (at < 0) return;
        messageBytes = seen.length - at - text.length + Math.max(0, chunk.length - 4096);
        marker = undefined;
        subscribed?.();
      } else {
        messageBytes += chunk.length;
      }
      const complete = Math.floor(messageBytes / frameLength);
      if (!views) {
        while (delivered < complete) {
          delivered++;
          onMessage(payload);
        }
        return;
      }
      // Message k's payload ends 2 bytes before its frame does; where that is in this chunk follows
      // from how much of the stream the chunk ends at. A payload cut by the chunk's start is the
      // rare one that gets its own array. The views stay valid, as a client's payloads must after
      // its callback returns: onData says the chunk is kept, so no later read writes there (Bun
      // reads every chunk into fresh memory anyway; Deno's transport goes on in fresh memory).
      const view = makeViews(chunk);
      const payloadBytes = options.payloadBytes;
      while (delivered < complete) {
        delivered++;
        const start = chunk.length - (messageBytes - (delivered * frameLength - 2 - payloadBytes));
        onMessage(start >= 0 ? view(start, payloadBytes) : new Uint8Array(payloadBytes));
      }
      return true;
    },
    onClose() {},
  });
  return {
    subscribe(channel, listener) {
      onMessage = listener;
      const name = encoder.encode(channel);
      frameLength = `>3\r\n$7\r\nmessage\r\n$${name.length}\r\n`.length + name.length + 2 +
        `$${options.payloadBytes}\r\n`.length + options.payloadBytes + 2;
      marker = encoder.encode(`subscribe\r\n$${name.length}\r\n${channel}\r\n:1\r\n`);
      const confirmed = new Promise<void>((resolve) => (subscribed = resolve));
      transport.write(encoder.encode(
        `*2\r\n$5\r\nHELLO\r\n$1\r\n3\r\n*2\r\n$9\r\nSUBSCRIBE\r\n$${name.length}\r\n${channel}\r\n`,
      ));
      return confirmed;
    },
    dropped: () => 0,
    async close() {
      await transport.close();
    },
  };
}
