// The client side of the SSE fan-out bench: `--clients` streaming HTTP/1.1 requests to `--url`, each on
// its own raw TCP socket (node:net: cheap, no fetch connection pool limits, same code on Bun and Deno).
// Events are counted by counting '#' bytes: the publisher puts exactly one '#' at the start of every
// payload, and neither HTTP headers nor chunk framing contain one, so splits anywhere do not matter.
// Prints "READY" once every response's headers arrived, then one "RESULT <json>" line when every client
// has `--expect` events or `--deadline-ms` passed since the first event.
import net from "node:net";
import process from "node:process";

const argument = (name: string, fallback: string) => {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? process.argv[index + 1] : fallback;
};
const url = new URL(argument("url", "http://127.0.0.1:8080/events"));
const clients = Number(argument("clients", "1000"));
const expect = Number(argument("expect", "1000"));
const deadlineMs = Number(argument("deadline-ms", "20000"));
const HASH = 0x23;

const counts = new Int32Array(clients);
let ready = 0;
let totalEvents = 0;
let firstEventAt = 0;
let lastEventAt = 0;
let finishedClients = 0;
const sockets: net.Socket[] = [];

function finish(): void {
  console.log(
    "RESULT " +
      JSON.stringify({
        clients,
        expect,
        totalEvents,
        finishedClients,
        minPerClient: counts.reduce((min, count) => Math.min(min, count), Infinity),
        firstEventAt,
        lastEventAt,
      }),
  );
  for (const socket of sockets) socket.destroy();
  process.exit(0);
}

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
      if (++ready === clients) console.log("READY");
    }
    let events = 0;
    for (let i = start; i < chunk.length; i++) if (chunk[i] === HASH) events++;
    if (events === 0) return;
    const now = performance.now() + performance.timeOrigin;
    if (firstEventAt === 0) {
      firstEventAt = now;
      setTimeout(finish, deadlineMs);
    }
    lastEventAt = now;
    totalEvents += events;
    const before = counts[index];
    counts[index] += events;
    if (before < expect && counts[index] >= expect && ++finishedClients === clients) finish();
  });
  socket.on("error", (error: Error) => {
    console.error(`readers: client ${index}: ${error.message}`);
    process.exit(1);
  });
}

// Open in waves so the listen backlog never overflows.
for (let index = 0; index < clients; index++) {
  open(index);
  if (index % 100 === 99) await new Promise((resolve) => setTimeout(resolve, 10));
}
