// Deno's side of the bridge: `Deno.upgradeWebSocket` sockets, fan-out in JS (one send per socket).
// Rule: after each send the socket's `bufferedAmount` is read (a plain field in Deno's WebSocket), and
// a socket at a quarter of its bound goes through the flow rule at once (src/ws/socket.ts), so a burst
// cannot run past the bound between two checks.
import type { BridgeSocket, Fanout, SocketHandle } from "./socket.ts";
import type { Topic } from "./topics.ts";

export function webSocketHandle(socket: WebSocket): SocketHandle {
  return {
    send: (text) => socket.send(text),
    bufferedAmount: () => socket.bufferedAmount,
    close: (code, reason) => socket.close(code, reason),
  };
}

export class JsFanout implements Fanout {
  deliveries = 0;
  readonly #quarter: number;

  constructor(maxBufferedBytes: number) {
    this.#quarter = maxBufferedBytes / 4;
  }

  join(socket: BridgeSocket, topic: Topic): void {
    topic.receivers.add(socket);
  }

  leave(socket: BridgeSocket, topic: Topic): void {
    topic.receivers.delete(socket);
  }

  publish(topic: Topic, text: string): void {
    const quarter = this.#quarter;
    for (const socket of topic.receivers) {
      socket.send(text);
      this.deliveries++;
      if (socket.handle.bufferedAmount() >= quarter) socket.check();
    }
  }
}
