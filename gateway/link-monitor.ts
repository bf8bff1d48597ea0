import type { FastifyBaseLogger } from "fastify";
import { CircuitOpenError } from "../runtime/resilience/circuit-breaker.js";
import type { GatewayMetrics } from "./gateway-metrics.js";
import type { PeerClient } from "./peer-client.js";
import type { RoutingTable } from "./routing-table.js";
import type { LinkState } from "./topology.js";

/** Consecutive failed probes after which a link counts as down (one lost probe is not a dead link). */
export const PROBE_FAILURES_DOWN = 2;

export interface LinkStatus {
  state: LinkState;
  lastProbeAt: number | undefined;
  lastRttMs: number | undefined;
  consecutiveFailures: number;
  lastError: string | undefined;
}

/**
 * Probes every peer's `GET /v1/gateway/routes` every `routeRefreshMs`: an answer marks the link up and feeds the
 * advertised routes into the routing table; failed probes (or an open breaker) mark it down, and the routes
 * learned through it vanish.
 */
export class LinkMonitor {
  readonly status = new Map<string, LinkStatus>();
  private timer: NodeJS.Timeout | undefined;
  private rounds = 0;
  private probing: Promise<void> | undefined;
  private readonly listeners = new Set<() => void>();
  /** Per peer: how many advertised routes the last probe ignored. */
  private readonly ignoredRoutes = new Map<string, number>();

  constructor(
    private readonly peers: ReadonlyMap<string, PeerClient>,
    private readonly routing: RoutingTable,
    private readonly metrics: GatewayMetrics,
    private readonly refreshMs: number,
    private readonly log: FastifyBaseLogger,
  ) {
    for (const peer of peers.keys())
      this.status.set(peer, {
        state: "unknown",
        lastProbeAt: undefined,
        lastRttMs: undefined,
        consecutiveFailures: 0,
        lastError: undefined,
      });
  }

  /** True once every peer has been probed at least once. */
  get ready(): boolean {
    return this.rounds > 0;
  }

  start(): void {
    const tick = (): void => {
      this.probing = this.probeAll().finally(() => {
        if (this.timer !== undefined) this.timer = setTimeout(tick, this.refreshMs);
      });
    };
    this.timer = setTimeout(tick, 0);
  }

  /** Calls `listener` after every probe round (tests and the topology wait on it). */
  onRound(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async stop(): Promise<void> {
    const timer = this.timer;
    this.timer = undefined;
    clearTimeout(timer);
    await this.probing;
  }

  async probeAll(): Promise<void> {
    await Promise.all([...this.peers.values()].map((peer) => this.probe(peer)));
    this.rounds++;
    for (const listener of [...this.listeners]) listener();
  }

  private async probe(peer: PeerClient): Promise<void> {
    const status = this.status.get(peer.domain);
    if (status === undefined) return;
    status.lastProbeAt = Date.now();
    try {
      const response = await peer.fetchRoutes();
      status.lastRttMs = response.rttMs;
      status.consecutiveFailures = 0;
      status.lastError = undefined;
      this.metrics.linkRtt.observe({ peer: peer.domain }, response.rttMs / 1_000);
      if (response.body?.domain !== peer.domain) {
        throw new Error(
          `the gateway at ${response.endpoint} serves domain ${response.body?.domain ?? "?"}, not ${peer.domain}`,
        );
      }
      if (status.state !== "up") this.log.info({ peer: peer.domain }, "link up");
      status.state = "up";
      const outcome = this.routing.linkUp(peer.domain, response.body.routes);
      // Logged when the number changes, not on every probe.
      if (outcome.ignored.length !== (this.ignoredRoutes.get(peer.domain) ?? 0) && outcome.ignored.length > 0)
        this.log.warn(
          { peer: peer.domain, ignored: outcome.ignored.length, examples: outcome.ignored.slice(0, 5) },
          "ignored routes the peer advertised",
        );
      this.ignoredRoutes.set(peer.domain, outcome.ignored.length);
    } catch (error) {
      status.consecutiveFailures++;
      status.lastError = error instanceof Error ? error.message : String(error);
      if (
        status.consecutiveFailures >= PROBE_FAILURES_DOWN ||
        error instanceof CircuitOpenError ||
        status.state === "unknown"
      ) {
        if (status.state === "up") this.log.warn({ peer: peer.domain, error: status.lastError }, "link down");
        status.state = "down";
        this.routing.linkDown(peer.domain);
      }
    }
  }
}
