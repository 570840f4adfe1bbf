// The client side of the WebSocket fan-out bench: `--clients` WebSockets to `--url` on raw TCP sockets
// (node:net: the upgrade written by hand, frames read by a minimal RFC 6455 reader), each subscribing
// to `--topic` with the pushwire/ws protocol. Events are counted by counting '#' bytes inside frame
// payloads only (the publisher puts one '#' first in every payload; a frame header byte could be a
// '#', so headers are skipped). A `batch` frame (src/ws/protocol.ts: Deno's bridge sends one to a
// socket that is behind or waits for the write budget) is one WebSocket payload holding several
// message frames: each of its '#' is an event, and each stamp after one is a latency sample, so
// batched messages are counted and timed one by one like single ones. Prints "READY" once every
// socket is subscribed, then "RESULT <json>" (bench/readers_tally.ts).
import net from "node:net";
import process from "node:process";
import { argument, openInWaves, Tally } from "../readers_tally.ts";

const url = new URL(argument("url", "ws://127.0.0.1:8080/ws"));
const topic = argument("topic", "sse:events");
const sockets: net.Socket[] = [];
const tally = new Tally(() => {
  for (const socket of sockets) socket.destroy();
});

function maskedText(text: string): Uint8Array {
  const payload = new TextEncoder().encode(text);
  const header = [0x81, 0x80 | payload.length, 0, 0, 0, 0]; // < 126 bytes, mask 0: XOR is a no-op
  const out = new Uint8Array(header.length + payload.length);
  out.set(header, 0);
  out.set(payload, header.length);
  return out;
}

/** Reads server frames (never masked) across chunks; hands each payload range to `payload`. */
class FrameReader {
  #header = new Uint8Array(10);
  #headerLength = 0;
  #payloadLeft = 0;

  read(chunk: Uint8Array, start: number, payload: (chunk: Uint8Array, start: number, end: number) => void): void {
    let offset = start;
    while (offset < chunk.length) {
      if (this.#payloadLeft > 0) {
        const end = Math.min(chunk.length, offset + this.#payloadLeft);
        payload(chunk, offset, end);
        this.#payloadLeft -= end - offset;
        offset = end;
        continue;
      }
      this.#header[this.#headerLength++] = chunk[offset++];
      if (this.#headerLength < 2) continue;
      const marker = this.#header[1] & 0x7f;
      const needed = marker < 126 ? 2 : marker === 126 ? 4 : 10;
      if (this.#headerLength < needed) continue;
      let length = marker;
      if (marker === 126) length = (this.#header[2] << 8) | this.#header[3];
      else if (marker === 127) {
        length = 0;
        for (let i = 2; i < 10; i++) length = length * 256 + this.#header[i];
      }
      this.#headerLength = 0;
      this.#payloadLeft = length;
    }
  }
}

function open(index: number): void {
  const socket = net.connect({ host: url.hostname, port: Number(url.port) });
  sockets.push(socket);
  let upgraded = false;
  let subscribed = false;
  const frames = new FrameReader();
  socket.on("connect", () => {
    socket.write(
      `GET ${url.pathname} HTTP/1.1\r\nHost: ${url.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    );
  });
  socket.on("data", (chunk: Uint8Array) => {
    let start = 0;
    if (!upgraded) {
      const text = new TextDecoder().decode(chunk);
      const end = text.indexOf("\r\n\r\n");
      if (end < 0) return;
      if (!text.startsWith("HTTP/1.1 101")) {
        console.error(`ws readers: client ${index} got ${text.split("\r\n")[0]}`);
        process.exit(1);
      }
      upgraded = true;
      start = end + 4;
      socket.write(maskedText(JSON.stringify({ op: "subscribe", topic })));
    }
    frames.read(chunk, start, (bytes, from, to) => {
      if (!subscribed) {
        // The first frame is the subscribe answer (short: always within one chunk in practice).
        subscribed = true;
        tally.opened();
        return;
      }
      tally.count(index, bytes, from, to);
    });
  });
  socket.on("error", (error: Error) => {
    console.error(`ws readers: client ${index}: ${error.message}`);
    process.exit(1);
  });
}

await openInWaves(tally.clients, open);
