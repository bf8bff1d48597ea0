import type { GatewayConfig, GatewayPeerConfig, SidecarConfig } from "../core/config.js";
import type { DomainName } from "../core/names.js";
import type { MessageStore } from "../store/store.js";
import type { BoundaryPolicy } from "./boundary-policy.js";
import type { GatewayMetrics } from "./gateway-metrics.js";
import type { GatewayTracing } from "./gateway-tracing.js";
import type { PeerTrust } from "./peer-trust.js";
import type { RoutingTable } from "./routing-table.js";
import type { TokenBucket } from "./token-bucket.js";
import type { Topology } from "./topology.js";

/** What the gateway's routes are handed. */
export interface GatewayContext {
  domain: DomainName;
  /** `gateway:<domain>/<id>`: the actor of this gateway's trace events. */
  actor: string;
  sidecar: SidecarConfig;
  config: GatewayConfig;
  store: MessageStore;
  policy: BoundaryPolicy;
  peers: ReadonlyMap<string, GatewayPeerConfig>;
  /** Per peer domain: which origins it may inject and which domains it may advertise. */
  trust: ReadonlyMap<string, PeerTrust>;
  /** Inbound rate limit per peer domain (messages), when the policy sets one. */
  rateLimits: ReadonlyMap<string, TokenBucket>;
  routing: RoutingTable;
  metrics: GatewayMetrics;
  tracing: GatewayTracing;
  topology: () => Promise<Topology>;
  /** Largest batch body accepted, compressed or not. */
  maxBatchBytes: number;
}
