import type { FastifyInstance } from "fastify";
import { z } from "zod";
import { isOutboxQueue, outboxDomain } from "../../../core/names.js";
import type { MessageStore } from "../../../store/store.js";
import type { RouteContext } from "../route-context.js";

/** How long the sidecar waits for each gateway's `/v1/topology`; a slower gateway is shown as unreachable. */
export const GATEWAY_TOPOLOGY_TIMEOUT_MS = 2_000;

// ---- what a gateway answers on GET /v1/topology (gateway/topology.ts), as the sidecar reads it -------

const count = z.number().int().min(0);

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
export const gatewayTopologySchema = z.object({
  domain: z.string(),
  gateway: z.string(),
  domains: z.array(z.string()),
  links: z.array(linkSchema),
  routes: z.array(routeSchema),
  outboxes: z.array(gatewayOutboxSchema),
});

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

/** The response schema as JSON Schema: fastify serializes the answer with it (and only the fields it names). */
const responseJsonSchema = z.toJSONSchema(sidecarTopologySchema, { target: "draft-7" });

/** Reads one gateway's topology; never throws: a gateway that does not answer properly is `reachable: false`. */
export async function fetchGatewayTopology(
  url: string,
  timeoutMs = GATEWAY_TOPOLOGY_TIMEOUT_MS,
): Promise<GatewayView> {
  const target = new URL("/v1/topology", url);
  try {
    const response = await fetch(target, {
      signal: AbortSignal.timeout(timeoutMs),
      headers: { accept: "application/json" },
    });
    if (!response.ok) {
      await response.body?.cancel();
      return { url, reachable: false, error: `answered ${response.status}` };
    }
    const parsed = gatewayTopologySchema.safeParse(await response.json());
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const field = issue?.path.map(String).join(".") ?? "";
      return {
        url,
        reachable: false,
        error: `answered something other than a gateway topology (${field === "" ? "body" : field} ${issue?.message ?? "is invalid"})`,
      };
    }
    return { url, reachable: true, topology: parsed.data };
  } catch (error) {
    return { url, reachable: false, error: describeFetchError(error, timeoutMs) };
  }
}

function describeFetchError(error: unknown, timeoutMs: number): string {
  if (error instanceof Error && (error.name === "TimeoutError" || error.name === "AbortError"))
    return `no answer within ${timeoutMs} ms`;
  if (error instanceof SyntaxError) return `answered invalid JSON: ${error.message}`;
  if (error instanceof Error) {
    // fetch wraps the network error ("fetch failed"); its cause says what happened (ECONNREFUSED, ...).
    const cause = error.cause instanceof Error ? `: ${error.cause.message}` : "";
    return `${error.message}${cause}`;
  }
  return String(error);
}

/** Every outbox in the store with its stats, sorted by destination. */
async function outboxBacklog(store: MessageStore): Promise<Omit<SidecarOutbox, "oldestAgeMs" | "nextHop">[]> {
  const queues = (await store.listQueues()).filter((queue) => isOutboxQueue(queue));
  const stats = await Promise.all(queues.map(async (queue) => store.queueStats(queue)));
  return stats
    .map(({ agent, depth, ready, delayed, inFlight, deadLettered }) => ({
      destination: outboxDomain(agent) ?? agent,
      queue: agent,
      depth,
      ready,
      delayed,
      inFlight,
      deadLettered,
    }))
    .sort((a, b) => a.destination.localeCompare(b.destination));
}

/** Combines the store's backlog with what the (reachable) gateways of this domain know. */
export function sidecarTopology(
  domain: string,
  crossDomain: boolean,
  backlog: Omit<SidecarOutbox, "oldestAgeMs" | "nextHop">[],
  gateways: GatewayView[],
): SidecarTopology {
  const own = gateways.flatMap((view) => (view.topology?.domain === domain ? [view.topology] : []));
  const outboxes = backlog.map((outbox): SidecarOutbox => {
    const reported = own.flatMap((topology) =>
      topology.outboxes.filter((entry) => entry.destination === outbox.destination),
    );
    const route = own
      .flatMap((topology) => topology.routes)
      .find((candidate) => candidate.domain === outbox.destination);
    return {
      ...outbox,
      oldestAgeMs: reported.length === 0 ? null : Math.max(...reported.map((entry) => entry.oldestAgeMs)),
      nextHop: route?.nextHop ?? null,
    };
  });
  const domains = new Set([domain, ...own.flatMap((topology) => topology.domains)]);
  return { domain, crossDomain, domains: [...domains].sort(), outboxes, gateways };
}

/**
 * `GET /v1/topology`: this sidecar's domain, the backlog per destination from its store's outboxes, and (with
 * `routing.gateways`) the links, routes and state each of this domain's gateways reports. A gateway that does not
 * answer within a short timeout is listed as unreachable; the answer is still 200.
 */
export function topologyRoutes({ store, config }: RouteContext) {
  return function plugin(app: FastifyInstance, _options: unknown, done: () => void): void {
    app.get(
      "/v1/topology",
      { schema: { response: { 200: responseJsonSchema } } },
      async (): Promise<SidecarTopology> => {
        const [backlog, gateways] = await Promise.all([
          outboxBacklog(store),
          Promise.all((config.routing.gateways ?? []).map((url) => fetchGatewayTopology(url))),
        ]);
        return sidecarTopology(config.domain, config.routing.crossDomain, backlog, gateways);
      },
    );
    done();
  };
}
