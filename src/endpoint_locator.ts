// The seam through which a Client connects to a server whose address can change (Sentinel): asked
// before every connection attempt instead of the fixed endpoint of the URL, and told when the client
// closes. Types only: the client does not know what is behind it (src/sentinel/).
import type { Endpoint } from "./options.ts";
import type { Connection } from "./protocol/connection.ts";

/** @internal */
export interface EndpointLocator {
  /** Where the next connection goes (the subscriber's, and RESP2's command connection). */
  locate(): Promise<Endpoint>;
  /** Part of each handshake: rejects a connection to `endpoint` that is not what it should be (a replica). */
  verify(connection: Connection, endpoint: Endpoint): Promise<void>;
  /** The client closed: stop watching and close what the locator opened. */
  close(): Promise<void>;
}

/** What a locator may ask of its client. */
export interface RelocatableClient {
  /** The endpoint moved (a failover): leave the current connections and reconnect through the locator now. */
  relocate(reason: Error): void;
}
