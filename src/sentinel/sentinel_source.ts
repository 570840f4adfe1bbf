// The sentinels as a source: where the primary of a master name is now (SENTINEL
// GET-MASTER-ADDR-BY-NAME, asked of each sentinel in turn, open connections first), and, for the
// placement of the +switch-master watch, which sentinel serves it (any that answers).
// Rule: "no sentinel answered" is a ConnectionError (retried by the reconnect policy); only when
// every sentinel answered that it knows no such master is it an InvalidArgumentError, when every one
// refused our credentials the ReplyError itself, and when every certificate was refused a TlsError
// (all final).
import { ConnectionError, InvalidArgumentError, ProtocolError } from "../errors.ts";
import { formatAddress } from "../nodes/address.ts";
import type { Lifetime } from "../nodes/lifetime.ts";
import type { NodePool } from "../nodes/node_pool.ts";
import { askInTurn, describeRefusals, finalRefusal, type NodeSource } from "../nodes/node_source.ts";
import type { ReplyValue } from "../protocol/reply.ts";

/** A sentinel's answer "no master of that name here". */
class UnknownMaster extends Error {}

export class SentinelSource implements NodeSource {
  constructor(
    /** "host:port" of every sentinel, in the caller's order. */
    readonly addresses: readonly string[],
    readonly masterName: string,
    readonly lifetime: Lifetime,
    readonly pool: NodePool,
  ) {}

  /** "host:port" of the primary, as the first sentinel that knows it says. */
  async primary(): Promise<string> {
    // Sentinels already connected first: asking a dead one again costs a connect (or its timeout).
    const ordered = new Set([...[...this.pool.settled()].map((node) => node.address), ...this.addresses]);
    const command = ["SENTINEL", "GET-MASTER-ADDR-BY-NAME", this.masterName];
    const result = await askInTurn(
      ordered,
      (address) => this.pool.onNode(address, async (node) => primaryAddress(await node.command(command))),
      () => this.lifetime.assertOpen(),
    );
    if ("answer" in result) return result.answer;
    const name = JSON.stringify(this.masterName);
    const refusals = result.refusals;
    if (refusals.every((refusal) => refusal.error instanceof UnknownMaster)) {
      throw new InvalidArgumentError(
        `connectSentinel: no sentinel knows a master named ${name} (asked ${this.addresses.join(", ")}): check masterName`,
      );
    }
    // Every certificate or our credentials refused by every sentinel: final too, and said as the
    // sentinels' (sentinelTls, sentinelUsername/sentinelPassword), so it is not taken for the data nodes'.
    const final = finalRefusal(
      refusals,
      (address, refused) => refused === "certificate" ? `sentinel ${address}` : `sentinel ${address} (sentinelUsername/sentinelPassword)`,
      (message) => message.replace(/ as tls\.ca$/, " as sentinelTls.ca"),
    );
    if (final !== undefined) throw final;
    throw new ConnectionError(`sentinel: no sentinel answered where the primary of ${name} is. Tried:\n${describeRefusals(refusals)}`);
  }

  /** The sentinel for the watch: kept while it works, else the first that opens. */
  addressFor(): Promise<string> {
    return this.pool.anyNode(() => Promise.resolve(this.addresses), "sentinel: no sentinel is reachable");
  }

  /** Nothing to re-read: the sentinels are the ones given. */
  refresh(): Promise<void> {
    return Promise.resolve();
  }

  fresh(): Promise<void> {
    return Promise.resolve();
  }

  /** Sentinels never redirect. */
  redirect(): boolean {
    return false;
  }
}

/** [host, port] → "host:port"; null (an unknown master name) → UnknownMaster. */
function primaryAddress(reply: ReplyValue): string {
  if (reply === null) throw new UnknownMaster("knows no master of that name");
  if (!Array.isArray(reply) || reply.length !== 2) {
    throw new ProtocolError(-1, "SENTINEL GET-MASTER-ADDR-BY-NAME: unexpected reply shape (expected [host, port])");
  }
  const [host, port] = reply.map((value) => value instanceof Uint8Array ? new TextDecoder().decode(value) : String(value));
  const portNumber = Number(port);
  if (host === "" || !Number.isInteger(portNumber) || portNumber <= 0 || portNumber > 65_535) {
    throw new ProtocolError(-1, `SENTINEL GET-MASTER-ADDR-BY-NAME: ${JSON.stringify([host, port])} is not an address`);
  }
  return formatAddress(host, portNumber);
}
