import { hostname } from "node:os";
import type { FastifyInstance } from "fastify";
import { gatewayConfigSchema, type GatewayConfig, type SidecarConfig } from "../core/config.js";
import { DEFAULT_MAX_MESSAGE_BYTES } from "../core/envelope.js";
import { outboxDomain, outboxQueueName, type DomainName } from "../core/names.js";
import type { TracingOptions } from "../runtime/observability/tracer-provider.js";
import { ResilientStore } from "../store/resilient-store.js";
import { createStore } from "../store/create-store.js";
import type { MessageStore } from "../store/store.js";
import { BoundaryPolicy } from "./boundary-policy.js";
import { buildGatewayServer } from "./build-gateway-server.js";
import { DestinationForwarder } from "./forwarder.js";
import type { GatewayContext } from "./gateway-context.js";
import { GatewayMetrics, type OutboxBacklog } from "./gateway-metrics.js";
import { GatewayTracing } from "./gateway-tracing.js";
import { LinkMonitor } from "./link-monitor.js";
import { PeerClient } from "./peer-client.js";
import { resolvePeerTokens } from "./peer-token.js";
import { peerTrust } from "./peer-trust.js";
import { RoutingTable } from "./routing-table.js";
import { TokenBucket } from "./token-bucket.js";
import { linkStateValue, type Topology, type TopologyOutbox } from "./topology.js";

export interface RunningGateway {
  url: string;
  domain: DomainName;
  /** This replica's id (`gateway.id`, else host name and pid). */
  id: string;
  config: GatewayConfig;
  server: FastifyInstance;
  store: MessageStore;
  routing: RoutingTable;
  links: LinkMonitor;
  metrics: GatewayMetrics;
  tracing: GatewayTracing;
  topology(): Promise<Topology>;
  /** Stops receiving, finishes the batches in flight, releases leases, closes the server and the store. */
  close(): Promise<void>;
}

export interface StartGatewayOptions {
  /** Use this store instead of opening the one the config names (tests); the gateway does not close it. */
  store?: MessageStore;
  logger?: boolean;
  tracing?: TracingOptions;
  /** Deterministic jitter for tests. */
  random?: () => number;
  /** The clock of the per-link bandwidth limit and how sends wait for it (tests: virtual time); real time by default. */
  bandwidthClock?: { now(): number; sleep(ms: number): Promise<void> };
}

/** How often (at most) the gateway looks for outboxes of new destinations; `routeRefreshMs` when shorter. */
const DISCOVERY_MS = 1_000;

/** Runs a gateway for `config.domain`: what `bmn gateway` runs. */
export async function startGateway(
  sidecar: SidecarConfig,
  options: StartGatewayOptions = {},
): Promise<RunningGateway> {
  // Peer tokens from files (mounted Secrets) are read here, once: rotating one means restarting the gateway.
  const config = resolvePeerTokens(gatewayConfigSchema.parse(sidecar.gateway ?? {}));
  const domain = sidecar.domain;
  const id = config.id ?? `${hostname()}-${process.pid}`;
  const actor = `gateway:${domain}/${id}`;
  const ownsStore = options.store === undefined;
  const inner = options.store ?? (await createStore(sidecar, actor));
  const store: MessageStore = ownsStore ? new ResilientStore(inner) : inner;
  const tracing = await GatewayTracing.create(sidecar, options.tracing);

  const peerConfigs = new Map(config.peers.map((peer) => [peer.domain as string, peer]));
  const peers = new Map(
    config.peers.map((peer) => [
      peer.domain as string,
      new PeerClient(peer, {
        ownDomain: domain,
        timeoutMs: config.requestTimeoutMs,
        breaker: config.breaker,
      }),
    ]),
  );
  const bandwidth = new Map<string, TokenBucket>();
  for (const peer of config.peers) {
    const rate = peer.bandwidthBytesPerSecond;
    // One second's worth of burst, and at least one full batch so a batch never waits for more than it needs.
    if (rate !== undefined)
      bandwidth.set(
        peer.domain,
        new TokenBucket(rate, Math.max(rate, config.batching.maxBytes), bandwidthNow(options.bandwidthClock)),
      );
  }
  const rateLimits = new Map<string, TokenBucket>();
  const limit = config.policy.rateLimitPerPeer;
  if (limit !== undefined)
    for (const peer of config.peers)
      rateLimits.set(peer.domain, new TokenBucket(limit.messagesPerSecond, limit.burst));

  const trust = new Map(config.peers.map((peer) => [peer.domain as string, peerTrust(peer)]));
  const routing = new RoutingTable(
    domain,
    config.maxHops,
    [...trust].map(([peerDomain, { routes }]) => ({ domain: peerDomain, routes })),
    config.maxRoutesPerPeer,
  );
  const forwarders = new Map<string, DestinationForwarder>();
  const backlog = async (): Promise<OutboxBacklog[]> => {
    const now = Date.now();
    return Promise.all(
      [...forwarders.values()].map(async (forwarder) => {
        const stats = await store.queueStats(forwarder.queue).catch(() => undefined);
        return {
          destination: forwarder.destination,
          depth: stats?.depth ?? 0,
          inFlight: stats?.inFlight ?? forwarder.inFlight,
          oldestAgeMs: forwarder.oldestAgeMs(now),
        };
      }),
    );
  };
  const monitorRef: { links?: LinkMonitor } = {};
  const metrics = new GatewayMetrics({
    backlog,
    linkStates: () =>
      [...(monitorRef.links?.status ?? new Map<string, { state: "unknown" }>())].map(([peer, status]) => ({
        peer,
        state: linkStateValue(status.state),
      })),
    defaultMetrics: true,
  });

  const topology = async (): Promise<Topology> => {
    const outboxes: TopologyOutbox[] = (await backlog())
      .map((entry) => ({ ...entry, nextHop: routing.nextHop(entry.destination) }))
      .sort((a, b) => a.destination.localeCompare(b.destination));
    const routes = routing.routes();
    return {
      domain,
      gateway: id,
      domains: [domain, ...routes.map((route) => route.domain)],
      links: [...peers.values()].map((peer) => {
        const status = monitorRef.links?.status.get(peer.domain);
        const mine = outboxes.filter((outbox) => outbox.nextHop === peer.domain);
        return {
          peer: peer.domain,
          endpoints: peerConfigs.get(peer.domain)?.endpoints ?? [],
          endpoint: peer.endpoint,
          state: status?.state ?? "unknown",
          breaker: peer.breakerState,
          lastProbeAt: status?.lastProbeAt,
          lastRttMs: status?.lastRttMs,
          consecutiveProbeFailures: status?.consecutiveFailures ?? 0,
          lastError: status?.lastError,
          backlog: {
            depth: mine.reduce((sum, outbox) => sum + outbox.depth, 0),
            inFlight: mine.reduce((sum, outbox) => sum + outbox.inFlight, 0),
            oldestAgeMs: mine.reduce((max, outbox) => Math.max(max, outbox.oldestAgeMs), 0),
          },
        };
      }),
      routes,
      outboxes,
    };
  };

  const maxMessageBytes = sidecar.limits.maxMessageBytes;
  const context: GatewayContext = {
    domain,
    actor,
    sidecar,
    config,
    store,
    policy: new BoundaryPolicy(config.policy),
    peers: peerConfigs,
    trust,
    rateLimits,
    routing,
    metrics,
    tracing,
    topology,
    // A batch holds up to maxBytes, or one message up to the message limit, whichever a peer configured: leave room.
    maxBatchBytes: Math.max(
      8 * DEFAULT_MAX_MESSAGE_BYTES,
      2 * Math.max(config.batching.maxBytes, maxMessageBytes),
    ),
  };
  const server = buildGatewayServer(context, options.logger === false ? { logger: false } : {});
  const log = server.log;
  const monitor = new LinkMonitor(peers, routing, metrics, config.routeRefreshMs, log);
  monitorRef.links = monitor;

  const ensureForwarder = (destination: DomainName): void => {
    if (destination === domain || forwarders.has(destination)) return;
    const forwarder = new DestinationForwarder(destination, {
      ownDomain: domain,
      actor,
      store,
      config,
      routing,
      peers,
      bandwidth,
      metrics,
      tracing,
      log,
      routesReady: () => monitor.ready,
      ...(options.random === undefined ? {} : { random: options.random }),
      ...bandwidthSleepOption(options.bandwidthClock),
    });
    forwarders.set(destination, forwarder);
    forwarder.start();
  };
  /** A destination that is a peer or has a route keeps its forwarder; any other one only while messages wait. */
  const isRouted = (destination: string): boolean =>
    routing.isPeer(destination) || routing.route(destination) !== undefined;
  const hasWaiting = async (destination: DomainName): Promise<boolean> => {
    const stats = await store.queueStats(outboxQueueName(destination)).catch(() => undefined);
    // A store that cannot answer: assume messages wait (keep or start the forwarder, it retries the store).
    return stats === undefined || stats.depth > 0;
  };
  const discover = async (): Promise<void> => {
    for (const peer of peers.keys()) ensureForwarder(peer as DomainName);
    for (const route of routing.routes()) ensureForwarder(route.domain as DomainName);
    for (const queue of await store.listQueues().catch(() => [])) {
      const destination = outboxDomain(queue);
      if (destination === undefined || forwarders.has(destination) || destination === domain) continue;
      if (isRouted(destination) || (await hasWaiting(destination))) ensureForwarder(destination);
    }
  };
  /**
   * Stops the forwarders of destinations that lost their route (a peer stopped advertising them, or its link died)
   * once they hold nothing and their outbox is empty: per-destination state (a loop, a long-poll, a store
   * subscription) lives only as long as the route or the messages waiting for it. A message for such a destination
   * starts its forwarder again (discovery), which holds it until the route comes back.
   */
  const prune = async (): Promise<void> => {
    for (const [destination, forwarder] of [...forwarders]) {
      if (isRouted(destination) || forwarder.inFlight > 0) continue;
      if (await hasWaiting(destination as DomainName)) continue;
      if (isRouted(destination) || forwarders.get(destination) !== forwarder) continue;
      forwarders.delete(destination);
      await forwarder.drain();
    }
  };
  let pruning: Promise<void> | undefined;
  let closed = false;

  try {
    await server.listen({ host: config.host, port: config.port });
  } catch (error) {
    for (const peer of peers.values()) peer.close();
    if (ownsStore) await store.close();
    await tracing.shutdown().catch(() => undefined);
    throw error;
  }
  monitor.start();
  await discover();
  let discovering: Promise<void> | undefined;
  const discovery = setInterval(
    () => {
      discovering ??= discover().finally(() => {
        discovering = undefined;
      });
    },
    Math.min(DISCOVERY_MS, config.routeRefreshMs),
  );
  monitor.onRound(() => {
    for (const route of routing.routes()) ensureForwarder(route.domain as DomainName);
    if (closed) return;
    pruning ??= prune()
      .catch((error: unknown) => {
        log.warn({ err: error }, "cannot stop the forwarders of vanished routes");
      })
      .finally(() => {
        pruning = undefined;
      });
  });

  const address = server.server.address();
  const port = typeof address === "object" && address !== null ? address.port : config.port;
  const host = config.host.includes(":") ? `[${config.host}]` : config.host;
  let closing: Promise<void> | undefined;
  return {
    url: `${config.tls === undefined ? "http" : "https"}://${host}:${port}`,
    domain,
    id,
    config,
    server,
    store,
    routing,
    links: monitor,
    metrics,
    tracing,
    topology,
    close: () => {
      closing ??= (async () => {
        closed = true;
        clearInterval(discovery);
        await discovering;
        await pruning;
        // Stop taking new batches from peers first, then finish and release our own.
        const serverClosed = server.close();
        await Promise.all([...forwarders.values()].map((forwarder) => forwarder.drain()));
        await monitor.stop();
        await serverClosed;
        for (const peer of peers.values()) peer.close();
        if (ownsStore) await store.close();
        await tracing.shutdown().catch(() => undefined);
      })();
      return closing;
    },
  };
}

function bandwidthNow(clock: StartGatewayOptions["bandwidthClock"]): () => number {
  return clock === undefined ? Date.now : () => clock.now();
}

function bandwidthSleepOption(clock: StartGatewayOptions["bandwidthClock"]): {
  bandwidthSleep?: (ms: number) => Promise<void>;
} {
  return clock === undefined ? {} : { bandwidthSleep: (ms) => clock.sleep(ms) };
}
