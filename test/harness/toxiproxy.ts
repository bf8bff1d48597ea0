import { accessSync, constants, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Toxiproxy, type Proxy, type ToxicDirection, type ToxicType } from "toxiproxy-node-client";
import { GroupChild } from "./process-group.js";
import { freePort } from "./free-port.js";

/**
 * A real Toxiproxy server (built from its Go module by test/tools/toxiproxy/build.sh) on a free loopback port,
 * and typed links through it whose faults a test switches on and off: cut and heal, blackhole, latency with
 * jitter, reset_peer, slicer, bandwidth, and an emulation of packet loss. See docs/testing-faults.md.
 *
 * Proxies are managed through `toxiproxy-node-client` (zero dependencies, typed, speaks the REST API with fetch).
 */

const HOST = "127.0.0.1";
const READY_TIMEOUT_MS = 15_000;
const POLL_INTERVAL_MS = 25;
// freePort() is racy (another test worker may grab the port first), so a lost race gets a fresh port.
const MAX_PORT_ATTEMPTS = 5;

/** test/tools of the checkout; found from the source tree or from a compiled copy (dist/test/harness, the benchmark). */
const TOOLS_DIR = ((): string => {
  const here = dirname(fileURLToPath(import.meta.url));
  const compiled = /[/\\]dist[/\\]test[/\\]harness$/.test(here);
  return compiled ? join(here, "..", "..", "..", "test", "tools") : join(here, "..", "tools");
})();

/** The Toxiproxy version test/tools/toxiproxy/go.mod pins (without the leading "v"). */
export function pinnedToxiproxyVersion(): string {
  const goMod = readFileSync(join(TOOLS_DIR, "toxiproxy", "go.mod"), "utf8");
  const match = /^\s*(?:require\s+)?github\.com\/Shopify\/toxiproxy\/v2\s+v(\S+)/m.exec(goMod);
  if (!match?.[1])
    throw new Error("test/tools/toxiproxy/go.mod does not require github.com/Shopify/toxiproxy/v2");
  return match[1];
}

/** The cached toxiproxy-server binary; undefined until `bash test/tools/toxiproxy/build.sh` has run. */
export function toxiproxyServerBinary(): string | undefined {
  const root = process.env.BMN_TOOLS_CACHE ?? join(homedir(), ".cache", "bmn-tools");
  const binary = join(root, `toxiproxy-${pinnedToxiproxyVersion()}`, "toxiproxy-server");
  try {
    accessSync(binary, constants.X_OK);
    return binary;
  } catch {
    return undefined;
  }
}

/** Which way a toxic acts: upstream is client → server, downstream is server → client. */
export type Stream = ToxicDirection;

export interface ToxicOptions {
  /** Default "downstream" (Toxiproxy's default), except where a method says otherwise. */
  stream?: Stream;
  /**
   * Probability that the toxic applies to a connection, 0..1 (default 1). Toxiproxy rolls it once per
   * connection and direction (again whenever the link's toxics change), not per packet.
   */
  toxicity?: number;
  /** Name of the toxic; defaults to `<type>_<stream>`. Names are unique per link. */
  name?: string;
}

export interface PacketLossOptions {
  /** Share of connections that fail, e.g. 0.05 for "5 % loss". */
  lossRate: number;
  /** Base latency added in both directions, ms. */
  latencyMs: number;
  jitterMs?: number;
  /** How a "lost" connection fails: reset_peer (RST after resetAfterMs) or timeout (data dropped, then closed). */
  failure?: "reset_peer" | "timeout";
  /** For reset_peer: ms before the RST; for timeout: ms of silence before the close. Default 0 / 1000. */
  failAfterMs?: number;
}

/** One toxic on a link, which the test can remove again. */
export interface ToxicHandle {
  readonly name: string;
  readonly type: ToxicType;
  remove(): Promise<void>;
}

/** A Toxiproxy proxy: a loopback TCP listener that forwards to `upstream` and injects faults on demand. */
export class FaultyLink {
  readonly host = HOST;

  constructor(
    private proxy: Proxy,
    readonly port: number,
  ) {}

  get name(): string {
    return this.proxy.name;
  }

  /** host:port the link forwards to. */
  get upstream(): string {
    return this.proxy.upstream;
  }

  /** `host:port` to connect to instead of the upstream. */
  get address(): string {
    return `${HOST}:${this.port}`;
  }

  /** `http://host:port`, for HTTP peers behind the link. */
  get url(): string {
    return `http://${this.address}`;
  }

  get enabled(): boolean {
    return this.proxy.enabled;
  }

  /**
   * Cuts the link: Toxiproxy closes every open connection and stops listening, so new connections are refused
   * (ECONNREFUSED), like a peer whose host is down. For a cut where packets vanish instead, see blackhole().
   */
  async cut(): Promise<void> {
    await this.update(false, this.proxy.upstream);
  }

  /** Undoes cut() and blackhole(): listens again on the same port, with no blackhole toxics. */
  async heal(): Promise<void> {
    for (const name of await this.toxicNames()) {
      if (name.startsWith(BLACKHOLE_PREFIX)) await this.removeToxic(name);
    }
    if (!this.proxy.enabled) await this.update(true, this.proxy.upstream);
  }

  /**
   * A silent partition: connections are still accepted, but every byte in both directions is dropped and no
   * connection is closed until heal() (which then closes them), so the client only notices through its own
   * timeouts, as on a WAN link that went dark. With `closeAfterMs`, Toxiproxy closes each connection after that
   * much silence instead.
   */
  async blackhole(closeAfterMs = 0): Promise<void> {
    for (const stream of ["upstream", "downstream"] as const) {
      await this.addToxic(
        "timeout",
        { timeout: closeAfterMs },
        { stream, name: `${BLACKHOLE_PREFIX}${stream}` },
      );
    }
  }

  /** Delays every chunk by latencyMs ± jitterMs (one direction; default downstream). */
  latency(latencyMs: number, jitterMs = 0, options: ToxicOptions = {}): Promise<ToxicHandle> {
    return this.addToxic("latency", { latency: latencyMs, jitter: jitterMs }, options);
  }

  /** Adds latencyMs ± jitterMs to both directions, i.e. 2 × latencyMs to a round trip. */
  async latencyBothWays(latencyMs: number, jitterMs = 0): Promise<ToxicHandle[]> {
    return [
      await this.latency(latencyMs, jitterMs, { stream: "upstream" }),
      await this.latency(latencyMs, jitterMs, { stream: "downstream" }),
    ];
  }

  /**
   * Resets connections (TCP RST, unsent data discarded) when data arrives, after afterMs. Default stream is
   * upstream, so a request that reaches the proxy is reset before its server answers.
   */
  resetPeer(afterMs = 0, options: ToxicOptions = {}): Promise<ToxicHandle> {
    return this.addToxic("reset_peer", { timeout: afterMs }, { stream: "upstream", ...options });
  }

  /** Drops data and closes the connection after timeoutMs (0: hold it open until the toxic is removed). */
  timeout(timeoutMs: number, options: ToxicOptions = {}): Promise<ToxicHandle> {
    return this.addToxic("timeout", { timeout: timeoutMs }, options);
  }

  /** Slices data into chunks of averageSize ± sizeVariation bytes, delayMicros apart. */
  slicer(
    averageSize: number,
    sizeVariation = 0,
    delayMicros = 0,
    options: ToxicOptions = {},
  ): Promise<ToxicHandle> {
    return this.addToxic(
      "slicer",
      { average_size: averageSize, size_variation: sizeVariation, delay: delayMicros },
      options,
    );
  }

  /** Limits throughput to kilobytesPerSecond (KB/s, one direction). */
  bandwidth(kilobytesPerSecond: number, options: ToxicOptions = {}): Promise<ToxicHandle> {
    return this.addToxic("bandwidth", { rate: kilobytesPerSecond }, options);
  }

  /**
   * Toxiproxy has no per-packet loss (it is a TCP proxy: the kernel would retransmit a lost segment anyway). What
   * packet loss does to an application is stalls and broken connections, so this emulates "N % loss" as latency
   * in both directions plus a reset_peer (or timeout) toxic with toxicity lossRate in each direction: that share
   * of connections breaks. Toxiproxy re-rolls toxicity per connection, so a client that reconnects gets a fresh
   * 1 - lossRate chance. The kernel here has no netem (docs/testing-faults.md).
   */
  async packetLoss(options: PacketLossOptions): Promise<ToxicHandle[]> {
    const failure = options.failure ?? "reset_peer";
    const failAfterMs = options.failAfterMs ?? (failure === "reset_peer" ? 0 : 1_000);
    const handles = await this.latencyBothWays(options.latencyMs, options.jitterMs ?? 0);
    for (const stream of ["upstream", "downstream"] as const) {
      handles.push(
        await this.addToxic(
          failure,
          { timeout: failAfterMs },
          { stream, toxicity: options.lossRate, name: `loss_${failure}_${stream}` },
        ),
      );
    }
    return handles;
  }

  /** Any Toxiproxy toxic by type and attributes (see https://github.com/Shopify/toxiproxy#toxics). */
  async addToxic(
    type: ToxicType,
    attributes: Record<string, number>,
    options: ToxicOptions = {},
  ): Promise<ToxicHandle> {
    const stream = options.stream ?? "downstream";
    const toxic = await this.proxy.addToxic({
      name: options.name ?? `${type}_${stream}`,
      type,
      stream,
      toxicity: options.toxicity ?? 1,
      attributes,
    });
    return { name: toxic.name, type: toxic.type, remove: () => this.removeToxic(toxic.name) };
  }

  async removeToxic(name: string): Promise<void> {
    await this.proxy.api.delete(`${this.proxy.getPath()}/toxics/${encodeURIComponent(name)}`);
  }

  /** Removes every toxic (the link stays cut if it was). */
  async removeToxics(): Promise<void> {
    for (const name of await this.toxicNames()) await this.removeToxic(name);
  }

  /** Names of the toxics now on the link. */
  async toxicNames(): Promise<string[]> {
    const { data } = await this.proxy.api.get<{ name: string }[]>(`${this.proxy.getPath()}/toxics`);
    return data.map((toxic) => toxic.name);
  }

  /** Points the link at another upstream (host:port); open connections are closed. */
  async setUpstream(upstream: string): Promise<void> {
    await this.update(this.proxy.enabled, upstream);
  }

  /** No toxics, enabled. */
  async reset(): Promise<void> {
    await this.removeToxics();
    await this.heal();
  }

  async remove(): Promise<void> {
    await this.proxy.remove();
  }

  private async update(enabled: boolean, upstream: string): Promise<void> {
    // The listen address is the resolved one (port 0 was replaced by the real port), so it stays put.
    this.proxy = await this.proxy.update({ enabled, listen: this.address, upstream });
  }
}

const BLACKHOLE_PREFIX = "bmn_blackhole_";

/** A running toxiproxy-server. */
export class ToxiproxyServer {
  readonly host = HOST;
  readonly client: Toxiproxy;
  private nextId = 0;

  private constructor(
    readonly port: number,
    private readonly child: GroupChild,
  ) {
    this.client = new Toxiproxy(this.apiUrl);
  }

  /** Starts toxiproxy-server on a free loopback port; throws if build.sh has not built it. */
  static async start(): Promise<ToxiproxyServer> {
    const binary = toxiproxyServerBinary();
    if (binary === undefined) {
      throw new Error(
        "toxiproxy-server is not built: run `bash test/tools/toxiproxy/build.sh` (see .ci/run)",
      );
    }
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      try {
        return new ToxiproxyServer(port, await spawnToxiproxy(binary, port));
      } catch (error) {
        const portTaken = error instanceof Error && error.message.includes("address already in use");
        if (!portTaken || attempt >= MAX_PORT_ATTEMPTS) throw error;
      }
    }
  }

  /** http://127.0.0.1:port of the REST API. */
  get apiUrl(): string {
    return `http://${HOST}:${this.port}`;
  }

  /**
   * Creates a link listening on a free loopback port (Toxiproxy binds port 0 and reports the real port, so there
   * is no race for it) that forwards to `upstream` ("host:port").
   */
  async createLink(upstream: string, name = `link-${++this.nextId}`): Promise<FaultyLink> {
    const proxy = await this.client.createProxy({ name, listen: `${HOST}:0`, upstream, enabled: true });
    const port = Number(proxy.listen.slice(proxy.listen.lastIndexOf(":") + 1));
    if (!Number.isInteger(port) || port <= 0) throw new Error(`toxiproxy answered listen ${proxy.listen}`);
    return new FaultyLink(proxy, port);
  }

  /** SIGTERM, wait for exit (SIGKILL after 10 s); idempotent. */
  async stop(): Promise<void> {
    await this.child.stop();
  }
}

async function spawnToxiproxy(binary: string, port: number): Promise<GroupChild> {
  const child = GroupChild.spawn({
    label: "toxiproxy-server",
    command: binary,
    args: ["-host", HOST, "-port", String(port)],
    env: { ...process.env, LOG_LEVEL: process.env.BMN_TOXIPROXY_LOG_LEVEL ?? "warn" },
  });
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (!child.alive) {
      throw new Error(
        `toxiproxy-server exited (${child.describeExit()}) before it was ready:\n${child.output()}`,
      );
    }
    try {
      const response = await fetch(`http://${HOST}:${port}/version`);
      await response.text();
      // A server that lost the race for the port exits at once; make sure the answer came from ours.
      if (response.ok && child.isAlive()) return child;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) {
      await child.kill();
      throw new Error(`toxiproxy-server was not ready within ${READY_TIMEOUT_MS} ms:\n${child.output()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS));
  }
}
