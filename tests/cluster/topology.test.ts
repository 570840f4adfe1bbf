// Method: CLUSTER SHARDS / CLUSTER SLOTS replies are written as RESP bytes (RESP3 maps and RESP2 flat
// lists, shapes taken from real Redis 7.0 replies), decoded by src/protocol/reply.ts and parsed; then
// the same parsers read a real 3-primary cluster (via the independent raw client's values) and must
// agree with CLUSTER NODES. Nothing is faked except the byte fixtures.
import { assert, runtime, test } from "../shim.ts";
import { RedisCluster } from "../helpers/redis_cluster.ts";
import { RawConnection, RawError, type RawValue } from "../helpers/raw_resp.ts";
import { decodeReply, type ReplyValue } from "../../src/protocol/reply.ts";
import {
  parseAddress,
  parseClusterShards,
  parseClusterSlots,
  parseRedirection,
} from "../../src/cluster/topology.ts";
import { ProtocolError } from "../../src/errors.ts";

const encoder = new TextEncoder();
const bulk = (text: string) => `$${encoder.encode(text).length}\r\n${text}\r\n`;
const idA = "a".repeat(40);
const idB = "b".repeat(40);
const idC = "c".repeat(40);

function shardsNode(prefix: "%" | "*", id: string, port: number, role: string, health: string, endpoint = "127.0.0.1"): string {
  const fields = [bulk("id"), bulk(id), bulk("port"), `:${port}\r\n`, bulk("ip"), bulk("127.0.0.1"),
    bulk("endpoint"), bulk(endpoint), bulk("role"), bulk(role), bulk("replication-offset"), ":42\r\n",
    bulk("health"), bulk(health)];
  return prefix === "%" ? `%7\r\n${fields.join("")}` : `*14\r\n${fields.join("")}`;
}

function shard(prefix: "%" | "*", slots: number[], nodes: string[]): string {
  const slotText = `*${slots.length}\r\n${slots.map((slot) => `:${slot}\r\n`).join("")}`;
  const body = bulk("slots") + slotText + bulk("nodes") + `*${nodes.length}\r\n${nodes.join("")}`;
  return prefix === "%" ? `%2\r\n${body}` : `*4\r\n${body}`;
}

for (const prefix of ["%", "*"] as const) {
  test(`topology: CLUSTER SHARDS as ${prefix === "%" ? "RESP3 maps" : "RESP2 lists"} (${runtime})`, () => {
    const reply = `*2\r\n` +
      shard(prefix, [0, 100, 200, 8191], [
        shardsNode(prefix, idA, 7000, "master", "online"),
        shardsNode(prefix, idC, 7002, "replica", "online", "?"),
      ]) +
      shard(prefix, [8192, 16383, 101, 199], [shardsNode(prefix, idB, 7001, "master", "online")]);
    const topology = parseClusterShards(decodeReply(encoder.encode(reply)), "10.0.0.9");
    assert.equal(topology.primaryFor(0), "127.0.0.1:7000");
    assert.equal(topology.primaryFor(150), "127.0.0.1:7001");
    assert.equal(topology.primaryFor(8191), "127.0.0.1:7000");
    assert.equal(topology.primaryFor(16383), "127.0.0.1:7001");
    assert.equal(topology.complete, true);
    assert.deepEqual(topology.primaries().sort(), ["127.0.0.1:7000", "127.0.0.1:7001"]);
    assert.deepEqual(topology.snapshot.slots.map((range) => [range.start, range.end]), [
      [0, 100], [101, 199], [200, 8191], [8192, 16383],
    ]);
    const replica = topology.snapshot.nodes.find((node) => node.id === idC)!;
    // Endpoint "?" (unknown): the ip is used.
    assert.deepEqual(replica, { id: idC, host: "127.0.0.1", port: 7002, role: "replica", primaryId: idA, health: "online" });
    assert.deepEqual(topology.snapshot.slots[0].replicas, ["127.0.0.1:7002"]);
    // Plain data: survives JSON.
    assert.deepEqual(JSON.parse(JSON.stringify(topology.snapshot)), topology.snapshot);
  });
}

test(`topology: after a failover the failed old primary is not chosen (${runtime})`, () => {
  const reply = `*1\r\n` + shard("%", [0, 16383], [
    shardsNode("%", idA, 7000, "master", "failed"),
    shardsNode("%", idB, 7001, "master", "online"),
  ]);
  const topology = parseClusterShards(decodeReply(encoder.encode(reply)), "127.0.0.1");
  assert.equal(topology.primaryFor(42), "127.0.0.1:7001");
});

test(`topology: CLUSTER SLOTS with and without ids and metadata (${runtime})`, () => {
  const node = (host: string, port: number, id?: string, meta = false) =>
    `*${id === undefined ? 2 : meta ? 4 : 3}\r\n${bulk(host)}:${port}\r\n${id === undefined ? "" : bulk(id)}${meta ? "%1\r\n$8\r\nhostname\r\n$4\r\nhost\r\n" : ""}`;
  const reply = `*3\r\n` +
    `*4\r\n:0\r\n:5460\r\n${node("127.0.0.1", 7000, idA, true)}${node("127.0.0.1", 7003, idC, true)}` +
    `*3\r\n:5461\r\n:16383\r\n${node("?", 7001, idB)}` +
    `*3\r\n:9000\r\n:9000\r\n${node("", 7000)}`;
  const topology = parseClusterSlots(decodeReply(encoder.encode(reply)), "192.168.1.5");
  assert.equal(topology.primaryFor(0), "127.0.0.1:7000");
  assert.equal(topology.primaryFor(6000), "192.168.1.5:7001");
  assert.deepEqual(topology.snapshot.slots[0].replicas, ["127.0.0.1:7003"]);
  const replica = topology.snapshot.nodes.find((candidate) => candidate.port === 7003)!;
  assert.equal(replica.role, "replica");
  assert.equal(replica.primaryId, idA);
});

test(`topology: shapes it cannot read are ProtocolErrors naming the command (${runtime})`, () => {
  const bad: [ReplyValue, string][] = [
    ["OK", "CLUSTER SHARDS"],
    [[["slots", [0], "nodes", []]], "CLUSTER SHARDS"],
    [[["slots", [0, 99999], "nodes", []]], "CLUSTER SHARDS"],
  ];
  for (const [value, command] of bad) {
    assert.throws(() => parseClusterShards(value, "h"), (error: unknown) =>
      error instanceof ProtocolError && error.message.startsWith(command));
  }
  assert.throws(() => parseClusterSlots([[0, 1]], "h"), ProtocolError);
});

test(`topology: MOVED/ASK redirections and addresses (${runtime})`, () => {
  assert.deepEqual(parseRedirection("MOVED 3999 127.0.0.1:6381"), { kind: "MOVED", slot: 3999, host: "127.0.0.1", port: 6381 });
  assert.deepEqual(parseRedirection("SPUBLISH: MOVED 1 ::1:7000"), { kind: "MOVED", slot: 1, host: "::1", port: 7000 });
  assert.deepEqual(parseRedirection("ASK 16383 [::1]:7000"), { kind: "ASK", slot: 16383, host: "::1", port: 7000 });
  assert.equal(parseRedirection("ERR unknown"), undefined);
  assert.equal(parseRedirection("MOVED 16384 a:1"), undefined);
  assert.deepEqual(parseAddress("example.com:6379"), { host: "example.com", port: 6379 });
  assert.equal(parseAddress("nohost"), undefined);
});

/** The raw client's values → the decoder's shapes (bulk strings as text). */
function toReplyValue(value: RawValue): ReplyValue {
  if (value instanceof Uint8Array) return new TextDecoder().decode(value);
  if (Array.isArray(value)) return value.map(toReplyValue);
  if (value instanceof RawError) throw value;
  return value as ReplyValue;
}

test(`topology: a real 3-primary cluster, both commands, agree with CLUSTER NODES (${runtime})`, async () => {
  const cluster = await RedisCluster.start({ primaries: 3 });
  try {
    const port = cluster.servers[0].port;
    const connection = await RawConnection.connect(port);
    const [shards, slots] = await connection.pipeline([["CLUSTER", "SHARDS"], ["CLUSTER", "SLOTS"]]);
    await connection.close();
    const fromShards = parseClusterShards(toReplyValue(shards), "127.0.0.1");
    const fromSlots = parseClusterSlots(toReplyValue(slots), "127.0.0.1");
    const nodes = await cluster.nodes();
    for (const topology of [fromShards, fromSlots]) {
      assert.equal(topology.complete, true);
      for (const node of nodes) {
        for (const [start, end] of node.slots) {
          assert.equal(topology.primaryFor(start), `127.0.0.1:${node.port}`);
          assert.equal(topology.primaryFor(end), `127.0.0.1:${node.port}`);
        }
      }
    }
    assert.deepEqual(fromShards.snapshot.slots.map((range) => [range.start, range.end, range.primary]),
      fromSlots.snapshot.slots.map((range) => [range.start, range.end, range.primary]));
  } finally {
    await cluster.stop();
  }
});
