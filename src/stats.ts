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

export interface ClientStats {
  received: number;
  delivered: number;
  dropped: number;
  errors: number;
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

export interface SubscriptionStats {
  received: number;
  delivered: number;
  dropped: number;
  queueDepth: number;
  /** Payload bytes buffered (bounded by bufferBytes; one message always fits). */
  queueBytes: number;
  /** Times the consumer was found stalled (it held reading for slowConsumerMs without draining). */
  stalls: number;
}
