// Deno's side of the bridge: `Deno.upgradeWebSocket` sockets, fan-out in JS through the process's
// write budget (src/write_budget.ts, shared with sse()), with batch frames (src/ws/protocol.ts).
// Rule: a message reaches an idle socket at once, as its plain frame, while the budget has a write to
// spare and nobody waits in line. A socket whose previous sends are not yet written (its
// `bufferedAmount`, a plain field in Deno's WebSocket, is above 0) or that is asked while the budget
// is spent puts the frame in its batch and waits in line; at its grant everything in its batch goes
// out as one WebSocket message (a `batch` frame of two or more). Every other frame to the socket
// (answers, lifecycle, `dropped`) goes behind what waits in its batch, so a socket gets its frames in
// the order they were sent. For the flow rule (src/ws/socket.ts) a socket's buffered bytes are its
// `bufferedAmount` plus its batch, and a socket at a quarter of its bound goes through the rule at
// once, so a burst cannot run past the bound between two checks.
// Why: one `send()` per socket per message is one op each, and 10,000 sockets at 100 msgs/s (1 M sends
// a second) is more than Deno's JS makes on 2 cores: sockets backed up, stalled and were dropped from
// (bench/README.md, "SSE fan-out at 10,000 streams"). Past the budget the sends per second stay at
// the budget's rate and each carries more (~10 messages a send there).
import { type BudgetedWriter, sharedWriteBudget, type WriteBudget } from "../write_budget.ts";
import { batchOverheadBytes, encodeBatch, utf8Length } from "./protocol.ts";
import type { BridgeSocket, Fanout, SocketHandle } from "./socket.ts";
import type { Topic } from "./topics.ts";

/** Counters the sockets of one fan-out share. */
interface BatchCounters {
  /** Batch frames sent. */
  batches: number;
  /** Frames that went out inside a batch frame. */
  batchedFrames: number;
}

/** A Deno WebSocket as the bridge uses it: its sends ordered behind its batch, its writes budgeted. */
export class BatchingSocket implements SocketHandle, BudgetedWriter {
  /** Set by the write budget while this socket waits in line. */
  waitingForWrite = false;
  readonly #socket: WebSocket;
  readonly #budget: WriteBudget;
  readonly #counters: BatchCounters;
  /** Frames for the next write, in order (a frame's text is shared by every socket of its topic). */
  readonly #frames: string[] = [];
  /** UTF-8 bytes of #frames. */
  #frameBytes = 0;
  /** `bufferedAmount` when last read: after a send it only goes down until the next, so an upper bound. */
  #lastBuffered = 0;

  constructor(socket: WebSocket, budget: WriteBudget, counters: BatchCounters) {
    this.#socket = socket;
    this.#budget = budget;
    this.#counters = counters;
  }

  /**
   * A frame of the fan-out (`bytes`: its UTF-8 length): sent at once when nothing waits, nothing is
   * unwritten and the budget allows, else put in the batch. Returns the socket's buffered bytes, at
   * most overstated (the fan-out looks closer at a socket at a quarter of its bound).
   */
  offer(text: string, bytes: number): number {
    if (this.#frames.length === 0 && this.#socket.bufferedAmount === 0 && this.#budget.take()) {
      this.#write(text);
      return this.#lastBuffered;
    }
    this.#add(text, bytes);
    return this.#lastBuffered + this.#queuedBytes();
  }

  /** Any other frame (an answer, a lifecycle or `dropped` frame): at once unless frames wait; then behind them. */
  send(text: string): void {
    if (this.#frames.length === 0) this.#write(text);
    else this.#add(text, utf8Length(text));
  }

  /** Bytes not yet written to the kernel: the runtime's send buffer and this socket's batch. */
  bufferedAmount(): number {
    this.#lastBuffered = this.#socket.bufferedAmount;
    return this.#lastBuffered + this.#queuedBytes();
  }

  /** Closes the socket; what waits in its batch goes with it (as the runtime's send buffer does). */
  close(code: number, reason: string): void {
    this.#discard();
    this.#socket.close(code, reason);
  }

  /** The budget's grant: what waits goes out as one frame (a batch of two or more). */
  writeGranted(): number {
    const frames = this.#frames;
    if (frames.length === 0) return 0;
    if (this.#socket.readyState !== WebSocket.OPEN) {
      this.#discard(); // closed meanwhile: its close event cleans up the rest
      return 0;
    }
    let text = frames[0];
    if (frames.length > 1) {
      text = encodeBatch(frames);
      this.#counters.batches++;
      this.#counters.batchedFrames += frames.length;
    }
    this.#discard();
    this.#write(text);
    return 1;
  }

  #add(text: string, bytes: number): void {
    this.#frames.push(text);
    this.#frameBytes += bytes;
    this.#budget.request(this);
  }

  #queuedBytes(): number {
    const count = this.#frames.length;
    return count < 2 ? this.#frameBytes : this.#frameBytes + batchOverheadBytes(count);
  }

  #discard(): void {
    this.#frames.length = 0;
    this.#frameBytes = 0;
  }

  #write(text: string): void {
    try {
      this.#socket.send(text);
    } catch {
      // Closed by the runtime under us; its close event cleans up.
    }
    this.#lastBuffered = this.#socket.bufferedAmount;
  }
}

export class JsFanout implements Fanout {
  /** Messages and lifecycle frames times the sockets in the topic's fan-out (sent alone or in a batch). */
  deliveries = 0;
  readonly counters: BatchCounters = { batches: 0, batchedFrames: 0 };
  readonly #quarter: number;
  readonly #budget: WriteBudget;

  constructor(maxBufferedBytes: number, budget: WriteBudget = sharedWriteBudget) {
    this.#quarter = maxBufferedBytes / 4;
    this.#budget = budget;
  }

  /** The bridge's handle of a socket of this fan-out (every Deno socket's: publish() relies on it). */
  handle(socket: WebSocket): BatchingSocket {
    return new BatchingSocket(socket, this.#budget, this.counters);
  }

  join(socket: BridgeSocket, topic: Topic): void {
    topic.receivers.add(socket);
  }

  leave(socket: BridgeSocket, topic: Topic): void {
    topic.receivers.delete(socket);
  }

  publish(topic: Topic, text: string): void {
    const quarter = this.#quarter;
    const bytes = utf8Length(text); // once per message, not per socket
    for (const socket of topic.receivers) {
      this.deliveries++;
      // Every Deno socket's handle is a BatchingSocket (JsFanout.handle, src/ws.ts).
      if ((socket.handle as BatchingSocket).offer(text, bytes) >= quarter) socket.check();
    }
  }
}
