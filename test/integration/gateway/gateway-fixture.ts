import { until } from "../../harness/poll-until.js";
import type { GatewayConfigInput } from "../../../core/config.js";
import type { Message } from "../../../core/envelope.js";
import { loadConfig } from "../../../runtime/config/load-config.js";
import {
  startGateway,
  type RunningGateway,
  type StartGatewayOptions,
} from "../../../gateway/start-gateway.js";
import { startSidecar, type RunningSidecar } from "../../../sidecar/start-sidecar.js";
import { InMemoryStore } from "../../../store/memory/memory-store.js";
import { RedisStore } from "../../../store/redis/redis-store.js";
import type { MessageStore } from "../../../store/store.js";
import { honestTrust } from "../../../e2e/harness/link-trust.js";
import { freePort } from "../../harness/free-port.js";
import type { RedisServerHandle } from "../../harness/redis-server.js";

export type Backend = "memory" | "redis";

/** One domain of a test topology: its store, a sidecar with cross-domain routing, and (usually) a gateway. */
export interface DomainNode {
  readonly domain: string;
  readonly store: MessageStore;
  readonly sidecar: RunningSidecar;
  readonly gatewayPort: number;
  readonly gatewayUrl: string;
  gateway: RunningGateway | undefined;
  /** Starts (or restarts) the gateway with the topology's config plus `overrides`. */
  startGateway(
    overrides?: Partial<GatewayConfigInput>,
    options?: StartGatewayOptions,
  ): Promise<RunningGateway>;
  stopGateway(): Promise<void>;
}

export interface TopologyOptions {
  backend?: Backend;
  /** With backend redis: the Redis server of each domain (domains may share one; key prefixes keep them apart). */
  redis?: Record<string, RedisServerHandle>;
  /** Gateway config shared by every domain (peers are filled in from `links`). */
  gateway?: Partial<GatewayConfigInput>;
  /** Per-domain gateway overrides. */
  perDomain?: Record<string, Partial<GatewayConfigInput>>;
  /** Domains whose gateway is not started at once. */
  deferred?: string[];
  /** Peers' endpoints as https URLs (set `gateway.tls` too). */
  scheme?: "http" | "https";
  /** How every gateway connects to its peers over https. */
  peerTls?: { caFile?: string; certFile?: string; keyFile?: string };
}

export interface Topology {
  nodes: Record<string, DomainNode>;
  node(domain: string): DomainNode;
  close(): Promise<void>;
}

export const tokenFor = (a: string, b: string): string => `token-${[a, b].sort().join("-")}-secret`;

let prefixes = 0;

function redisFor(servers: Record<string, RedisServerHandle> | undefined, domain: string): RedisServerHandle {
  const server = servers?.[domain];
  if (server === undefined) throw new Error(`no Redis server given for domain ${domain}`);
  return server;
}

/**
 * Starts one process-local domain per name, each with its own store, a sidecar and a gateway on a free port,
 * linked as `links` says (both directions, one token per link). Fast settings: short route refresh and backoff.
 */
export async function startTopology(
  domains: string[],
  links: [string, string][],
  options: TopologyOptions = {},
): Promise<Topology> {
  const ports = new Map<string, number>();
  for (const domain of domains) ports.set(domain, await freePort());
  const scheme = options.scheme ?? "http";
  const urlOf = (domain: string): string => `${scheme}://127.0.0.1:${ports.get(domain) ?? 0}`;
  const nodes: Record<string, DomainNode> = {};
  for (const domain of domains) {
    const store: MessageStore =
      options.backend === "redis"
        ? await RedisStore.connect(
            { url: redisFor(options.redis, domain).url },
            { keyPrefix: `gw${++prefixes}-${domain}:`, domain },
          )
        : new InMemoryStore({ domain });
    const sidecarConfig = loadConfig(
      { port: 0, domain, logLevel: "silent", routing: { crossDomain: true } },
      {},
    );
    const sidecar = await startSidecar(sidecarConfig, { store, logger: false });
    const peers = links
      .filter(([a, b]) => a === domain || b === domain)
      .map(([a, b]) => (a === domain ? b : a))
      .map((peer) => ({
        domain: peer,
        endpoints: [urlOf(peer)],
        token: tokenFor(domain, peer),
        ...honestTrust(domain, peer, links),
        ...(options.peerTls === undefined ? {} : { tls: options.peerTls }),
      }));
    const node: DomainNode = {
      domain,
      store,
      sidecar,
      gatewayPort: ports.get(domain) ?? 0,
      gatewayUrl: urlOf(domain),
      gateway: undefined,
      async startGateway(overrides = {}, startOptions = {}) {
        await node.stopGateway();
        const config = loadConfig(
          {
            domain,
            logLevel: "silent",
            gateway: {
              port: node.gatewayPort,
              id: `gw-${domain}`,
              peers,
              routeRefreshMs: 100,
              requestTimeoutMs: 2_000,
              retry: { backoffBaseMs: 20, backoffMaxMs: 200 },
              breaker: { failureThreshold: 3, openMs: 500 },
              batching: { maxDelayMs: 5 },
              ...options.gateway,
              ...options.perDomain?.[domain],
              ...overrides,
            },
          },
          {},
        );
        node.gateway = await startGateway(config, { store, logger: false, ...startOptions });
        return node.gateway;
      },
      async stopGateway() {
        const running = node.gateway;
        node.gateway = undefined;
        await running?.close();
      },
    };
    nodes[domain] = node;
  }
  for (const domain of domains) {
    if (!(options.deferred ?? []).includes(domain)) await nodes[domain]?.startGateway();
  }
  return {
    nodes,
    node(domain) {
      const node = nodes[domain];
      if (node === undefined) throw new Error(`no domain ${domain} in this topology`);
      return node;
    },
    async close() {
      for (const node of Object.values(nodes)) await node.stopGateway().catch(() => undefined);
      for (const node of Object.values(nodes)) await node.sidecar.close().catch(() => undefined);
    },
  };
}

/** Sends one message through a sidecar's HTTP API; answers the sidecar's reply body. */
export async function send(
  sidecar: RunningSidecar,
  message: Record<string, unknown>,
): Promise<{ status: number; body: { id?: string; errorCode?: string } }> {
  const response = await fetch(`${sidecar.url}/v1/messages`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(message),
  });
  return { status: response.status, body: (await response.json()) as { id?: string } };
}

/** Every message agent `agent` gets within `waitMs` (acked as received), through the sidecar's HTTP API. */
export async function receiveAll(
  sidecar: RunningSidecar,
  agent: string,
  expected: number,
  waitMs = 10_000,
): Promise<Message[]> {
  const received: Message[] = [];
  const deadline = Date.now() + waitMs;
  while (received.length < expected && Date.now() < deadline) {
    const wait = Math.max(0, Math.min(2, Math.ceil((deadline - Date.now()) / 1_000)));
    const response = await fetch(`${sidecar.url}/v1/agents/${agent}/messages?max=100&wait=${wait}`);
    const body = (await response.json()) as { deliveries: { leaseId: string; message: Message }[] };
    for (const delivery of body.deliveries) {
      received.push(delivery.message);
      await fetch(`${sidecar.url}/v1/deliveries/${encodeURIComponent(delivery.leaseId)}/ack`, {
        method: "POST",
      });
    }
  }
  return received;
}

/** Polls `check` every 20 ms until it returns a value other than undefined, or fails after `timeoutMs`. */
export function eventually<T>(
  check: () => Promise<T | undefined> | T | undefined,
  what: string,
  timeoutMs = 10_000,
): Promise<T> {
  return until(check, timeoutMs, what, undefined, 20);
}

/** A counter's value from a gateway's registry: the sum over the series whose labels include `labels`. */
export async function counter(
  gateway: RunningGateway,
  name: string,
  labels: Record<string, string>,
): Promise<number> {
  const metric = gateway.metrics.registry.getSingleMetric(name);
  if (metric === undefined) throw new Error(`no metric ${name}`);
  const { values } = await metric.get();
  return values
    .filter((value) => Object.entries(labels).every(([key, wanted]) => value.labels[key] === wanted))
    .reduce((sum, value) => sum + value.value, 0);
}
