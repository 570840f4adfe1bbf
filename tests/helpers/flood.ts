// A PUBLISH flood for tests (not a test file): node:net on 127.0.0.1, independent of pushwire.
// It writes batches of pipelined PUBLISH commands and waits for their replies (counted, not parsed:
// each reply to PUBLISH is one `:N\r\n` line) before the next batch, so the server sets the pace.
// Rule: stop() resolves once the socket is closed; a server that dies just ends the flood.
import net from "node:net";
import { concat, encodeCommand } from "./raw_resp.ts";

export interface FloodOptions {
  port: number;
  /** The channels to publish to, in turn. */
  channels: string[];
  /** Payload of message number `index`. */
  payload: (index: number) => string | Uint8Array;
  /** Commands per write (default 256). */
  batch?: number;
  /** Stop after this many messages (default: until stop()). */
  total?: number;
  /** PUBLISH (default) or SPUBLISH (a shard channel, sent to the node that owns its slot). */
  command?: "PUBLISH" | "SPUBLISH";
}

export class Flood {
  /** Messages the server acknowledged. */
  acknowledged = 0;
  #socket: net.Socket;
  #stopped = false;
  #closed: Promise<void>;
  #expected = 0;
  #replies = 0;
  #batchDone: (() => void) | undefined;
  /** Settles when the flood ends (total reached, stop(), or the server went away). */
  readonly done: Promise<void>;

  private constructor(socket: net.Socket, readonly options: FloodOptions) {
    this.#socket = socket;
    this.#closed = new Promise((resolve) => socket.once("close", () => resolve()));
    socket.on("error", () => {});
    socket.on("close", () => this.#batchDone?.());
    socket.on("data", (chunk: Uint8Array) => {
      for (const byte of chunk) if (byte === 10) this.#replies++;
      if (this.#replies >= this.#expected) this.#batchDone?.();
    });
    this.done = this.#run();
  }

  static start(options: FloodOptions): Promise<Flood> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ port: options.port, host: "127.0.0.1" });
      socket.once("connect", () => {
        socket.removeListener("error", reject);
        resolve(new Flood(socket, options));
      });
      socket.once("error", reject);
    });
  }

  async #run(): Promise<void> {
    const batch = this.options.batch ?? 256;
    const total = this.options.total ?? Infinity;
    const { channels, payload } = this.options;
    const command = this.options.command ?? "PUBLISH";
    let index = 0;
    while (!this.#stopped && !this.#socket.destroyed && index < total) {
      const commands: Uint8Array[] = [];
      const count = Math.min(batch, total - index);
      for (let i = 0; i < count; i++, index++) {
        commands.push(encodeCommand([command, channels[index % channels.length], payload(index)]));
      }
      this.#expected += count;
      const acknowledged = new Promise<void>((resolve) => (this.#batchDone = resolve));
      this.#socket.write(concat(commands));
      await acknowledged;
      this.#batchDone = undefined;
      this.acknowledged = Math.min(this.#replies, this.#expected);
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await this.done;
    this.#socket.destroy();
    await this.#closed;
  }
}
