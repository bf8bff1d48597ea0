import type { FastifyInstance } from "fastify";
import { describeIssue } from "../../../core/api/describe-issue.js";
import { sidecarApi } from "../../../core/api/sidecar-api.js";
import {
  gatewayTopologySchema,
  type GatewayView,
  type SidecarOutbox,
  type SidecarTopology,
} from "../../../core/api/topology-api.js";
import { isOutboxQueue, outboxDomain } from "../../../core/names.js";
import type { MessageStore } from "../../../store/store.js";
import type { RouteContext } from "../route-context.js";
import { schemaOf } from "../route-schema.js";
import type { ZodTypeProvider } from "../zod-type-provider.js";

/** How long the sidecar waits for each gateway's `/v1/topology`; a slower gateway is shown as unreachable. */
export const GATEWAY_TOPOLOGY_TIMEOUT_MS = 2_000;

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
      const { message } = describeIssue(parsed.error.issues[0], { whole: "body" });
      return {
        url,
        reachable: false,
        error: `answered something other than a gateway topology (${message})`,
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
  return function plugin(instance: FastifyInstance, _options: unknown, done: () => void): void {
    const app = instance.withTypeProvider<ZodTypeProvider>();
    app.get(
      sidecarApi.topology.url,
      { schema: schemaOf(sidecarApi.topology) },
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
