// A scripted RESP3 server for fault tests (not a test file): node:net on 127.0.0.1, a random port.
// It answers just enough of the protocol for pushwire to connect and subscribe (HELLO, PING,
// the subscribe family, PUBLISH), records what each connection received, and lets a test send
// arbitrary bytes — hostile input no real server would produce.
// Rule: close() destroys every socket it accepted and stops listening, so no resource outlives a test.
import net from "node:net";
import { concat, parseValue, type RawValue } from "../helpers/raw_resp.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function bytes(text: string): Uint8Array {
  return encoder.encode(text);
}

function bulk(text: string): string {
  return `$${encoder.encode(text).length}\r\n${text}\r\n`;
}

/** A RESP3 push frame of bulk strings and integers. */
export function push(...items: (string | number)[]): Uint8Array {
  return bytes(`>${items.length}\r\n` + items.map((item) => typeof item === "number" ? `:${item}\r\n` : bulk(item)).join(""));
}

const confirmations: Record<string, string> = {
  SUBSCRIBE: "subscribe",
  PSUBSCRIBE: "psubscribe",
  SSUBSCRIBE: "ssubscribe",
  UNSUBSCRIBE: "unsubscribe",
  PUNSUBSCRIBE: "punsubscribe",
  SUNSUBSCRIBE: "sunsubscribe",
};

export class FakeConnection {
  /** Every command received, decoded as text. */
  readonly commands: string[][] = [];
  /** The commands of each `data` event (one entry per chunk that held at least one command). */
  readonly chunks: string[][][] = [];
  /** Names subscribed on this connection. */
  readonly subscribed = new Set<string>();
  #buffer: Uint8Array = new Uint8Array(0);
  #closed: Promise<void>;

  constructor(readonly socket: net.Socket, readonly index: number, private readonly server: FakeServer) {
    this.#closed = new Promise((resolve) => socket.once("close", () => resolve()));
    socket.on("error", () => {
      // The client reset the connection: expected in fault tests.
    });
    socket.on("data", (chunk: Uint8Array) => this.#onData(chunk));
  }

  get closed(): Promise<void> {
    return this.#closed;
  }

  write(data: Uint8Array | string): void {
    if (this.socket.destroyed) return;
    this.socket.write(typeof data === "string" ? bytes(data) : data);
  }

  #onData(chunk: Uint8Array): void {
    this.#buffer = this.#buffer.length > 0 ? concat([this.#buffer, chunk]) : new Uint8Array(chunk);
    const inChunk: string[][] = [];
    let offset = 0;
    for (;;) {
      let parsed: [RawValue, number] | undefined;
      try {
        parsed = parseValue(this.#buffer, offset);
      } catch {
        this.socket.destroy();
        return;
      }
      if (parsed === undefined) break;
      offset = parsed[1];
      const args = (parsed[0] as Uint8Array[]).map((arg) => decoder.decode(arg));
      this.commands.push(args);
      inChunk.push(args);
      this.#answer(args);
    }
    this.#buffer = this.#buffer.slice(offset);
    if (inChunk.length > 0) this.chunks.push(inChunk);
  }

  #answer(args: string[]): void {
    const name = args[0].toUpperCase();
    if (this.server.handler?.(this, args) === true) return;
    if (name === "HELLO") return this.write(`%2\r\n${bulk("server")}${bulk("fake")}${bulk("proto")}:3\r\n`);
    if (name === "PING") return this.write("+PONG\r\n");
    if (name === "PUBLISH" || name === "SPUBLISH") return this.write(":0\r\n");
    const kind = confirmations[name];
    if (kind !== undefined) {
      for (const channel of args.slice(1)) {
        if (name.includes("UNSUB")) this.subscribed.delete(channel);
        else this.subscribed.add(channel);
        this.write(push(kind, channel, this.subscribed.size));
      }
      return;
    }
    this.write(`-ERR fake server does not know ${name}\r\n`);
  }
}

/**
 * Handles a command before the default answers; returns true when it answered (or chose silence).
 * `connection.index` counts the connections accepted so far (0 for the first).
 */
export type CommandHandler = (connection: FakeConnection, args: string[]) => boolean | void;

export class FakeServer {
  readonly connections: FakeConnection[] = [];
  #server: net.Server;

  private constructor(server: net.Server, readonly port: number, public handler: CommandHandler | undefined) {
    this.#server = server;
  }

  static start(handler?: CommandHandler): Promise<FakeServer> {
    return new Promise((resolve, reject) => {
      const server = net.createServer();
      server.once("error", reject);
      server.listen(0, "127.0.0.1", () => {
        const address = server.address() as net.AddressInfo;
        const fake = new FakeServer(server, address.port, handler);
        server.on("connection", (socket: net.Socket) => {
          fake.connections.push(new FakeConnection(socket, fake.connections.length, fake));
        });
        resolve(fake);
      });
    });
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async close(): Promise<void> {
    for (const connection of this.connections) connection.socket.destroy();
    await Promise.all(this.connections.map((connection) => connection.closed));
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
