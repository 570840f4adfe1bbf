// Cluster topology as plain data: which primary (and which replicas) serve each of the 16384 slots.
// Built from a decoded `CLUSTER SHARDS` reply (Redis/Valkey >= 7) or, on older servers, `CLUSTER SLOTS`.
// Rule: parsing never throws on fields it does not know and never trusts a shape it has not checked;
// a reply it cannot read is a ProtocolError that says which command and which part was wrong.
import { ProtocolError } from "../errors.ts";
import { formatAddress, parseAddress } from "../nodes/address.ts";
import type { ReplyValue } from "../protocol/reply.ts";

export { formatAddress, parseAddress };

export const slotCount = 16_384;

/** One node of the cluster as its topology reply described it. */
export interface ClusterNode {
  /** 40-character node id ("" when an old CLUSTER SLOTS reply does not carry it). */
  id: string;
  /** The address the node announces (its IP, or its hostname when the cluster announces those). */
  host: string;
  /** The port clients reach it on: its `tls-port` when the client uses TLS. */
  port: number;
  /** What the node is now; a failover turns a replica into a primary at the next refresh. */
  role: "primary" | "replica";
  /** For replicas: the id of their primary (null for primaries; null keeps the snapshot JSON-exact). */
  primaryId: string | null;
  /** As CLUSTER SHARDS says ("online", "failed", "loading"); "online" when the reply has no health. */
  health: string;
}

/** A run of consecutive slots served by one primary. */
export interface SlotRange {
  /** First slot (inclusive). */
  start: number;
  /** Last slot (inclusive). */
  end: number;
  /** Address ("host:port") of the primary serving these slots. */
  primary: string;
  /** Addresses of its replicas. */
  replicas: string[];
}

/** What `ClusterClient.topology()` returns: plain data, safe to JSON.stringify. */
export interface TopologySnapshot {
  /** Every node the reply named, primaries and replicas. */
  nodes: ClusterNode[];
  /** The served slot ranges, in slot order; a slot in none has no owner (the cluster is incomplete). */
  slots: SlotRange[];
  /** Date.now() of the refresh that produced it. */
  refreshedAt: number;
  /** "CLUSTER SHARDS" or "CLUSTER SLOTS". */
  source: string;
}

/** A parsed topology plus an O(1) slot → primary address table. */
export class Topology {
  readonly #primaryBySlot: (string | undefined)[];

  constructor(readonly snapshot: TopologySnapshot) {
    this.#primaryBySlot = new Array(slotCount);
    for (const range of snapshot.slots) {
      for (let slot = range.start; slot <= range.end; slot++) this.#primaryBySlot[slot] = range.primary;
    }
  }

  /** "host:port" of the primary owning `slot`, or undefined when no one serves it. */
  primaryFor(slot: number): string | undefined {
    return this.#primaryBySlot[slot];
  }

  /**
   * A MOVED reply is newer news than the last refresh: send `slot` to `address` until the next
   * refresh replaces the whole table (the snapshot is not patched; it stays what the server said).
   */
  redirect(slot: number, address: string): void {
    this.#primaryBySlot[slot] = address;
  }

  /** Every primary address that owns at least one slot. */
  primaries(): string[] {
    return [...new Set(this.snapshot.slots.map((range) => range.primary))];
  }

  /** Every known node address (primaries first), for picking a node to ask or to subscribe on. */
  addresses(): string[] {
    const primaries = this.primaries();
    const others = this.snapshot.nodes.map(nodeAddress).filter((address) => !primaries.includes(address));
    return [...primaries, ...others];
  }

  /** True when every slot has an owner. */
  get complete(): boolean {
    for (let slot = 0; slot < slotCount; slot++) if (this.#primaryBySlot[slot] === undefined) return false;
    return true;
  }
}

export function nodeAddress(node: { host: string; port: number }): string {
  return formatAddress(node.host, node.port);
}

/** A MOVED or ASK redirection: "MOVED 3999 127.0.0.1:6381". */
export interface Redirection {
  kind: "MOVED" | "ASK";
  slot: number;
  host: string;
  port: number;
}

export function parseRedirection(message: string): Redirection | undefined {
  const match = /^(MOVED|ASK) (\d+) (\S+)/.exec(message.replace(/^[^:]*: (?=MOVED|ASK)/, ""));
  if (!match) return undefined;
  const address = parseAddress(match[3]);
  const slot = Number(match[2]);
  if (!address || slot >= slotCount) return undefined;
  return { kind: match[1] as "MOVED" | "ASK", slot, ...address };
}

// ---- CLUSTER SHARDS --------------------------------------------------------------------------

/**
 * Parses a CLUSTER SHARDS reply: a list of shards, each a map (RESP3) or a flat key/value list (RESP2)
 * with "slots" (flat [start, end, start, end, ...]) and "nodes" (maps with id, port, tls-port, ip,
 * endpoint, hostname, role, replication-offset, health). `askedHost` replaces an unknown endpoint ("?").
 * A node with a TLS port lists it beside its plain-text one ("port"): `tls` picks "tls-port", since a
 * TLS client that took "port" would open its TLS handshake on the plain-text port.
 */
export function parseClusterShards(
  reply: ReplyValue,
  askedHost: string,
  options: { tls?: boolean; now?: number } = {},
): Topology {
  const { tls = false, now = Date.now() } = options;
  const shards = expectList(reply, "CLUSTER SHARDS", "the reply");
  const nodes: ClusterNode[] = [];
  const slots: SlotRange[] = [];
  for (const [shardIndex, shardValue] of shards.entries()) {
    const where = `shard ${shardIndex}`;
    const shard = fieldsOf(shardValue, "CLUSTER SHARDS", where);
    const slotBounds = expectList(shard.get("slots") ?? [], "CLUSTER SHARDS", `${where} slots`).map((bound) =>
      expectSlot(bound, "CLUSTER SHARDS", `${where} slots`)
    );
    if (slotBounds.length % 2 !== 0) throw shapeError("CLUSTER SHARDS", `${where} slots has an odd length`);
    const members = expectList(shard.get("nodes") ?? [], "CLUSTER SHARDS", `${where} nodes`).map((nodeValue, index) =>
      shardNode(fieldsOf(nodeValue, "CLUSTER SHARDS", `${where} node ${index}`), askedHost, `${where} node ${index}`, tls)
    );
    // After a failover the old primary can stay listed (failed) beside the promoted one.
    const primary = members.find((node) => node.role === "primary" && node.health !== "failed" && node.health !== "fail");
    for (const node of members) {
      node.primaryId = node.role === "replica" ? primary?.id ?? null : null;
      nodes.push(node);
    }
    if (primary === undefined || slotBounds.length === 0) continue;
    const replicas = members.filter((node) => node.role === "replica" && node.health === "online").map(nodeAddress);
    for (let index = 0; index < slotBounds.length; index += 2) {
      slots.push({ start: slotBounds[index], end: slotBounds[index + 1], primary: nodeAddress(primary), replicas });
    }
  }
  slots.sort((left, right) => left.start - right.start);
  return new Topology({ nodes, slots, refreshedAt: now, source: "CLUSTER SHARDS" });
}

function shardNode(fields: Map<string, ReplyValue>, askedHost: string, where: string, tls: boolean): ClusterNode {
  const port = tls ? fields.get("tls-port") : fields.get("port");
  if (typeof port !== "number") {
    // A TLS port is announced only with tls-cluster yes; using the other kind of port would mean TLS
    // to a plain-text port, or plain text (a password in clear) to a TLS one.
    throw shapeError("CLUSTER SHARDS", tls ? `${where} has no tls-port (the nodes need tls-cluster yes)` : `${where} has no port`);
  }
  const role = textOf(fields.get("role"));
  return {
    id: textOf(fields.get("id")),
    host: pickHost(textOf(fields.get("endpoint")), textOf(fields.get("ip")), askedHost),
    port,
    role: role === "master" || role === "primary" ? "primary" : "replica",
    primaryId: null,
    health: textOf(fields.get("health")) || "online",
  };
}

// ---- CLUSTER SLOTS ---------------------------------------------------------------------------

/**
 * Parses a CLUSTER SLOTS reply: [start, end, [host, port, id?, metadata?], replica...] per range.
 * A primary owning several ranges appears once per range.
 */
export function parseClusterSlots(reply: ReplyValue, askedHost: string, now = Date.now()): Topology {
  const ranges = expectList(reply, "CLUSTER SLOTS", "the reply");
  const nodesByAddress = new Map<string, ClusterNode>();
  const slots: SlotRange[] = [];
  for (const [rangeIndex, rangeValue] of ranges.entries()) {
    const where = `range ${rangeIndex}`;
    const range = expectList(rangeValue, "CLUSTER SLOTS", where);
    if (range.length < 3) throw shapeError("CLUSTER SLOTS", `${where} has ${range.length} elements, expected >= 3`);
    const start = expectSlot(range[0], "CLUSTER SLOTS", where);
    const end = expectSlot(range[1], "CLUSTER SLOTS", where);
    const members = range.slice(2).map((member, index) => slotsNode(member, askedHost, `${where} node ${index}`));
    const primary = members[0];
    primary.role = "primary";
    for (const replica of members.slice(1)) replica.primaryId = primary.id || null;
    for (const node of members) {
      const address = nodeAddress(node);
      if (!nodesByAddress.has(address)) nodesByAddress.set(address, node);
    }
    slots.push({ start, end, primary: nodeAddress(primary), replicas: members.slice(1).map(nodeAddress) });
  }
  slots.sort((left, right) => left.start - right.start);
  return new Topology({ nodes: [...nodesByAddress.values()], slots, refreshedAt: now, source: "CLUSTER SLOTS" });
}

function slotsNode(value: ReplyValue, askedHost: string, where: string): ClusterNode {
  const fields = expectList(value, "CLUSTER SLOTS", where);
  const port = fields[1];
  if (typeof port !== "number") throw shapeError("CLUSTER SLOTS", `${where} has no port`);
  return {
    id: textOf(fields[2]),
    host: pickHost(textOf(fields[0]), "", askedHost),
    port,
    role: "replica",
    primaryId: null,
    health: "online",
  };
}

// ---- shared helpers ----------------------------------------------------------------------------

/** The preferred endpoint, else the ip; "?" or "" mean "unknown": the node we asked then. */
function pickHost(endpoint: string, ip: string, askedHost: string): string {
  if (endpoint !== "" && endpoint !== "?") return endpoint;
  if (ip !== "" && ip !== "?") return ip;
  return askedHost;
}

function textOf(value: ReplyValue | undefined): string {
  if (typeof value === "string") return value;
  if (value instanceof Uint8Array) return new TextDecoder().decode(value);
  if (typeof value === "number" || typeof value === "bigint") return String(value);
  return "";
}

function expectList(value: ReplyValue | undefined, command: string, where: string): ReplyValue[] {
  if (!Array.isArray(value)) throw shapeError(command, `${where} is not a list`);
  return value;
}

function expectSlot(value: ReplyValue, command: string, where: string): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0 || value >= slotCount) {
    throw shapeError(command, `${where}: ${String(value)} is not a slot number`);
  }
  return value;
}

/** A RESP3 map or a RESP2 flat [key, value, key, value, ...] list, as a Map keyed by text. */
function fieldsOf(value: ReplyValue, command: string, where: string): Map<string, ReplyValue> {
  const fields = new Map<string, ReplyValue>();
  if (value instanceof Map) {
    for (const [key, item] of value) fields.set(textOf(key), item);
    return fields;
  }
  const list = expectList(value, command, where);
  if (list.length % 2 !== 0) throw shapeError(command, `${where} is neither a map nor a key/value list`);
  for (let index = 0; index < list.length; index += 2) fields.set(textOf(list[index]), list[index + 1]);
  return fields;
}

function shapeError(command: string, detail: string): ProtocolError {
  return new ProtocolError(-1, `${command}: unexpected reply shape (${detail})`);
}
