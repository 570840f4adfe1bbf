// The node clients of a client made of many nodes: one NodeClient per address, opened on first use,
// reused while it works, dropped (closed) when its connection fails, and closed at the end.
// Rule: a connection failure on any node client drops it from the pool at once and is reported to
// the owner (whose placement moves what lived there); the next use of that address opens a new one.
import { ClosedError, ConnectionError, TimeoutError } from "../errors.ts";
import type { SubscriptionType } from "../options.ts";
import type { Lifetime } from "./lifetime.ts";
import type { NodeClient } from "./node_client.ts";

export interface NodePoolEvents {
  /** Opens the node client for `address`, reporting its server-side unsubscribes. */
  open(address: string, onServerUnsubscribe: (name: string, type: SubscriptionType) => void): Promise<NodeClient>;
  /** Something still lives on a node client at `address` (it must not be closed as unused). */
  inUse(address: string): boolean;
  /** `node` was dropped after `error`: whatever lived on it must move. */
  dropped(node: NodeClient, error: Error): void;
  /** The server at `address` ended a subscription on its own (e.g. a slot migrated away). */
  serverUnsubscribed(address: string, name: string, type: SubscriptionType): void;
}

export class NodePool {
  readonly #nodes = new Map<string, Promise<NodeClient>>();
  /** Node clients that finished opening (kept in step with #nodes for a synchronous stats()). */
  readonly #open = new Set<NodeClient>();
  /** The node anyNode() chose: kept while it works. */
  #preferred: string | undefined;

  constructor(readonly lifetime: Lifetime, readonly events: NodePoolEvents) {}

  /** The node client for `address`: the open one, the one opening, or a new one. */
  node(address: string): Promise<NodeClient> {
    this.lifetime.assertOpen();
    const existing = this.#nodes.get(address);
    if (existing !== undefined) return existing;
    const opening = this.events.open(address, (name, type) => this.events.serverUnsubscribed(address, name, type))
      .then(async (node) => {
        if (this.lifetime.closed) {
          await node.close();
          throw new ClosedError(this.lifetime.closedMessage);
        }
        this.#open.add(node);
        return node;
      });
    this.#nodes.set(address, opening);
    opening.catch(() => {
      if (this.#nodes.get(address) === opening) this.#nodes.delete(address);
    });
    return opening;
  }

  /** Runs `work` on the node at `address`; a lost connection drops that node (and moves what lived there). */
  async onNode<T>(address: string | Promise<string>, work: (node: NodeClient) => Promise<T>): Promise<T> {
    const node = await this.node(await address);
    try {
      return await work(node);
    } catch (error) {
      if (isConnectionFailure(error) && !this.lifetime.closed) this.drop(node, error as Error);
      throw error;
    }
  }

  /**
   * Any node, for what every node serves (classic pub/sub): the one chosen
   * before while it works, else the first of `candidates()` that opens (`failure` starts the error
   * when none does).
   */
  async anyNode(candidates: () => Promise<readonly string[]>, failure: string): Promise<string> {
    if (this.#preferred !== undefined) return this.#preferred;
    let lastError: unknown;
    for (const address of await candidates()) {
      try {
        await this.node(address);
        this.#preferred = address;
        return address;
      } catch (error) {
        lastError = error;
      }
    }
    throw new ConnectionError(`${failure}: ${(lastError as Error)?.message}`);
  }

  /** Closes `node` after `error` and tells the owner, unless it was closed already and nothing lives on it. */
  drop(node: NodeClient, error: Error): void {
    if (node.failed && !this.events.inUse(node.address)) return;
    void this.#nodes.get(node.address)?.then((current) => {
      if (current === node) this.#nodes.delete(node.address);
    }, () => {});
    if (this.#preferred === node.address) this.#preferred = undefined;
    this.lifetime.track(this.#close(node));
    this.events.dropped(node, error);
  }

  /** Closes the node clients nothing needs any more: not kept by `keep`, not the preferred one, not in use. */
  prune(keep: (address: string) => boolean): void {
    for (const [address, pending] of this.#nodes) {
      if (keep(address) || address === this.#preferred || this.events.inUse(address)) continue;
      this.#nodes.delete(address);
      this.lifetime.track(pending.then((node) => this.#close(node), () => {}));
    }
  }

  /** The node clients open and working now. */
  *settled(): IterableIterator<NodeClient> {
    for (const node of this.#open) if (!node.failed) yield node;
  }

  /**
   * Closes every node client, open or opening (close() calls it once the lifetime ended, so nothing
   * new opens). Called again after the background work settled, for any that finished opening since.
   */
  closeAll(): Promise<void> {
    const pending = [...this.#nodes.values()];
    this.#nodes.clear();
    const closing = [...this.#open].map((node) => this.#close(node));
    closing.push(...pending.map((opening) => opening.then((node) => this.#close(node), () => {})));
    return Promise.all(closing).then(() => {});
  }

  #close(node: NodeClient): Promise<void> {
    this.#open.delete(node);
    return node.close();
  }
}

export function isConnectionFailure(error: unknown): boolean {
  return error instanceof ConnectionError || error instanceof ClosedError || error instanceof TimeoutError;
}
