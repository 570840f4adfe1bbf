// Command encoding: RESP arrays of bulk strings. A CommandBuffer collects every command issued in one
// tick and hands them out as ONE Uint8Array (auto-pipelining: one socket write per tick).
// Rule: strings are written straight into the buffer with encodeInto (no per-argument allocation);
// Uint8Array arguments are copied as they are (binary-safe).

export type CommandArgument = string | Uint8Array;

const encoder = new TextEncoder();
const initialCapacityBytes = 4096;

export class CommandBuffer {
  #bytes = new Uint8Array(initialCapacityBytes);
  #length = 0;

  /** Bytes waiting to be taken. */
  get length(): number {
    return this.#length;
  }

  /** Appends `*N\r\n$len\r\narg\r\n...`. */
  append(args: readonly CommandArgument[]): void {
    this.#writeHeader(42 /* '*' */, args.length);
    for (const argument of args) {
      if (typeof argument === "string") this.#writeString(argument);
      else this.#writeBytes(argument);
    }
  }

  /** Everything appended so far, as a fresh array; the buffer is empty afterwards. */
  take(): Uint8Array {
    const out = this.#bytes.slice(0, this.#length);
    this.#length = 0;
    // A burst may have grown the buffer a lot; do not keep that memory for the life of the client.
    if (this.#bytes.length > 1 << 20) this.#bytes = new Uint8Array(initialCapacityBytes);
    return out;
  }

  #writeString(text: string): void {
    // Short ASCII strings are the common case (command names, channel names): length known up front.
    if (text.length < 128 && isAscii(text)) {
      this.#writeHeader(36 /* '$' */, text.length);
      this.#reserve(text.length + 2);
      for (let i = 0; i < text.length; i++) this.#bytes[this.#length + i] = text.charCodeAt(i);
      this.#length += text.length;
      this.#writeCrlf();
      return;
    }
    this.#writeBytes(encoder.encode(text));
  }

  #writeBytes(bytes: Uint8Array): void {
    this.#writeHeader(36 /* '$' */, bytes.length);
    this.#reserve(bytes.length + 2);
    this.#bytes.set(bytes, this.#length);
    this.#length += bytes.length;
    this.#writeCrlf();
  }

  #writeHeader(prefix: number, count: number): void {
    const digits = String(count);
    this.#reserve(digits.length + 3);
    this.#bytes[this.#length++] = prefix;
    for (let i = 0; i < digits.length; i++) this.#bytes[this.#length++] = digits.charCodeAt(i);
    this.#writeCrlf();
  }

  #writeCrlf(): void {
    this.#reserve(2);
    this.#bytes[this.#length++] = 13;
    this.#bytes[this.#length++] = 10;
  }

  #reserve(extra: number): void {
    const needed = this.#length + extra;
    if (needed <= this.#bytes.length) return;
    let capacity = this.#bytes.length * 2;
    while (capacity < needed) capacity *= 2;
    const grown = new Uint8Array(capacity);
    grown.set(this.#bytes.subarray(0, this.#length));
    this.#bytes = grown;
  }
}

function isAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 127) return false;
  return true;
}

/** One command as bytes (tests and one-off writes). */
export function encodeCommand(args: readonly CommandArgument[]): Uint8Array {
  const buffer = new CommandBuffer();
  buffer.append(args);
  return buffer.take();
}
