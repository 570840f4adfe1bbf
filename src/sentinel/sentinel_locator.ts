// Where a Sentinel client's connections go (the Client's EndpointLocator): the primary the sentinels
// name now, checked on every new connection (HELLO's role, or ROLE over RESP2, must say master), and
// a watch on +switch-master that makes the client move at once on a failover. The watch is one
// subscription placed on one sentinel by the shared parts (src/nodes/: pool, placement, retries) and
// moved to another sentinel when its sentinel is lost; after such a gap it asks the sentinels again,
// since a switch may have been missed.
// Rule: the client is moved only when the sentinels name a primary other than the one its last
// connection went to; every sentinel connection (lookups and the watch) lives in this locator's pool
// and ends with the client's close().
import { ConnectionError } from "../errors.ts";
import type { EndpointLocator, RelocatableClient } from "../endpoint_locator.ts";
import type { Message } from "../frame.ts";
import { formatAddress, parseAddress } from "../nodes/address.ts";
import { Lifetime } from "../nodes/lifetime.ts";
import { NodeClient } from "../nodes/node_client.ts";
import { NodePool } from "../nodes/node_pool.ts";
import { Placement } from "../nodes/placement.ts";
import { Retries } from "../nodes/retries.ts";
import { type ClientOptions, defaultFlow, type Endpoint, type ResolvedReconnect } from "../options.ts";
import type { Connection } from "../protocol/connection.ts";
import { nameRecord } from "../router.ts";
import { Counters } from "../stats.ts";
import type { Subscription } from "../subscription.ts";
import { SentinelSource } from "./sentinel_source.ts";

/** The channel on which a sentinel announces a new primary: "<name> <old-ip> <old-port> <new-ip> <new-port>". */
const switchChannel = "+switch-master";

/** One sentinel: its address and the options its node client connects with (its TLS and credentials). */
export interface SentinelNode {
  address: string;
  options: ClientOptions;
}

export class SentinelLocator implements EndpointLocator {
  readonly #lifetime = new Lifetime("the pushwire sentinel client is closed: call connectSentinel() again");
  readonly #pool: NodePool;
  readonly #source: SentinelSource;
  readonly #placement: Placement;
  #client: RelocatableClient | undefined;
  /** Where the last located connection went. */
  #current: string | undefined;
  /** The primary the last +switch-master (or a check after a gap in the watch) named. */
  #switchedTo: string | undefined;
  #watch: Promise<Subscription> | undefined;

  constructor(sentinels: readonly SentinelNode[], readonly masterName: string, policy: ResolvedReconnect | undefined) {
    const byAddress = new Map(sentinels.map((sentinel) => [sentinel.address, sentinel.options]));
    this.#pool = new NodePool(this.#lifetime, {
      open: (address, onServerUnsubscribe) => {
        const options = byAddress.get(address)!;
        return NodeClient.open(address, options.tls !== undefined, options, onServerUnsubscribe);
      },
      inUse: (address) => this.#placement.inUse(address),
      dropped: (node, error) => this.#placement.nodeLost(node, error),
      serverUnsubscribed: (address, name, type) => void this.#placement.serverUnsubscribed(address, name, type),
    });
    this.#source = new SentinelSource([...byAddress.keys()], masterName, this.#lifetime, this.#pool);
    const retries = new Retries(this.#lifetime, this.#source, policy, "sentinel");
    this.#placement = new Placement(this.#lifetime, this.#pool, this.#source, retries, new Counters(), {
      subscribeAttempts: 1, // one pass over every sentinel; a watch that fails is started again by locate()
      moveAttempts: policy?.maxAttempts ?? 1,
      onOccupied: undefined,
      onVacated: undefined,
    });
  }

  /** The client to move on a failover (connectSentinel attaches it once it is open). */
  attach(client: RelocatableClient): void {
    this.#client = client;
    this.#follow();
  }

  async locate(): Promise<Endpoint> {
    const address = await this.#source.primary();
    this.#current = address;
    this.#ensureWatching();
    const { host, port } = parseAddress(address)!;
    return { kind: "tcp", host, port };
  }

  async verify(connection: Connection, endpoint: Endpoint): Promise<void> {
    const role = connection.serverRole ?? await roleOf(connection);
    if (role === "master" || role === "primary") return;
    const where = endpoint.kind === "tcp" ? formatAddress(endpoint.host, endpoint.port) : endpoint.path;
    throw new ConnectionError(
      `sentinel: ${where} is a ${role}, not the primary of ${JSON.stringify(this.masterName)} ` +
        `(the sentinel asked has not seen a failover yet?)`,
    );
  }

  /** Resolves once the watch is subscribed (or failed: it is then started again by the next locate()). */
  async watching(): Promise<void> {
    await this.#watch?.catch(() => {});
  }

  async close(): Promise<void> {
    this.#lifetime.end();
    await this.#placement.close(0);
  }

  #ensureWatching(): void {
    if (this.#watch !== undefined || this.#lifetime.closed) return;
    // The callback form: no buffer, so the flow options never come into play.
    const watching = this.#placement.subscribe("subscribe", [nameRecord(switchChannel)], {
      ...defaultFlow,
      onMessage: (message) => this.#onSwitch(message),
      onError: undefined,
      signal: undefined,
    });
    this.#watch = watching;
    const forget = () => {
      if (this.#watch === watching) this.#watch = undefined;
    };
    this.#lifetime.track(watching.then((subscription) => {
      subscription.onEvent((event) => {
        if (event.type === "reconnected") this.#lifetime.track(this.#recheck());
        else if (event.type === "end") forget();
      });
    }, forget));
  }

  #onSwitch(message: Message): void {
    const [name, , , host, port] = message.text().split(" ");
    if (name !== this.masterName || host === undefined) return;
    this.#switchedTo = formatAddress(host, Number(port));
    this.#follow();
  }

  /** The watch moved to another sentinel: ask where the primary is, in case a switch was missed. */
  async #recheck(): Promise<void> {
    this.#switchedTo = await this.#source.primary();
    this.#follow();
  }

  #follow(): void {
    const target = this.#switchedTo;
    const current = this.#current;
    if (this.#client === undefined || target === undefined || current === undefined || target === current) return;
    this.#client.relocate(new ConnectionError(`sentinel: ${JSON.stringify(this.masterName)} failed over from ${current} to ${target}`));
  }
}

/** ROLE's first field ("master", "slave", "sentinel"): the role check over RESP2, which has no HELLO. */
async function roleOf(connection: Connection): Promise<string> {
  const reply = await connection.command(["ROLE"]);
  const role = Array.isArray(reply) ? reply[0] : undefined;
  return typeof role === "string" ? role : "?";
}
