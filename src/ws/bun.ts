// Bun's side of the bridge: fan-out through the server's native topics (`ws.subscribe(key)` and one
// `server.publish(key, text)` per message, whatever the number of sockets).
// Rule: Bun tells nothing per socket from a publish, only that some socket of the topic was behind
// (a result ≤ 0, and not always); so every socket of that topic is looked at after such a result
// (once per task) and after every sixteenth of the bound published, and those behind go through the flow
// rule (src/ws/socket.ts). Bun's own `backpressureLimit` sits above the bridge's
// bound and closes a socket (closeOnBackpressureLimit) only if it ever got there first.
import type { BridgeSocket, Fanout, SocketHandle } from "./socket.ts";
import type { Topic } from "./topics.ts";

/**
 * A Bun `ServerWebSocket` as the bridge's `websocket` handler receives it from Bun: the parts the
 * bridge uses (Bun's own type has them). Its `data` belongs to the bridge, which sets it in upgrade();
 * an application's own per-socket value goes in upgrade()'s `context` instead.
 */
export interface BunWebSocket {
  /** Set by the bridge's upgrade(); the bridge's own, not the application's. */
  readonly data: unknown;
  /** Queues a text frame; Bun's result: bytes sent, -1 queued behind backpressure, 0 dropped. */
  send(data: string): number;
  /** Closes the socket with a WebSocket close code and reason. */
  close(code?: number, reason?: string): void;
  /** Joins one of the server's native topics (the bridge's fan-out: one `server.publish()` per message). */
  subscribe(topic: string): void;
  /** Leaves a native topic. */
  unsubscribe(topic: string): void;
  /** Bytes queued for this socket and not yet written to the kernel. */
  getBufferedAmount(): number;
}

/** A BunWebSocket with the bridge's data (what its upgrade() gave Bun). */
export interface BunSocket extends BunWebSocket {
  readonly data: { socket?: BridgeSocket; context?: unknown };
}

/** The parts of Bun's Server the bridge uses. */
export interface BunServer {
  upgrade(request: Request, options?: { data?: unknown }): boolean;
  publish(topic: string, data: string): number;
}

export function bunHandle(ws: BunSocket): SocketHandle {
  return {
    send: (text) => void ws.send(text),
    bufferedAmount: () => ws.getBufferedAmount(),
    close: (code, reason) => ws.close(code, reason),
  };
}

const sockets = new WeakMap<BridgeSocket, BunSocket>();

/** Remembers which Bun socket a bridge socket is (the fan-out subscribes it to native topics). */
export function registerBunSocket(socket: BridgeSocket, ws: BunSocket): void {
  sockets.set(socket, ws);
}

export class BunFanout implements Fanout {
  server: BunServer | undefined;
  /** Messages times the sockets in the topic's fan-out. */
  deliveries = 0;
  readonly #maxBufferedBytes: number;

  constructor(maxBufferedBytes: number) {
    this.#maxBufferedBytes = maxBufferedBytes;
  }

  join(socket: BridgeSocket, topic: Topic): void {
    topic.receivers.add(socket);
    sockets.get(socket)?.subscribe(topic.key);
  }

  leave(socket: BridgeSocket, topic: Topic): void {
    topic.receivers.delete(socket);
    if (socket.closed) return; // a closed socket left every topic natively
    try {
      sockets.get(socket)?.unsubscribe(topic.key);
    } catch {
      // Closed by Bun under us.
    }
  }

  publish(topic: Topic, text: string): void {
    const server = this.server;
    if (server === undefined) return;
    const result = server.publish(topic.key, text);
    this.deliveries += topic.receivers.size;
    // Bun's result says whether some socket was behind, not which, and not always (a topic whose
    // other sockets took the message answers > 0). So every socket of the topic is looked at when a
    // result says so (once per task: one socket read can publish thousands in one task) and, in any
    // case, after every sixteenth of the bound published: Bun's getBufferedAmount() lags what was
    // published in the same task, and a look per quarter bound let a stalled socket end 40 % past its
    // bound (tests/ws/slow_socket.test.ts); at a sixteenth it ends up to ~27 % past it, what one task
    // (one socket read of the client, at most 512 KiB on Bun) published before the count showed it. At 10,000
    // sockets and 64 B messages that is one walk per 1,024 messages. (Counted in UTF-16 units: a
    // non-ASCII text is more bytes, so the look comes somewhat later.)
    const quarter = this.#maxBufferedBytes / 4;
    topic.sinceSweep += text.length;
    if (topic.sinceSweep < this.#maxBufferedBytes / 16) {
      if (result > 0 || topic.swept) return;
      topic.swept = true;
      queueMicrotask(() => (topic.swept = false));
    }
    topic.sinceSweep = 0;
    for (const socket of topic.members) {
      if (!socket.closed && socket.handle.bufferedAmount() >= quarter) socket.check();
    }
  }
}
