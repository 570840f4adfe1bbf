// DurableFeed: what makes a subscription durable. Live messages pass through it (their envelope
// opened: Message.data is the payload, Message.id the entry id); gaps are filled from the channel's
// history stream, in order, before anything live that came meanwhile.
//
// Rules (README "Durable channels"):
// - Exactly once, in order: a live message whose id does not follow the last one delivered is either
//   a duplicate (dropped: it was delivered) or shows a gap (the feed replays from the last id first).
// - The seam: the subscription exists before the history is read, and while the feed replays, live
//   messages wait in a side list; after the replay, those not already replayed follow. A side list over
//   the subscription's bounds is cleared (its entries are in the stream) and the replay goes on.
// - Paced: replayed messages go into the subscription only while it has room below its high-water
//   marks (or, for a consumer that takes calls, while it does not hold reading), so a replay of any
//   size is never dropped; each batch is read when the previous one is in.
// - Gaps are never silent: a fill after a reconnect, a live gap, an overflow or a resume ends with a
//   `recovered` event: how many came from history, and whether that was everything (`complete`); when
//   not, `lost` is the exact count when the sequences tell it, undefined when the epoch changed or the
//   stream is gone.
import { ClosedError, ConnectionError, ReplyError, TimeoutError } from "../errors.ts";
import { Frame } from "../frame.ts";
import type { ResolvedFlow } from "../options.ts";
import type { NameRecord } from "../router.ts";
import { openEnvelope } from "./envelope.ts";
import { beforeAnyStream, type EntryId } from "./ids.ts";
import type { HistoryStart } from "./options.ts";
import type { HistoryBatch, HistoryEntry, HistoryReader } from "./reader.ts";

/** The `recovered` lifecycle event. */
export interface RecoveredEvent {
  type: "recovered";
  at: number;
  /** Messages delivered from history by this fill. */
  count: number;
  /** Nothing was lost between the resume point and now. */
  complete: boolean;
  /** When not complete: how many entries are known lost; undefined when unknown. */
  lost?: number;
}

/** What the feed needs from its subscription (src/subscription.ts implements it). */
export interface DurableTarget {
  closed(): boolean;
  /** Hands a message to the consumer as the router would: buffer, waiting reader or callback. */
  accept(frame: Frame): void;
  /** Room for one more replayed message: below the high-water marks, and not held by its consumer. */
  replayRoom(): boolean;
  /** A live message now would meet the overflow policy (the buffer is at its bounds). */
  wouldOverflow(frame: Frame): boolean;
  countDropped(count: number): void;
  emit(event: RecoveredEvent): void;
  /** Ends the subscription with `error` (after what it buffered) and leaves its server subscription. */
  fail(error: Error): void;
}

export interface DurableFeedSettings {
  reader: HistoryReader;
  start: HistoryStart;
  record: NameRecord;
  kind: "message" | "smessage";
  flow: Readonly<ResolvedFlow>;
}

type Relation = "next" | "duplicate" | "gap";

/** How a message's id stands to the last one delivered. */
function relation(last: EntryId, epoch: number, seq: number): Relation {
  if (last.epoch === 0) return seq === 0 ? "next" : "gap"; // no stream seen: a new one starts at 0
  if (epoch === last.epoch) return seq <= last.seq ? "duplicate" : seq === last.seq + 1 ? "next" : "gap";
  return epoch < last.epoch ? "duplicate" : "gap"; // a later epoch: the stream was reset
}

interface Waiting {
  frame: Frame;
  epoch: number;
  seq: number;
}

/** Entries of the first batch (read before the replay's payload size is known). */
const firstBatchEntries = 64;
/** Waits after a failed read that the connection's own recovery does not answer (ms). */
const retryDelaysMs = [100, 250, 500, 1000, 2000, 5000] as const;

export class DurableFeed {
  readonly #target: DurableTarget;
  readonly #settings: DurableFeedSettings;
  /** The last entry delivered, or where reading starts (exclusive). */
  #last: EntryId = beforeAnyStream;
  /** Live messages go to the side list while a fill runs. */
  #replaying = false;
  #side: Waiting[] = [];
  #sideBytes = 0;
  #fillWanted = false;
  #running = false;
  /** This run ends with a `recovered` event. */
  #reporting = false;
  #recovered = 0;
  #lost = 0;
  #lostUnknown = false;
  #entriesRead = 0;
  #bytesRead = 0;
  #firstRead: PromiseWithResolvers<void> | undefined;
  /** start() was called: requests before it only mark what the first run does. */
  #started = false;
  /** A wait for room (answered by roomMade) and a wait before a retry (answered by reconnected). */
  #roomWake: (() => void) | undefined;
  #retryWake: (() => void) | undefined;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #stopped = false;

  constructor(target: DurableTarget, settings: DurableFeedSettings) {
    this.#target = target;
    this.#settings = settings;
  }

  /** True while a wait for room would be answered by `roomMade()`. */
  get waitingForRoom(): boolean {
    return this.#roomWake !== undefined;
  }

  /**
   * Before the subscribe command: where the first fill starts. Without `since` (or with `{ last: n }`),
   * the stream's end as read now (n entries before it), so every entry appended after this read is
   * delivered once: live, or replayed when it came before the subscription did. Read after the
   * subscription, entries appended in between would count into the n and their live copies, already
   * received, would be dropped as replayed. From here on, live messages wait for the first fill.
   */
  async prepare(): Promise<void> {
    const start = this.#settings.start;
    if (start.kind === "after") {
      this.#last = start.id;
      this.#reporting = true;
    } else {
      this.#last = startBefore(await this.#settings.reader.last(), start.kind === "last" ? start.count : 0);
      if (start.kind === "last" && start.incomplete) {
        this.#reporting = true;
        this.#lostUnknown = true;
      }
    }
    this.#replaying = true;
  }

  /**
   * After the server confirmed the subscription: the first fill. Resolves once its first read is in
   * (or the connection failed: the fill then goes on after the reconnect); rejects when it cannot work
   * at all (e.g. the key holds something that is not a stream).
   */
  start(): Promise<void> {
    this.#firstRead = Promise.withResolvers<void>();
    this.#started = true;
    this.#request(false);
    return this.#firstRead.promise;
  }

  /** A live message from the router. */
  live(frame: Frame): void {
    const envelope = openEnvelope(frame.data);
    if (envelope === undefined) {
      // Published without history: no id, delivered as it is, in its place.
      if (this.#replaying) this.#wait({ frame, epoch: 0, seq: -1 });
      else this.#target.accept(frame);
      return;
    }
    const message = frame.withHistoryId(frame.data.subarray(envelope.payloadOffset), envelope.id);
    const waiting = { frame: message, epoch: envelope.epoch, seq: envelope.seq };
    if (this.#replaying) {
      this.#wait(waiting);
      return;
    }
    const next = relation(this.#last, envelope.epoch, envelope.seq);
    if (next === "duplicate") return;
    if (next === "next" && !(this.#overflows(message))) {
      this.#last = { epoch: envelope.epoch, seq: envelope.seq };
      this.#target.accept(message);
      return;
    }
    // A gap, or a buffer at its bounds: the history has this message and what came before it.
    this.#wait(waiting);
    this.#request(true);
  }

  /** The connection came back (Client reconnect, cluster member moved): fill what was missed. */
  reconnected(): void {
    this.#request(true);
    this.#wakeRetry(); // a read that failed with the connection retries now
  }

  /** The consumer took messages (below half its high-water marks) or let go of its hold. */
  roomMade(): void {
    const wake = this.#roomWake;
    this.#roomWake = undefined;
    wake?.();
  }

  /** The subscription ended: no more reads, waits or events. */
  stop(): void {
    this.#stopped = true;
    this.#side = [];
    this.#sideBytes = 0;
    this.#wakeRetry();
    this.roomMade();
    this.#firstRead?.resolve();
  }

  #overflows(message: Frame): boolean {
    const policy = this.#settings.flow.overflow;
    return (policy === "drop-oldest" || policy === "drop-newest") && this.#target.wouldOverflow(message);
  }

  #wait(waiting: Waiting): void {
    const flow = this.#settings.flow;
    if (this.#side.length >= flow.bufferSize || (this.#side.length > 0 && this.#sideBytes + waiting.frame.data.byteLength > flow.bufferBytes)) {
      // Everything with an id is in the stream: read it from there. Only messages published without
      // history are lost by this, and counted.
      let dropped = 0;
      for (const item of this.#side) if (item.epoch === 0) dropped++;
      this.#side = [];
      this.#sideBytes = 0;
      if (dropped > 0) this.#target.countDropped(dropped);
      this.#fillWanted = true;
    }
    this.#side.push(waiting);
    this.#sideBytes += waiting.frame.data.byteLength;
  }

  #request(report: boolean): void {
    if (this.#stopped) return;
    if (report) this.#reporting = true;
    this.#fillWanted = true;
    this.#replaying = true;
    if (this.#started && !this.#running) void this.#run();
  }

  async #run(): Promise<void> {
    this.#running = true;
    try {
      for (;;) {
        if (this.#stopped || this.#target.closed()) return;
        if (this.#fillWanted) {
          this.#fillWanted = false;
          if (!await this.#fillRetrying()) return;
          continue;
        }
        if (await this.#flushSide()) break;
      }
      this.#replaying = false;
      this.#report();
    } finally {
      this.#running = false;
    }
  }

  /** One fill to the stream's end; after a failure that a reconnect cures, waits and fills again. False: stop. */
  async #fillRetrying(): Promise<boolean> {
    for (let attempt = 0;; attempt++) {
      try {
        await this.#fill();
        return true;
      } catch (error) {
        // A ClosedError while the subscription lives is a node closed under it (a cluster member
        // moving): retried like a lost connection; only the subscription's own end stops the fill.
        if (this.#stopped || this.#target.closed()) {
          this.#firstRead?.resolve();
          return false;
        }
        if (!isRetryable(error)) {
          const first = this.#firstRead;
          this.#firstRead = undefined;
          if (first !== undefined) first.reject(error);
          else this.#target.fail(error as Error);
          return false;
        }
        // The subscription stays; its reconnect (or this wait) brings the next attempt.
        this.#firstRead?.resolve();
        await this.#pause(retryDelaysMs[Math.min(attempt, retryDelaysMs.length - 1)]);
        if (this.#stopped) return false;
      }
    }
  }

  /**
   * Reads from the last id to the stream's end, delivering as room allows. While a full batch goes
   * into the subscription, the next one is already being read (at most two batches in memory): a
   * consumer that drains as fast as it can never waits for a round trip.
   */
  async #fill(): Promise<void> {
    const reader = this.#settings.reader;
    let countsLoss = this.#reporting;
    let prefetched: { batch: Promise<HistoryBatch>; count: number } | undefined;
    try {
      for (;;) {
        await this.#room();
        if (this.#stopped) return;
        const count = prefetched?.count ?? this.#batchSize();
        const batch = await (prefetched?.batch ?? reader.after(this.#last, count));
        prefetched = undefined;
        this.#firstRead?.resolve();
        this.#entriesRead += batch.entries.length;
        this.#bytesRead += batch.bytes;
        const epoch = batch.epoch ?? batch.entries[0]?.id.epoch;
        if (epoch === undefined) {
          // No stream: gone (expired, deleted) since the last id, or never there.
          if (this.#last.epoch !== 0) {
            this.#lostUnknown = true;
            this.#last = beforeAnyStream;
          }
          return;
        }
        if (this.#last.epoch !== 0 && epoch !== this.#last.epoch) {
          // Reset (a new epoch): what the old stream held after the last id is unknown. Read the new one from its start.
          this.#lostUnknown = true;
          this.#last = { epoch, seq: -1 };
          countsLoss = false;
          continue;
        }
        const full = batch.entries.length >= count;
        if (full && batch.entries.length > 0) {
          const nextCount = this.#batchSize();
          prefetched = { batch: reader.after(batch.entries[batch.entries.length - 1].id, nextCount), count: nextCount };
        }
        for (const entry of batch.entries) {
          if (!this.#target.replayRoom()) {
            await this.#room();
            if (this.#stopped || this.#target.closed()) return;
          }
          this.#deliver(entry, countsLoss);
        }
        countsLoss = this.#reporting;
        if (!full) {
          if (batch.entries.length === 0 && this.#reporting && this.#last.epoch !== 0) await this.#checkNotBehind();
          return;
        }
      }
    } finally {
      // A read in flight when the fill stops (ended, failed): its outcome no longer matters.
      prefetched?.batch.catch(() => {});
    }
  }

  /**
   * Nothing after the last id: is the stream's end behind it? A replica promoted by a failover may
   * lack the last writes its old primary acknowledged (replication is asynchronous), and its next
   * entries then reuse sequences this subscription already delivered: they would be dropped as
   * duplicates. So the end becomes the last id, and the fill reports that something is unknown.
   */
  async #checkNotBehind(): Promise<void> {
    const newest = (await this.#settings.reader.last()).entries[0];
    if (newest === undefined || newest.id.epoch !== this.#last.epoch || newest.id.seq >= this.#last.seq) return;
    this.#lostUnknown = true;
    this.#last = newest.id;
  }

  #deliver(entry: HistoryEntry, countsLoss: boolean): void {
    const next = relation(this.#last, entry.id.epoch, entry.id.seq);
    if (next === "duplicate") return;
    if (next === "gap") {
      if (entry.id.epoch !== this.#last.epoch && this.#last.epoch !== 0) this.#lostUnknown = true;
      else if (countsLoss) this.#lost += entry.id.seq - (this.#last.epoch === 0 ? 0 : this.#last.seq + 1);
    }
    const { record, kind } = this.#settings;
    this.#last = entry.id;
    this.#recovered++;
    this.#target.accept(new Frame(kind, record.name, record.bytes, undefined, undefined, entry.data, 0, entry.text));
  }

  /** Delivers the side list after a fill; false when it shows another gap (or was cleared): fill again. */
  async #flushSide(): Promise<boolean> {
    while (this.#side.length > 0) {
      if (this.#fillWanted) return false;
      const waiting = this.#side[0];
      if (waiting.epoch !== 0) {
        const next = relation(this.#last, waiting.epoch, waiting.seq);
        if (next === "gap") {
          this.#fillWanted = true;
          return false;
        }
        if (next === "duplicate") {
          this.#shiftSide();
          continue;
        }
      }
      if (!this.#target.replayRoom()) {
        await this.#room();
        if (this.#stopped || this.#target.closed()) return true;
        continue; // the side list may have been cleared meanwhile
      }
      this.#shiftSide();
      if (waiting.epoch !== 0) this.#last = { epoch: waiting.epoch, seq: waiting.seq };
      this.#target.accept(waiting.frame);
    }
    return !this.#fillWanted;
  }

  #shiftSide(): void {
    const waiting = this.#side.shift()!;
    this.#sideBytes -= waiting.frame.data.byteLength;
  }

  /** The end of a run: `recovered` when it filled a gap (a resume, a reconnect, a live gap, an overflow). */
  #report(): void {
    const reporting = this.#reporting;
    const complete = !this.#lostUnknown && this.#lost === 0;
    const event: RecoveredEvent = { type: "recovered", at: Date.now(), count: this.#recovered, complete };
    if (!complete && !this.#lostUnknown) event.lost = this.#lost;
    this.#reporting = false;
    this.#recovered = 0;
    this.#lost = 0;
    this.#lostUnknown = false;
    if (reporting) this.#target.emit(event);
  }

  /** Entries per read: what fits the high-water marks at the payload size seen so far. */
  #batchSize(): number {
    const flow = this.#settings.flow;
    const marks = Math.max(1, flow.highWaterMark);
    if (this.#entriesRead === 0) return Math.min(marks, firstBatchEntries);
    const average = Math.max(1, this.#bytesRead / this.#entriesRead);
    return Math.max(1, Math.min(marks, Math.floor(flow.highWaterMarkBytes / average)));
  }

  /** Waits until the subscription has room for replayed messages (or ended). */
  async #room(): Promise<void> {
    while (!this.#stopped && !this.#target.closed() && !this.#target.replayRoom()) {
      await new Promise<void>((resolve) => (this.#roomWake = resolve));
    }
  }

  /** Waits `ms`, or less when woken (a reconnect, the end). */
  #pause(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      this.#retryWake = resolve;
      this.#retryTimer = setTimeout(() => this.#wakeRetry(), ms);
    });
  }

  #wakeRetry(): void {
    clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    const wake = this.#retryWake;
    this.#retryWake = undefined;
    wake?.();
  }
}

/** Where reading starts (exclusive): `count` entries before the stream's newest; its end for 0. */
function startBefore(newest: HistoryBatch, count: number): EntryId {
  const entry = newest.entries[0];
  if (entry === undefined) return newest.epoch !== undefined ? { epoch: newest.epoch, seq: -1 } : beforeAnyStream;
  return { epoch: entry.id.epoch, seq: Math.max(-1, entry.id.seq - count) };
}

/** Failures that another attempt can cure: the connection, or a server that is not ready yet. */
function isRetryable(error: unknown): boolean {
  if (error instanceof ConnectionError || error instanceof TimeoutError || error instanceof ClosedError) return true;
  return error instanceof ReplyError && ["LOADING", "BUSY", "TRYAGAIN", "CLUSTERDOWN", "MASTERDOWN", "MOVED", "ASK"].includes(error.serverCode);
}

