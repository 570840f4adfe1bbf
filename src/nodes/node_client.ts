// One node as a client of many nodes sees it (a cluster node, a sentinel): a single-node `Client`
// (src/client.ts) to one address, opened without its own reconnection (its owner decides where to go
// after a loss), plus the signal the cluster needs and Client does not have yet: "the server dropped
// one of my subscriptions".
// Rule: this file is the only one in src/nodes/ and src/cluster/ that touches Client; if its API
// moves, only this file changes.
import { Client } from "../client.ts";
import { ClosedError } from "../errors.ts";
import type { Frame } from "../frame.ts";
import { NativeParser } from "../native/parser.ts";
import { type ClientOptions, resolveSettings, type SubscriptionType } from "../options.ts";
import { Connection, type FrameParser, type ParserFactory } from "../protocol/connection.ts";
import type { CommandArgument } from "../protocol/encode.ts";
import type { DecodeOptions, ReplyValue } from "../protocol/reply.ts";
import type { ClientStats } from "../stats.ts";
import type { Subscription } from "../subscription.ts";
import { parseAddress } from "./address.ts";

export type ServerUnsubscribeListener = (name: string, type: SubscriptionType) => void;

const unsubscribedType: Partial<Record<Frame["kind"], SubscriptionType>> = {
  unsubscribe: "subscribe",
  punsubscribe: "psubscribe",
  sunsubscribe: "ssubscribe",
};

// Feature test, once: does this Client report server-side unsubscribes through the option proposed
// to the client owner (`onServerUnsubscribe(name, type)`)? Settings only keeps options it knows.
const clientHasUnsubscribeHook = "onServerUnsubscribe" in
  resolveSettings("redis://127.0.0.1", { onServerUnsubscribe: () => {} } as ClientOptions);

/**
 * Without the hook: watch the frames on their way from the parser to the client. Every `sunsubscribe`
 * frame is reported, including the confirmation of our own SUNSUBSCRIBE; the listener tells them apart
 * (a name nobody on this node still wants is simply ignored).
 */
function watchingParserFactory(listener: ServerUnsubscribeListener): ParserFactory {
  return (options) => {
    const parser = new NativeParser({ limits: options.limits, libraryPath: options.libraryPath });
    const watched: FrameParser = {
      feed: (bytes) => parser.feed(bytes),
      drain: (sink) =>
        parser.drain((frame) => {
          const type = unsubscribedType[frame.kind];
          if (type !== undefined) queueMicrotask(() => listener(frame.channel, type));
          sink(frame);
        }),
      setResp2PushArrays: (enabled) => parser.setResp2PushArrays(enabled),
      stats: () => parser.stats(),
      close: () => parser.close(),
    };
    return watched;
  };
}

function nativeParserFactory(): ParserFactory {
  return (options) => new NativeParser(options);
}

/** Client's command() if it offers one (it did as @internal, then went private). */
type CommandCapable = { command?: (args: readonly CommandArgument[], decode?: DecodeOptions) => Promise<ReplyValue> };

export class NodeClient {
  #closing: Promise<void> | undefined;
  /**
   * Only when Client has no command(): a second, command-only connection to this node for CLUSTER
   * SHARDS/SLOTS, opened on first use and closed with the node.
   */
  #control: Promise<Connection> | undefined;
  /** Set once the connection was lost or closed: the pool then drops this object. */
  failed = false;

  private constructor(readonly address: string, readonly client: Client, readonly url: string, readonly options: ClientOptions) {}

  /**
   * Connects to `address` ("host:port") with its owner's ClientOptions; the node client never
   * reconnects or waits for the server by itself. `onServerUnsubscribe` hears every server-side
   * unsubscribe on this node.
   */
  static async open(
    address: string,
    secure: boolean,
    options: ClientOptions,
    onServerUnsubscribe: ServerUnsubscribeListener,
  ): Promise<NodeClient> {
    const parsed = parseAddress(address);
    if (parsed === undefined) throw new Error(`node: ${address} is not host:port`);
    const host = parsed.host.includes(":") ? `[${parsed.host}]` : parsed.host;
    const url = `${secure ? "rediss" : "redis"}://${host}:${parsed.port}`;
    // waitForServer: false as well: a node open must end within connectTimeoutMs (its owner's close()
    // waits for opens in flight, and its own retries already cover a node that is not up yet). No
    // signal: it is connectCluster()'s, and nodes open for as long as their owner lives.
    const nodeOptions: ClientOptions = {
      ...options, reconnect: false, waitForServer: false, signal: undefined, onOccupied: undefined, onVacated: undefined,
    };
    let client: Client;
    if (clientHasUnsubscribeHook) {
      (nodeOptions as { onServerUnsubscribe?: ServerUnsubscribeListener }).onServerUnsubscribe = onServerUnsubscribe;
      client = await Client.open(url, nodeOptions);
    } else {
      client = await Client.open(url, nodeOptions, watchingParserFactory(onServerUnsubscribe));
    }
    return new NodeClient(address, client, url, nodeOptions);
  }

  /** `decode`: bulk strings as bytes (history reads) or text (default). */
  async command(args: readonly CommandArgument[], decode?: DecodeOptions): Promise<ReplyValue> {
    const client = this.client as unknown as CommandCapable;
    if (typeof client.command === "function") return client.command(args, decode);
    if (this.failed) throw new ClosedError("this node connection is closed");
    this.#control ??= Connection.open(resolveSettings(this.url, this.options), "commands", nativeParserFactory(), {
      onPush: () => {},
      onMessage: () => {},
      onLost: () => {
        const lost = this.#control;
        this.#control = undefined; // the next command opens a fresh one
        lost?.then((connection) => connection.close(), () => {});
      },
    });
    const opening = this.#control;
    opening.catch(() => {
      if (this.#control === opening) this.#control = undefined;
    });
    return (await opening).command(args, undefined, { decode });
  }

  subscribe(type: SubscriptionType, names: (string | Uint8Array)[], onMessage: (frame: Frame) => void): Promise<Subscription> {
    // onMessage: the node subscription never buffers; its owner's subscription holds the buffer.
    return this.client[type](names, { onMessage });
  }

  publish(command: "publish" | "spublish", channel: string | Uint8Array, data: string | Uint8Array): Promise<number> {
    return this.client[command](channel, data);
  }

  stats(): ClientStats {
    return this.client.stats();
  }

  /**
   * Stops reading this node's socket while `holder` (a member of a placed subscription that holds
   * reading: flow control, src/flow.ts) holds it; every subscription on the node waits with it.
   */
  holdReading(holder: object): void {
    this.client.holdReading(holder);
  }

  releaseReading(holder: object): void {
    this.client.releaseReading(holder);
  }

  close(): Promise<void> {
    this.failed = true;
    const control = this.#control;
    this.#control = undefined;
    this.#closing ??= Promise.all([
      this.client.close().catch(() => {}),
      control?.then((connection) => connection.close(), () => {}),
    ]).then(() => {});
    return this.#closing;
  }
}
