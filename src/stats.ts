// Counters and the plain-object snapshots returned by client.stats() and subscription.stats().
// Rule: counters only ever grow (gauges such as queueDepth are computed at snapshot time), and every
// message that reaches a subscription is counted exactly once as delivered or dropped — or is still
// in its buffer (queueDepth).

/** Client-wide counters; subscriptions add to them as they deliver, drop and catch errors. */
export class Counters {
  /** Pub/sub messages read from the server (once per message, however many subscriptions get it). */
  received = 0;
  /** Messages handed to a consumer (iterator step or onMessage call), summed over subscriptions. */
  delivered = 0;
  /** Messages lost to an overflow policy or left undelivered when a subscription ended by close(). */
  dropped = 0;
  /** Consumer callbacks (onMessage, event listeners, onOccupied/onVacated) that threw. */
  errors = 0;
  /** Successful reconnections. */
  reconnects = 0;
}

/**
 * What `client.stats()` returns: a plain snapshot, taken when called. Counters only grow over the
 * client's life; `queueDepth`, `queueBytes` and the native fields are values of now. Every message
 * that reached a subscription is `delivered`, `dropped`, or still in `queueDepth`.
 */
export interface ClientStats {
  /**
   * Pub/sub messages read from the server: once per push (a message that matches a channel and a
   * pattern subscription arrives twice), however many local subscriptions share it.
   */
  received: number;
  /** Messages handed to a consumer (iterator step, onMessage call, SSE stream), summed over subscriptions. */
  delivered: number;
  /** Messages lost to an overflow policy, or left undelivered when a subscription ended by close(). */
  dropped: number;
  /** Consumer callbacks (onMessage, event listeners, onOccupied/onVacated) that threw. */
  errors: number;
  /** Successful reconnections (each may have missed messages: pub/sub is at-most-once). */
  reconnects: number;
  /** Messages waiting in subscription buffers right now. */
  queueDepth: number;
  /** Payload bytes of those messages. */
  queueBytes: number;
  /** Native messages not yet freed, over this client's parsers (0 between chunks). */
  nativeLiveMessages: number;
  /** Native bytes held by this client's parsers (buffered partial frames and queued messages). */
  nativeLiveBytes: number;
}

/** What `subscription.stats()` returns: its own share of the client's counters, taken when called. */
export interface SubscriptionStats {
  /** Messages routed to this subscription. */
  received: number;
  /** Messages handed to its consumer (iterator step, onMessage call, SSE stream). */
  delivered: number;
  /** Messages its overflow policy dropped, or left undelivered when it ended by close(). */
  dropped: number;
  /** Messages waiting in its buffer now (0 with onMessage). */
  queueDepth: number;
  /** Payload bytes buffered (bounded by bufferBytes; one message always fits). */
  queueBytes: number;
  /** Times the consumer was found stalled (it held reading for slowConsumerMs without draining). */
  stalls: number;
}
