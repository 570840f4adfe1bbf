// The client side of the SSE fan-out bench: `--clients` streaming HTTP/1.1 requests to `--url`, each on
// its own raw TCP socket (node:net: cheap, no fetch connection pool limits, same code on Bun and Deno).
// Events are counted by counting '#' bytes: the publisher puts exactly one '#' at the start of every
// payload, and neither HTTP headers nor chunk framing contain one, so splits anywhere do not matter.
// Prints "READY" once every response's headers arrived, then one "RESULT <json>" line when every client
// has `--expect` events or `--deadline-ms` passed since the first event (bench/readers_tally.ts).
import net from "node:net";
import process from "node:process";
import { argument, openInWaves, Tally } from "../readers_tally.ts";

const url = new URL(argument("url", "http://127.0.0.1:8080/events"));
const sockets: net.Socket[] = [];
const tally = new Tally(() => {
  for (const socket of sockets) socket.destroy();
});

function open(index: number): void {
  const socket = net.connect({ host: url.hostname, port: Number(url.port) });
  sockets.push(socket);
  let headersDone = false;
  socket.on("connect", () => {
    socket.write(`GET ${url.pathname} HTTP/1.1\r\nHost: ${url.host}\r\nAccept: text/event-stream\r\n\r\n`);
  });
  socket.on("data", (chunk: Uint8Array) => {
    let start = 0;
    if (!headersDone) {
      const text = new TextDecoder().decode(chunk);
      const end = text.indexOf("\r\n\r\n");
      if (end < 0) return; // headers are tiny: one chunk in practice
      if (!text.startsWith("HTTP/1.1 200")) {
        console.error(`readers: client ${index} got ${text.split("\r\n")[0]}`);
        process.exit(1);
      }
      headersDone = true;
      start = end + 4;
      tally.opened();
    }
    tally.count(index, chunk, start, chunk.length);
  });
  socket.on("error", (error: Error) => {
    console.error(`readers: client ${index}: ${error.message}`);
    process.exit(1);
  });
}

await openInWaves(tally.clients, open);
