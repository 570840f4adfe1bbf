// A real Valkey/Redis Cluster for TESTS ONLY: N `redis-server --cluster-enabled yes` processes (or
// valkey-server: tests/helpers/server_kind.ts picks) on random loopback ports, joined with
// `redis-cli --cluster create` (or valkey-cli), torn down by the PIDs we started.
// Rule: one cluster per test file (creating one costs ~2 s); tests that break it (kill, failover)
// run last in their file or use their own cluster.
// Rule: nothing here waits without a bound. Every command, node start and `redis-cli` run has a
// generous deadline (the machine may be busy) and fails with a message naming what it waited for: a
// raw command whose connection is closed without a reply (raw_resp.ts) would otherwise never settle.
import { spawn } from "node:child_process";
import { createServer } from "node:net";
import { RedisServer } from "./redis_server.ts";
import { asText, RawConnection, RawError, type RawValue } from "./raw_resp.ts";
import { cliBinary, serverBinary } from "./server_kind.ts";

export interface RedisClusterOptions {
  /** Primaries (at least 3: redis-cli refuses fewer). */
  primaries?: number;
  /** Replicas per primary. */
  replicasPerPrimary?: number;
  /** --cluster-node-timeout (ms): how fast a dead primary is failed over. */
  nodeTimeoutMs?: number;
}

export interface ClusterNodeInfo {
  id: string;
  port: number;
  role: "primary" | "replica";
  /** Node id of the primary, for replicas. */
  primaryId: string | undefined;
  /** Slot ranges [start, end] (inclusive), primaries only. */
  slots: [number, number][];
}

// Cluster bus port = port + 10000, and both must be < 65536.
const minimumPort = 20_000;
const portSpan = 30_000;

// Deadlines: generous (2 shared cores, other test runs and benchmarks), but bounded.
/** One command to a local node: answered in milliseconds when all is well. */
const commandTimeoutMs = 10_000;
/** One node start (spawn + the PID check of RedisServer.start). */
const nodeStartTimeoutMs = 15_000;
/** `redis-cli --cluster create` (it waits for the nodes to agree, without a limit of its own). */
const createTimeoutMs = 30_000;

export class RedisCluster {
  readonly host = "127.0.0.1";

  private constructor(readonly servers: RedisServer[], readonly replicasPerPrimary: number) {}

  /** Seed URLs: every node. */
  get urls(): string[] {
    return this.servers.map((server) => server.url);
  }

  static async start(options: RedisClusterOptions = {}): Promise<RedisCluster> {
    const primaries = options.primaries ?? 3;
    const replicasPerPrimary = options.replicasPerPrimary ?? 0;
    const nodeTimeoutMs = options.nodeTimeoutMs ?? 1_000;
    const total = primaries * (1 + replicasPerPrimary);
    const servers: RedisServer[] = [];
    const cluster = new RedisCluster(servers, replicasPerPrimary);
    try {
      const usedPorts = new Set<number>();
      for (let index = 0; index < total; index++) servers.push(await startNode(usedPorts, nodeTimeoutMs));
      await runClusterCli([
        "--cluster", "create", ...servers.map((server) => `${server.host}:${server.port}`),
        "--cluster-replicas", String(replicasPerPrimary), "--cluster-yes",
      ]);
      await cluster.waitUntilHealthy();
      return cluster;
    } catch (error) {
      await cluster.stop();
      throw error;
    }
  }

  /** The server listening on `port`. */
  server(port: number): RedisServer {
    const server = this.servers.find((candidate) => candidate.port === port);
    if (!server) throw new Error(`no cluster node on port ${port}`);
    return server;
  }

  /** Runs a command on the node at `port` (fresh connection); rejects after commandTimeoutMs. */
  command(port: number, ...args: (string | Uint8Array | number)[]): Promise<RawValue> {
    return withDeadline(this.server(port).command(...args), commandTimeoutMs, `${String(args[0])} on port ${port}`);
  }

  /** Nodes as a live node sees them (CLUSTER NODES), skipping failed/handshake entries. */
  async nodes(fromPort?: number): Promise<ClusterNodeInfo[]> {
    const port = fromPort ?? this.#livePort();
    const reply = await this.command(port, "CLUSTER", "NODES");
    if (reply instanceof RawError) throw reply;
    const nodes: ClusterNodeInfo[] = [];
    for (const line of String(asText(reply)).trim().split("\n")) {
      const fields = line.split(" ");
      const flags = fields[2].split(",");
      if (flags.includes("fail") || flags.includes("handshake") || flags.includes("noaddr")) continue;
      const slots: [number, number][] = [];
      for (const field of fields.slice(8)) {
        if (field.startsWith("[")) continue; // migrating/importing markers
        const [start, end] = field.split("-").map(Number);
        slots.push([start, end ?? start]);
      }
      nodes.push({
        id: fields[0],
        port: Number(fields[1].split("@")[0].split(":").at(-1)),
        role: flags.includes("master") ? "primary" : "replica",
        primaryId: fields[3] === "-" ? undefined : fields[3],
        slots,
      });
    }
    return nodes;
  }

  /** The primary that owns `slot`, as the node at `fromPort` (or any live node) sees it. */
  async ownerOf(slot: number, fromPort?: number): Promise<ClusterNodeInfo> {
    const owner = (await this.nodes(fromPort)).find((node) =>
      node.role === "primary" && node.slots.some(([start, end]) => slot >= start && slot <= end)
    );
    if (!owner) throw new Error(`no primary owns slot ${slot}`);
    return owner;
  }

  /**
   * Moves a slot to the primary `targetId` with the migration recipe: SETSLOT IMPORTING on the target
   * and MIGRATING on the owner, its keys (if any: a durable channel's history) moved with MIGRATE until
   * CLUSTER GETKEYSINSLOT finds none, then CLUSTER SETSLOT <slot> NODE <id> on every live primary
   * (target first), then waits until all nodes agree.
   * IMPORTING first is not ceremony: only then does SETSLOT NODE on the target bump its config epoch.
   * Without it, a target with a lower epoch than the owner gives the slot back when the owner's
   * heartbeat (still claiming it) arrives before the owner's own SETSLOT, and the two then point at
   * each other (MOVED ping-pong) for good; seen on a busy machine.
   */
  async moveSlot(slot: number, targetId: string): Promise<void> {
    const nodes = await this.nodes();
    const target = nodes.find((node) => node.id === targetId);
    if (!target) throw new Error(`no node ${targetId}`);
    const owner = await this.ownerOf(slot);
    if (owner.id === targetId) return;
    const primaries = nodes.filter((node) => node.role === "primary");
    const ordered = [target, ...primaries.filter((node) => node.id !== targetId)];
    for (const [node, args] of [[target, ["IMPORTING", owner.id]], [owner, ["MIGRATING", targetId]]] as const) {
      const reply = await this.command(node.port, "CLUSTER", "SETSLOT", slot, ...args);
      if (reply instanceof RawError) throw new Error(`SETSLOT ${args[0]} on ${node.port}: ${reply.message}`);
    }
    await this.#migrateKeys(slot, owner, target);
    for (const node of ordered) {
      const reply = await this.command(node.port, "CLUSTER", "SETSLOT", slot, "NODE", targetId);
      if (reply instanceof RawError) throw new Error(`SETSLOT on ${node.port}: ${reply.message}`);
    }
    await this.#waitFor(`every node to see slot ${slot} on ${targetId}`, async () => {
      for (const node of await this.nodes()) {
        if ((await this.ownerOf(slot, node.port)).id !== targetId) return false;
      }
      return true;
    });
  }

  /** MIGRATE the keys of `slot` from `owner` to `target`, 100 at a time, until the slot is empty there. */
  async #migrateKeys(slot: number, owner: ClusterNodeInfo, target: ClusterNodeInfo): Promise<void> {
    for (;;) {
      const keys = await this.command(owner.port, "CLUSTER", "GETKEYSINSLOT", slot, 100);
      if (keys instanceof RawError) throw new Error(`GETKEYSINSLOT on ${owner.port}: ${keys.message}`);
      if (!Array.isArray(keys) || keys.length === 0) return;
      const reply = await this.command(owner.port, "MIGRATE", this.host, target.port, "", 0, 5_000, "KEYS", ...(keys as Uint8Array[]));
      if (reply instanceof RawError) throw new Error(`MIGRATE on ${owner.port}: ${reply.message}`);
    }
  }

  /** Waits for cluster_state:ok on every running node and one agreed owner for all 16384 slots. */
  async waitUntilHealthy(timeoutMs = 15_000): Promise<void> {
    await this.#waitFor("cluster_state:ok on every node", async () => {
      for (const server of this.#running()) {
        const info = await this.command(server.port, "CLUSTER", "INFO").catch(() => undefined);
        if (info === undefined || info instanceof RawError) return false;
        if (!String(asText(info)).includes("cluster_state:ok")) return false;
      }
      return true;
    }, timeoutMs);
  }

  /**
   * Waits until every running node sees every slot-owning primary with `replicasPerPrimary` replicas,
   * and every replica reports a finished initial sync (master_link_status:up).
   * The role check comes first: right after `redis-cli --cluster create` a node's CLUSTER NODES can
   * still list a future replica as an empty primary (CLUSTER REPLICATE spreads by gossip), and a view
   * without replicas would otherwise pass the sync check trivially.
   */
  async waitForReplicasInSync(timeoutMs = 15_000): Promise<void> {
    await this.#waitFor("every replica to finish its sync", async () => {
      for (const server of this.#running()) {
        const view = await this.nodes(server.port).catch(() => undefined);
        if (view === undefined) return false;
        for (const primary of view) {
          if (primary.role !== "primary" || primary.slots.length === 0) continue;
          const replicas = view.filter((node) => node.primaryId === primary.id).length;
          if (replicas < this.replicasPerPrimary) return false;
        }
      }
      for (const node of await this.nodes()) {
        if (node.role !== "replica") continue;
        const info = await this.command(node.port, "INFO", "replication");
        if (!String(asText(info)).includes("master_link_status:up")) return false;
      }
      return true;
    }, timeoutMs);
  }

  /** Kills (SIGKILL) the node on `port`; it stays down until restarted. */
  async kill(port: number): Promise<void> {
    await this.server(port).kill();
    this.#killed.add(port);
  }

  /** SIGTERM every node we started, remove their directories. */
  async stop(): Promise<void> {
    await Promise.all(this.servers.map((server) => server.stop()));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  #killed = new Set<number>();

  #running(): RedisServer[] {
    return this.servers.filter((server) => !this.#killed.has(server.port));
  }

  #livePort(): number {
    const running = this.#running();
    if (running.length === 0) throw new Error("no cluster node is running");
    return running[0].port;
  }

  async #waitFor(description: string, condition: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (await condition()) return;
      if (Date.now() > deadline) throw new Error(`redis_cluster: timed out after ${timeoutMs} ms waiting for ${description}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

async function startNode(usedPorts: Set<number>, nodeTimeoutMs: number): Promise<RedisServer> {
  let lastError: unknown;
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = minimumPort + Math.floor(Math.random() * portSpan);
    if (usedPorts.has(port) || usedPorts.has(port + 10_000) || usedPorts.has(port - 10_000)) continue;
    // Both ports must be free before we spawn. A port already taken by someone else's node makes ours
    // exit, and RedisServer.start's probe then talks RESP to whatever listens there: another node's
    // cluster bus port (or any non-Redis listener) drops the connection without a reply, and that probe
    // used to wait forever — the intermittent 40 s hang of the cluster tests, before any test step.
    if (!(await portIsFree(port)) || !(await portIsFree(port + 10_000))) {
      lastError = new Error(`port ${port} or its bus port ${port + 10_000} is taken`);
      continue;
    }
    try {
      // RedisServer gives each node its own --dir; the config file is per port inside it.
      const starting = RedisServer.start({
        port,
        args: [
          "--cluster-enabled", "yes", "--cluster-config-file", `nodes-${port}.conf`,
          "--cluster-node-timeout", String(nodeTimeoutMs),
          // A test kills primaries on purpose; keep the rest serving the slots they own.
          "--cluster-require-full-coverage", "no",
        ],
      });
      // Still bounded if another process grabs the port between the check above and the spawn.
      const server = await withDeadline(starting, nodeStartTimeoutMs, `${serverBinary()} to start on port ${port}`)
        .catch((error) => {
          starting.then((late) => late.stop(), () => {}); // a start that finishes late must not leak
          throw error;
        });
      // Another process may own this port (then ours exits a moment later), or our node may exit
      // because the bus port (port + 10000) is taken: only a node that answers with our PID counts.
      const info = await withDeadline(server.command("INFO", "server"), commandTimeoutMs, `INFO on port ${port}`)
        .catch((error) => error);
      if (!String(asText(info)).includes(`process_id:${server.pid}\r\n`)) {
        await server.stop();
        lastError = new Error(`port ${port}: the answering server is not the one we started`);
        continue;
      }
      usedPorts.add(port);
      return server;
    } catch (error) {
      lastError = error;
    }
  }
  throw new Error(`could not start a cluster node: ${lastError}`);
}

/** True when nothing listens on 127.0.0.1:`port` right now (we could bind it, and did not keep it). */
function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once("error", () => resolve(false));
    probe.listen({ port, host: "127.0.0.1", exclusive: true }, () => probe.close(() => resolve(true)));
  });
}

/** `work`, or a rejection naming `what` once `timeoutMs` passed (the timer never outlives the race). */
function withDeadline<T>(work: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`redis_cluster: ${what}: no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  return Promise.race([work, expired]).finally(() => clearTimeout(timer));
}

function runClusterCli(args: string[]): Promise<void> {
  const cli = cliBinary();
  return new Promise((resolve, reject) => {
    const child = spawn(cli, args, { stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    // `--cluster create` waits for the nodes to agree with no limit of its own: stop it after
    // createTimeoutMs and fail with what it printed.
    const timer = setTimeout(() => {
      output += `\n(redis_cluster: stopped after ${createTimeoutMs} ms)`;
      child.kill("SIGKILL");
    }, createTimeoutMs);
    const collect = (chunk: Uint8Array) => (output += new TextDecoder().decode(chunk));
    child.stdout!.on("data", collect);
    child.stderr!.on("data", collect);
    child.once("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      if (code === 0 && !output.includes("[ERR]")) resolve();
      else reject(new Error(`${cli} ${args.join(" ")} failed (${code}):\n${output}`));
    });
  });
}

/** Pipelines CLUSTER KEYSLOT for every name on one connection; returns the slots in order. */
export async function clusterKeySlots(port: number, names: Uint8Array[]): Promise<number[]> {
  const connection = await withDeadline(RawConnection.connect(port), commandTimeoutMs, `connecting to port ${port}`);
  try {
    const replies = await withDeadline(
      connection.pipeline(names.map((name) => ["CLUSTER", "KEYSLOT", name])),
      3 * commandTimeoutMs, // thousands of commands in one batch
      `CLUSTER KEYSLOT x${names.length} on port ${port}`,
    );
    return replies.map((reply) => {
      if (typeof reply !== "number") throw new Error(`CLUSTER KEYSLOT answered ${String(reply)}`);
      return reply;
    });
  } finally {
    await connection.close();
  }
}
