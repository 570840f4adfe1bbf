// Test HTTP plumbing for tests/sse: a loopback server on Bun.serve or Deno.serve (whichever runs the
// test: sse() must work unchanged in both), and raw-socket HTTP clients for cases fetch() cannot
// express (a client that connects and then never reads). Only 127.0.0.1, port 0.
import net from "node:net";

// deno-lint-ignore no-explicit-any
declare const Bun: any;
// deno-lint-ignore no-explicit-any
declare const Deno: any;

export interface TestServer {
  readonly port: number;
  readonly url: string;
  stop(): Promise<void>;
}

export function serve(fetch: (request: Request) => Response | Promise<Response>): Promise<TestServer> {
  if (typeof Bun !== "undefined") {
    // idleTimeout 0: the slow-client test keeps a stalled connection open longer than Bun's 10 s default.
    const server = Bun.serve({ hostname: "127.0.0.1", port: 0, idleTimeout: 0, fetch });
    return Promise.resolve({
      port: server.port,
      url: `http://127.0.0.1:${server.port}`,
      stop: async () => {
        await server.stop(true);
      },
    });
  }
  // onListen runs inside Deno.serve(), before `server` exists: read the port from server.addr instead.
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, fetch);
  const port: number = server.addr.port;
  return Promise.resolve({
    port,
    url: `http://127.0.0.1:${port}`,
    stop: async () => {
      await server.shutdown();
    },
  });
}

/**
 * An HTTP/1.1 GET on a raw socket that reads nothing after connecting (socket paused): the server sees
 * a client whose receive window fills up, like a stalled browser tab on a bad network.
 */
export class StalledClient {
  #socket: net.Socket;
  #closed: Promise<void>;

  private constructor(socket: net.Socket) {
    this.#socket = socket;
    this.#closed = new Promise((resolve) => socket.once("close", () => resolve()));
    socket.on("error", () => {});
  }

  static connect(port: number, path: string): Promise<StalledClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ port, host: "127.0.0.1" }, () => {
        socket.removeListener("error", reject);
        socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAccept: text/event-stream\r\n\r\n`);
        socket.pause();
        resolve(new StalledClient(socket));
      });
      socket.once("error", reject);
    });
  }

  /** Closes the socket (the server sees the client leave) and waits for it to be closed. */
  async destroy(): Promise<void> {
    this.#socket.destroy();
    await this.#closed;
  }
}
