// A real Sentinel set-up for TESTS ONLY: one primary, its replicas and three sentinels
// (`serverBinary() <generated config> --sentinel`), each a RedisServer on a random loopback port, torn
// down by the PIDs we started. Failover is fast on purpose (down-after 1 s, failover-timeout 3 s), so
// a SIGKILLed primary is replaced within seconds.
// Rule: start() returns only once the group can fail over: every replica in sync, and every sentinel
// knows every replica and every other sentinel (otherwise a kill ends in -failover-abort-no-good-slave
// or a vote without a majority). Nothing here waits without a bound.
// With `tls`, every process also listens on a TLS port and the data nodes are reached over TLS only
// (sentinels monitor the primary's TLS port and talk TLS to it and to each other); the plain ports
// stay open for this helper's own probes.
import { RawConnection, RawError, type RawValue, asText } from "./raw_resp.ts";
import { freePort } from "./certificates.ts";
import { RedisServer } from "./redis_server.ts";

export interface TlsFiles {
  caFile: string;
  certFile: string;
  keyFile: string;
}

export interface SentinelGroupOptions {
  /** Default "pushwire". */
  masterName?: string;
  /** Default 1. */
  replicas?: number;
  /** Default 3 (quorum 2). */
  sentinels?: number;
  /** requirepass of the data nodes (replicas use it as masterauth, sentinels as auth-pass). */
  dataPassword?: string;
  /** requirepass of the sentinels (they use it with each other too). */
  sentinelPassword?: string;
  /** An ACL user on every sentinel (all commands and channels). */
  sentinelUser?: { name: string; password: string };
  tls?: TlsFiles;
}

const readyTimeoutMs = 20_000;
const commandTimeoutMs = 10_000;

export class SentinelGroup {
  readonly masterName: string;
  readonly #options: SentinelGroupOptions;
  readonly #tlsPorts = new Map<RedisServer, number>();
  #killed = new Set<RedisServer>();

  private constructor(
    readonly primary: RedisServer,
    readonly replicas: RedisServer[],
    readonly sentinels: RedisServer[],
    options: SentinelGroupOptions,
  ) {
    this.masterName = options.masterName ?? "pushwire";
    this.#options = options;
  }

  /** Every data node, the first primary first. */
  get dataNodes(): RedisServer[] {
    return [this.primary, ...this.replicas];
  }

  /** redis:// URLs of the sentinels (their plain ports). */
  get sentinelUrls(): string[] {
    return this.sentinels.map((sentinel) => `redis://127.0.0.1:${sentinel.port}`);
  }

  /** rediss:// URLs of the sentinels' TLS ports (with `tls`). */
  get sentinelTlsUrls(): string[] {
    return this.sentinels.map((sentinel) => `rediss://127.0.0.1:${this.#tlsPort(sentinel)}`);
  }

  static async start(options: SentinelGroupOptions = {}): Promise<SentinelGroup> {
    const started: RedisServer[] = [];
    const tlsPorts = new Map<RedisServer, number>();
    const startOne = async (args: string[], config?: string): Promise<RedisServer> => {
      const tlsPort = options.tls === undefined ? undefined : await freePort();
      const tlsArgs = tlsPort === undefined ? [] : tlsArguments(options.tls!, tlsPort);
      const server = await RedisServer.start({ args: [...args, ...tlsArgs], config });
      started.push(server);
      if (tlsPort !== undefined) tlsPorts.set(server, tlsPort);
      return server;
    };
    try {
      // No diskless-sync delay (5 s by default: the primary waits for more replicas before a transfer).
      const dataArgs = ["--repl-diskless-sync-delay", "0"];
      if (options.dataPassword !== undefined) dataArgs.push("--requirepass", options.dataPassword);
      const masterAuth = options.dataPassword === undefined ? [] : ["--masterauth", options.dataPassword];
      const primary = await startOne(dataArgs);
      const primaryPort = tlsPorts.get(primary) ?? primary.port;
      const replicas: RedisServer[] = [];
      for (let index = 0; index < (options.replicas ?? 1); index++) {
        replicas.push(await startOne([...dataArgs, ...masterAuth, "--replicaof", "127.0.0.1", String(primaryPort)]));
      }
      const group = new SentinelGroup(primary, replicas, [], options);
      for (const [server, port] of tlsPorts) group.#tlsPorts.set(server, port);
      // Replicas in sync BEFORE the sentinels start: a sentinel learns the replicas from the primary's
      // INFO, read when it connects and then only every 10 s.
      await group.#waitFor("every replica to finish its sync", async () => {
        for (const replica of replicas) {
          const info = await group.command(replica, "INFO", "replication");
          if (!String(asText(info)).includes("master_link_status:up")) return false;
        }
        return true;
      });
      for (let index = 0; index < (options.sentinels ?? 3); index++) {
        const sentinel = await startOne(
          options.sentinelPassword === undefined ? ["--sentinel"] : ["--sentinel", "--requirepass", options.sentinelPassword],
          sentinelConfig(group.masterName, primaryPort, options),
        );
        group.sentinels.push(sentinel);
        group.#tlsPorts.set(sentinel, tlsPorts.get(sentinel)!);
      }
      await group.waitUntilReady();
      return group;
    } catch (error) {
      await Promise.all(started.map((server) => server.stop()));
      throw error;
    }
  }

  /** Every live sentinel knows every live replica (link ok) and every other live sentinel. */
  async waitUntilReady(): Promise<void> {
    await this.#waitFor("the sentinels to know every replica and each other", async () => {
      const sentinels = this.#running(this.sentinels);
      for (const sentinel of sentinels) {
        const replicas = await this.command(sentinel, "SENTINEL", "REPLICAS", this.masterName);
        const healthy = (replicas as RawValue[]).filter((fields) => {
          const text = String(asText(fields));
          return !text.includes("s_down") && !text.includes("disconnected");
        });
        if (healthy.length < this.#running(this.replicas).length) return false;
        const others = await this.command(sentinel, "SENTINEL", "SENTINELS", this.masterName);
        if ((others as RawValue[]).length < sentinels.length - 1) return false;
      }
      return true;
    });
  }

  /** The port clients are sent to for `server` (its TLS port with `tls`). */
  dataPort(server: RedisServer): number {
    return this.#tlsPorts.get(server) ?? server.port;
  }

  /** The data node that sentinels report as `port`. */
  dataNodeAt(port: number): RedisServer {
    const node = this.dataNodes.find((server) => this.dataPort(server) === port);
    if (node === undefined) throw new Error(`sentinel_group: no data node on port ${port}`);
    return node;
  }

  /** The primary as a live sentinel reports it. */
  async currentPrimary(): Promise<RedisServer> {
    const sentinel = this.#running(this.sentinels)[0];
    const reply = await this.command(sentinel, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", this.masterName);
    return this.dataNodeAt(Number(asText((reply as RawValue[])[1])));
  }

  /**
   * Runs a command on `server`'s plain port (fresh connection, authenticated as the group's data
   * nodes or sentinels are); a server error reply is thrown.
   */
  async command(server: RedisServer, ...args: (string | number)[]): Promise<RawValue> {
    const password = this.sentinels.includes(server) ? this.#options.sentinelPassword : this.#options.dataPassword;
    const connection = await withDeadline(RawConnection.connect(server.port), `connecting to ${server.port}`);
    try {
      if (password !== undefined) await withDeadline(connection.command("AUTH", password), `AUTH on ${server.port}`);
      const reply = await withDeadline(connection.command(...args), `${args.join(" ")} on ${server.port}`);
      if (reply instanceof RawError) throw reply;
      return reply;
    } finally {
      await connection.close();
    }
  }

  /**
   * A raw subscriber on a live sentinel's +switch-master channel: `switched` resolves with the
   * Date.now() at which the first switch of our master arrived, and its new port.
   */
  async watchSwitch(): Promise<{ switched: Promise<{ at: number; port: number }>; close(): Promise<void> }> {
    const sentinel = this.#running(this.sentinels)[0];
    const connection = await RawConnection.connect(sentinel.port);
    if (this.#options.sentinelPassword !== undefined) await connection.command("AUTH", this.#options.sentinelPassword);
    await connection.command("SUBSCRIBE", "+switch-master");
    const switched = (async () => {
      for (;;) {
        const message = asText(await connection.next()) as string[];
        const fields = String(message[2]).split(" ");
        if (message[0] === "message" && fields[0] === this.masterName) return { at: Date.now(), port: Number(fields[4]) };
      }
    })();
    switched.catch(() => {});
    return { switched, close: () => connection.close() };
  }

  /** SIGKILL one of our processes; it stays down. */
  async kill(server: RedisServer): Promise<void> {
    await server.kill();
    this.#killed.add(server);
  }

  async stop(): Promise<void> {
    await Promise.all([...this.sentinels, ...this.dataNodes].map((server) => server.stop()));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  #tlsPort(server: RedisServer): number {
    const port = this.#tlsPorts.get(server);
    if (port === undefined) throw new Error("sentinel_group: started without tls");
    return port;
  }

  #running(servers: RedisServer[]): RedisServer[] {
    return servers.filter((server) => !this.#killed.has(server));
  }

  async #waitFor(description: string, condition: () => Promise<boolean>): Promise<void> {
    const deadline = Date.now() + readyTimeoutMs;
    for (;;) {
      if (await condition().catch(() => false)) return;
      if (Date.now() > deadline) throw new Error(`sentinel_group: timed out after ${readyTimeoutMs} ms waiting for ${description}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

function sentinelConfig(masterName: string, primaryPort: number, options: SentinelGroupOptions): string {
  const lines = [
    `sentinel monitor ${masterName} 127.0.0.1 ${primaryPort} 2`,
    `sentinel down-after-milliseconds ${masterName} 1000`,
    `sentinel failover-timeout ${masterName} 3000`,
  ];
  if (options.dataPassword !== undefined) lines.push(`sentinel auth-pass ${masterName} ${options.dataPassword}`);
  if (options.sentinelPassword !== undefined) lines.push(`sentinel sentinel-pass ${options.sentinelPassword}`);
  if (options.sentinelUser !== undefined) {
    lines.push(`user ${options.sentinelUser.name} on >${options.sentinelUser.password} allcommands allchannels`);
  }
  return `${lines.join("\n")}\n`;
}

function tlsArguments(files: TlsFiles, port: number): string[] {
  return [
    "--tls-port", String(port), "--tls-cert-file", files.certFile, "--tls-key-file", files.keyFile,
    "--tls-ca-cert-file", files.caFile, "--tls-auth-clients", "no", "--tls-replication", "yes",
  ];
}

function withDeadline<T>(work: Promise<T>, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`sentinel_group: ${what}: no answer within ${commandTimeoutMs} ms`)), commandTimeoutMs);
  });
  return Promise.race([work, expired]).finally(() => clearTimeout(timer));
}
