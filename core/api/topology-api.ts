import { z } from "zod";
import { count } from "./common.js";

// ---- what a gateway answers on GET /v1/topology (gateway/topology.ts), as the sidecar reads it -------

const routeSchema = z.object({
  domain: z.string(),
  hops: count,
  nextHop: z.string(),
  path: z.array(z.string()),
});

const linkSchema = z.object({
  peer: z.string(),
  endpoints: z.array(z.string()),
  endpoint: z.string(),
  state: z.enum(["up", "down", "unknown"]),
  breaker: z.enum(["closed", "open", "half-open"]),
  lastProbeAt: z.number().optional(),
  lastRttMs: z.number().optional(),
  consecutiveProbeFailures: count,
  lastError: z.string().optional(),
  backlog: z.object({ depth: count, inFlight: count, oldestAgeMs: z.number().min(0) }),
});

const gatewayOutboxSchema = z.object({
  destination: z.string(),
  depth: count,
  inFlight: count,
  oldestAgeMs: z.number().min(0),
  nextHop: z.string().optional(),
});

/** One gateway's own view: its replica id, the domains it reaches, its links (state, breaker, backlog) and routes. */
export const gatewayTopologySchema = z
  .object({
    domain: z.string(),
    gateway: z.string(),
    domains: z.array(z.string()),
    links: z.array(linkSchema),
    routes: z.array(routeSchema),
    outboxes: z.array(gatewayOutboxSchema),
  })
  .meta({ id: "GatewayTopology" });

// ---- what the sidecar answers --------------------------------------------------------------------------------

/** The backlog towards one destination domain: the outbox `bmn.out.<destination>` in this sidecar's store. */
export const sidecarOutboxSchema = z.object({
  destination: z.string(),
  queue: z.string(),
  depth: count,
  ready: count,
  delayed: count,
  inFlight: count,
  deadLettered: count,
  /** Age of the oldest message a gateway holds for the destination (the largest any gateway reports); null: none reports it. */
  oldestAgeMs: z.number().min(0).nullable(),
  /** The next hop a reachable gateway routes the destination to; null: no gateway asked, or none has a route. */
  nextHop: z.string().nullable(),
});

/** One gateway of `routing.gateways`: its topology, or why it could not be read. */
export const gatewayViewSchema = z.object({
  url: z.string(),
  reachable: z.boolean(),
  error: z.string().optional(),
  topology: gatewayTopologySchema.optional(),
});

/** `GET /v1/topology` on the sidecar. */
export const sidecarTopologySchema = z.object({
  domain: z.string(),
  crossDomain: z.boolean(),
  /** This domain and every domain a reachable gateway has a route to, sorted. */
  domains: z.array(z.string()),
  outboxes: z.array(sidecarOutboxSchema),
  gateways: z.array(gatewayViewSchema),
});

export type GatewayTopologyView = z.infer<typeof gatewayTopologySchema>;
export type SidecarOutbox = z.infer<typeof sidecarOutboxSchema>;
export type GatewayView = z.infer<typeof gatewayViewSchema>;
export type SidecarTopology = z.infer<typeof sidecarTopologySchema>;
