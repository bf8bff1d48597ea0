import type { CircuitState } from "../runtime/resilience/circuit-breaker.js";
import type { OutboxBacklog } from "./gateway-metrics.js";
import type { Route } from "./routing-table.js";

export type LinkState = "up" | "down" | "unknown";

/** One direct link to a peer gateway, as `GET /v1/topology` shows it. */
export interface TopologyLink {
  peer: string;
  endpoints: string[];
  /** The endpoint the next request goes to (it moves on after a failure). */
  endpoint: string;
  state: LinkState;
  breaker: CircuitState;
  lastProbeAt: number | undefined;
  lastRttMs: number | undefined;
  consecutiveProbeFailures: number;
  lastError: string | undefined;
  /** The outboxes whose next hop is this link, summed. */
  backlog: { depth: number; inFlight: number; oldestAgeMs: number };
}

export interface TopologyOutbox extends OutboxBacklog {
  nextHop: string | undefined;
}

/** What `GET /v1/topology` answers and `bmn topology` prints. */
export interface Topology {
  domain: string;
  gateway: string;
  /** This domain and every domain it has a route to. */
  domains: string[];
  links: TopologyLink[];
  routes: Route[];
  outboxes: TopologyOutbox[];
}

/** A link's state for the `bmn_gateway_link_state` gauge. */
export function linkStateValue(state: LinkState): number {
  return state === "up" ? 0 : state === "unknown" ? 1 : 2;
}
