// One small adapter per subscriber library, so every client benchmark drives them the same way:
// connect (not timed), subscribe to one channel with a listener that receives the library's own payload
// object, close. Rule: each adapter uses the library's fastest documented receive path that still
// hands the user the payload (buffer mode where the library has one) and does no extra work.
//
// Libraries: pushwire (callback form), pushwire-iterator (`for await`), ioredis (messageBuffer event),
// node-redis (subscribe(channel, listener, bufferMode = true)), bun-redis (Bun's built-in RedisClient,
// strings only: it has no buffer mode). Peers are imported lazily so a missing one fails only its run.

import process from "node:process";

export type LibraryName = "pushwire" | "pushwire-iterator" | "ioredis" | "node-redis" | "bun-redis";
export const PUSHWIRE_LIBRARIES: readonly LibraryName[] = ["pushwire", "pushwire-iterator"];
export const PEER_LIBRARIES: readonly LibraryName[] = ["ioredis", "node-redis", "bun-redis"];

export function librariesFor(runtime: "bun" | "deno"): LibraryName[] {
  const all: LibraryName[] = [...PUSHWIRE_LIBRARIES, ...PEER_LIBRARIES];
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
  }
}

// ---- pushwire ---------------------------------------------------------------------------------------

// deno-lint-ignore no-explicit-any
type Any = any;

async function openPushwire(url: string, options: ReceiverOptions, form: "callback" | "iterator"): Promise<Receiver> {
  const pushwire: Any = await import("../../mod.ts");
  // The benchmark must not lose messages to overflow: the iterator form gets a deep buffer and the
  // "pause" policy (TCP backpressure instead of drops); anything dropped anyway is reported.
  const client: Any = await pushwire.connect(url, { protocol: options.protocol, reconnect: false });
  const subscriptions: Any[] = [];
  return {
    async subscribe(channel, onMessage) {
      if (form === "callback") {
        subscriptions.push(await client.subscribe(channel, { onMessage: (message: Any) => onMessage(message.data) }));
        return;
      }
      const subscription = await client.subscribe(channel, { bufferSize: 65_536, overflow: "pause" });
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
    async close() {
      client.disconnect();
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
    async close() {
      client.close();
    },
  };
}
