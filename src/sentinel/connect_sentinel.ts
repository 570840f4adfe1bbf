// connectSentinel(): a Client whose primary is found through Valkey/Redis Sentinel. Every connection
// the client opens (the subscriber, RESP2's command connection, each reconnection) asks the sentinels
// where the primary is now, and a +switch-master watch moves it at once on a failover; what a Client
// does after a lost connection (resubscribe, `disconnected`/`reconnected`, queued publishes) is
// unchanged.
// Rule: sentinels and data nodes are configured apart: sentinelUsername / sentinelPassword /
// sentinelTls (and rediss:// sentinel URLs) for the sentinels; username / password / tls for the
// data nodes. Neither side's secrets are sent to the other.
import { Client } from "../client.ts";
import { InvalidArgumentError } from "../errors.ts";
import { formatAddress } from "../nodes/address.ts";
import { type ClientOptions, resolveSettings, type TlsOptions } from "../options.ts";
import { SentinelLocator, type SentinelNode } from "./sentinel_locator.ts";

/**
 * Options of `connectSentinel()`: the ClientOptions for the data nodes (username, password and tls
 * are the primary's), and the sentinels' own settings, kept apart: neither side's password is sent
 * to the other. The sentinels also take `name`, `protocol`, `connectTimeoutMs`,
 * `healthCheckIntervalMs`, `parserLimits` and `libraryPath` from the ClientOptions.
 */
export interface SentinelOptions extends ClientOptions {
  /** The master name the sentinels monitor (`sentinel monitor <name> ...`). */
  masterName: string;
  /** ACL user on the sentinels (also read from a sentinel URL; this option wins). */
  sentinelUsername?: string;
  /** Password of the sentinels (their requirepass, or the sentinel user's; also read from a URL; this wins). */
  sentinelPassword?: string;
  /** TLS to the sentinels: true or options (CA, ...); also implied by rediss:// sentinel URLs. */
  sentinelTls?: boolean | TlsOptions;
}

// The data Client's URL carries no address (the locator gives one per connection): only the options
// (username, password, tls, ...) describe the data nodes.
const locatedUrl = "redis://127.0.0.1";

/**
 * Asks the sentinels for the primary of `masterName`, connects to it (checking it is the primary)
 * and returns a ready Client that follows failovers: every connection it opens asks the sentinels
 * first, and a `+switch-master` moves its subscriptions to the new primary (`disconnected`, then
 * `reconnected`). Rejects with InvalidArgumentError when every sentinel says it knows no such
 * master, with a ReplyError (or TlsError) naming a sentinel when every sentinel refuses the
 * sentinel credentials (or certificate), and with a ConnectionError listing every sentinel's
 * failure when none answers; at once, unless `waitForServer: true`.
 *
 * @example
 * ```ts
 * import { connectSentinel } from "pushwire";
 *
 * await using client = await connectSentinel(
 *   ["redis://10.0.0.1:26379", "redis://10.0.0.2:26379", "redis://10.0.0.3:26379"],
 *   { masterName: "mymaster", sentinelPassword: "sentinel-secret", password: "data-secret" },
 * );
 * await client.publish("news", "hello");
 * ```
 */
export async function connectSentinel(sentinelUrls: string | readonly string[], options: SentinelOptions): Promise<Client> {
  if (options === null || typeof options !== "object") {
    throw new InvalidArgumentError("connectSentinel(sentinelUrls, options): options must be an object with a masterName");
  }
  const { masterName, sentinelUsername, sentinelPassword, sentinelTls, ...clientOptions } = options;
  if (typeof masterName !== "string" || masterName === "") {
    throw new InvalidArgumentError("connectSentinel: masterName must be a non-empty string (the name in `sentinel monitor`)");
  }
  const sentinels = sentinelNodes(sentinelUrls, clientOptions, { username: sentinelUsername, password: sentinelPassword, tls: sentinelTls });
  const policy = resolveSettings(locatedUrl, clientOptions).reconnect; // validates the data options too
  const locator = new SentinelLocator(sentinels, masterName, policy);
  let client: Client;
  try {
    client = await Client.open(locatedUrl, clientOptions, undefined, locator);
  } catch (error) {
    await locator.close();
    throw error;
  }
  locator.attach(client);
  await locator.watching();
  return client;
}

/** Each sentinel URL with the options its connection uses: the sentinel's own, and the common ones. */
function sentinelNodes(
  urls: string | readonly string[],
  clientOptions: ClientOptions,
  credentials: Pick<ClientOptions, "username" | "password" | "tls">,
): SentinelNode[] {
  const list = typeof urls === "string" ? [urls] : Array.isArray(urls) ? urls : [];
  if (list.length === 0) throw new InvalidArgumentError("connectSentinel(sentinelUrls): give at least one sentinel URL");
  for (const key of ["username", "password"] as const) {
    if (credentials[key] !== undefined && typeof credentials[key] !== "string") {
      throw new InvalidArgumentError(`connectSentinel: sentinel${key === "username" ? "Username" : "Password"} must be a string`);
    }
  }
  const tls = credentials.tls;
  if (tls !== undefined && typeof tls !== "boolean" && (tls === null || typeof tls !== "object")) {
    throw new InvalidArgumentError("connectSentinel: sentinelTls must be true, false or TLS options ({ ca, ... })");
  }
  const common: ClientOptions = {
    name: clientOptions.name,
    protocol: clientOptions.protocol,
    connectTimeoutMs: clientOptions.connectTimeoutMs,
    healthCheckIntervalMs: clientOptions.healthCheckIntervalMs,
    parserLimits: clientOptions.parserLimits,
    libraryPath: clientOptions.libraryPath,
  };
  const nodes = new Map<string, SentinelNode>();
  for (const url of list) {
    const settings = resolveSettings(url, { ...common, ...credentials });
    if (settings.endpoint.kind !== "tcp") throw new InvalidArgumentError("connectSentinel: sentinels are TCP addresses, not unix sockets");
    const address = formatAddress(settings.endpoint.host, settings.endpoint.port);
    nodes.set(address, {
      address,
      options: { ...common, username: settings.username, password: settings.password, tls: settings.tls },
    });
  }
  return [...nodes.values()];
}
