// An independent, deliberately simple RESP2/RESP3 client for TESTS ONLY: it publishes, inspects
// (PUBSUB NUMSUB, CLIENT KILL, CONFIG SET) and checks results without going through pushwire's own
// parser, so a bug in pushwire cannot hide itself. Not for production: no pipelining, no limits.
import net from "node:net";

export type RawValue = string | number | bigint | null | Uint8Array | RawValue[] | RawError | boolean;
export class RawError extends Error {}

const encoder = new TextEncoder();

export function encodeCommand(args: (string | Uint8Array | number)[]): Uint8Array {
  const parts: Uint8Array[] = [encoder.encode(`*${args.length}\r\n`)];
  for (const arg of args) {
    const bytes = arg instanceof Uint8Array ? arg : encoder.encode(String(arg));
    parts.push(encoder.encode(`$${bytes.length}\r\n`), bytes, encoder.encode("\r\n"));
  }
  return concat(parts);
}

export function concat(parts: Uint8Array[]): Uint8Array {
  let length = 0;
  for (const part of parts) length += part.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** Parses one value at `offset`; returns [value, nextOffset] or undefined when incomplete. */
export function parseValue(buffer: Uint8Array, offset: number): [RawValue, number] | undefined {
  const lineEnd = findCrlf(buffer, offset);
  if (lineEnd < 0) return undefined;
  const type = String.fromCharCode(buffer[offset]);
  const line = new TextDecoder().decode(buffer.subarray(offset + 1, lineEnd));
  const next = lineEnd + 2;
  switch (type) {
    case "+":
      return [line, next];
    case "-":
      return [new RawError(line), next];
    case ":":
      return [Number(line), next];
    case "_":
      return [null, next];
    case "#":
      return [line === "t", next];
    case ",":
      return [Number(line), next];
    case "(":
      return [BigInt(line), next];
    case "$":
    case "!":
    case "=": {
      const length = Number(line);
      if (length < 0) return [null, next];
      if (buffer.length < next + length + 2) return undefined;
      const bytes = buffer.slice(next, next + length);
      return [type === "!" ? new RawError(new TextDecoder().decode(bytes)) : bytes, next + length + 2];
    }
    case "*":
    case ">":
    case "~":
    case "%": {
      let count = Number(line);
      if (count < 0) return [null, next];
      if (type === "%") count *= 2;
      const items: RawValue[] = [];
      let cursor = next;
      for (let i = 0; i < count; i++) {
        const parsed = parseValue(buffer, cursor);
        if (!parsed) return undefined;
        items.push(parsed[0]);
        cursor = parsed[1];
      }
      return [items, cursor];
    }
    default:
      throw new Error(`raw_resp: unexpected type byte ${JSON.stringify(type)}`);
  }
}

function findCrlf(buffer: Uint8Array, from: number): number {
  for (let i = from; i + 1 < buffer.length; i++) if (buffer[i] === 13 && buffer[i + 1] === 10) return i;
  return -1;
}

/** Renders bulk strings as text (for assertions on replies such as PUBSUB NUMSUB). */
export function asText(value: RawValue): unknown {
  if (value instanceof Uint8Array) return new TextDecoder().decode(value);
  if (Array.isArray(value)) return value.map(asText);
  return value;
}

/**
 * One connection, commands sent one at a time (or as a pipelined batch with `pipeline`).
 * Replies are returned as RawValue; a server error reply is returned as RawError, not thrown.
 */
export class RawConnection {
  #socket: net.Socket;
  #buffer: Uint8Array = new Uint8Array(0);
  #waiting: { resolve: (value: RawValue) => void; reject: (error: Error) => void }[] = [];
  /** Replies already handed out from the front of #waiting (a pipeline of 100,000 must not shift() each). */
  #answered = 0;
  #closed: Promise<void>;
  #failure: Error | undefined;
  #closing = false;

  private constructor(socket: net.Socket) {
    this.#socket = socket;
    // A peer that closes without answering (a port taken by something that is not redis, a killed
    // server) must fail the waiting commands, not leave them pending forever. Our own close() does not.
    this.#closed = new Promise((resolve) =>
      socket.once("close", () => {
        const waiting = this.#waiting.splice(this.#answered);
        this.#waiting = [];
        this.#answered = 0;
        if (!this.#closing) {
          const error = this.#failure ?? new Error("raw_resp: connection closed before the reply");
          for (const waiter of waiting) waiter.reject(error);
        }
        resolve();
      })
    );
    socket.on("data", (chunk: Uint8Array) => this.#onData(chunk));
    socket.on("error", (error: Error) => {
      this.#failure = error;
    });
  }

  static connect(port: number, host = "127.0.0.1"): Promise<RawConnection> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ port, host });
      socket.once("connect", () => {
        socket.removeListener("error", reject);
        resolve(new RawConnection(socket));
      });
      socket.once("error", reject);
    });
  }

  #onData(chunk: Uint8Array): void {
    this.#buffer = this.#buffer.length ? concat([this.#buffer, chunk]) : new Uint8Array(chunk);
    let offset = 0;
    while (this.#answered < this.#waiting.length) {
      const parsed = parseValue(this.#buffer, offset);
      if (!parsed) break;
      offset = parsed[1];
      this.#waiting[this.#answered++].resolve(parsed[0]);
    }
    if (this.#answered === this.#waiting.length) {
      this.#waiting = [];
      this.#answered = 0;
    }
    this.#buffer = this.#buffer.slice(offset);
  }

  /** Writes raw bytes (for fault tests) without waiting for anything. */
  write(bytes: Uint8Array): Promise<void> {
    return new Promise((resolve, reject) => this.#socket.write(bytes, (error) => (error ? reject(error) : resolve())));
  }

  command(...args: (string | Uint8Array | number)[]): Promise<RawValue> {
    if (this.#failure) return Promise.reject(this.#failure);
    const reply = new Promise<RawValue>((resolve, reject) => this.#waiting.push({ resolve, reject }));
    this.#socket.write(encodeCommand(args));
    return reply;
  }

  /** Sends all commands in one write and resolves with every reply, in order. */
  pipeline(commands: (string | Uint8Array | number)[][]): Promise<RawValue[]> {
    const replies = commands.map(() =>
      new Promise<RawValue>((resolve, reject) => this.#waiting.push({ resolve, reject }))
    );
    this.#socket.write(concat(commands.map(encodeCommand)));
    return Promise.all(replies);
  }

  async close(): Promise<void> {
    this.#closing = true;
    this.#socket.end();
    this.#socket.destroy();
    await this.#closed;
  }
}

/** Opens a connection, runs one command, closes. */
export async function rawCommand(port: number, ...args: (string | Uint8Array | number)[]): Promise<RawValue> {
  const connection = await RawConnection.connect(port);
  try {
    return await connection.command(...args);
  } finally {
    await connection.close();
  }
}
