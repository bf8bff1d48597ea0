import type { FastifyInstance } from "fastify";
import { z } from "zod";
import { NotFoundError } from "../../../core/errors.js";
import { agentInput } from "../agent-input.js";
import { parseInput } from "../parse-input.js";
import { mapBounded } from "../../../runtime/resilience/map-bounded.js";
import { MAX_PAGE_SIZE } from "../../../store/store.js";
import type { RouteContext } from "../route-context.js";

const registerBody = z
  .object({
    capabilities: z.array(z.string()).max(256).optional(),
    metadata: z.record(z.string(), z.string()).optional(),
    ttlSeconds: z.number().min(1).max(86_400).optional(),
  })
  .strict();
const heartbeatBody = z.object({ ttlSeconds: z.number().min(1).max(86_400).optional() }).strict();
const subscriptionBody = z.object({ pattern: z.string() }).strict();
const patternQuery = z.object({ pattern: z.string() });
const capabilityQuery = z.object({ capability: z.string().optional() });
const pageQuery = z.object({
  limit: z.coerce.number().int().min(1).max(MAX_PAGE_SIZE).optional(),
  cursor: z.string().max(1_024).optional(),
});
/** Queue stats read at once for one page of `/v1/queues`. */
const STATS_FAN_OUT = 16;

const seconds = (value: number | undefined): number | undefined =>
  value === undefined ? undefined : Math.round(value * 1_000);

/** Agents: registry (discovery), subscriptions and queue stats. */
export function registryRoutes({ store }: RouteContext) {
  return function plugin(app: FastifyInstance, _options: unknown, done: () => void): void {
    app.put<{ Params: { agent: string } }>("/v1/agents/:agent", async (request) => {
      const body = parseInput(registerBody, request.body ?? {});
      return store.registerAgent({
        name: request.params.agent,
        capabilities: body.capabilities,
        metadata: body.metadata,
        ttlMs: seconds(body.ttlSeconds),
      });
    });

    app.post<{ Params: { agent: string } }>("/v1/agents/:agent/heartbeat", async (request) => {
      const body = parseInput(heartbeatBody, request.body ?? {});
      return store.heartbeat(request.params.agent, seconds(body.ttlSeconds));
    });

    app.get("/v1/agents", async (request) => {
      const { capability } = parseInput(capabilityQuery, request.query);
      return { agents: await store.listAgents(capability === undefined ? {} : { capability }) };
    });

    app.delete<{ Params: { agent: string } }>("/v1/agents/:agent", async (request, reply) => {
      if (!(await store.deregisterAgent(request.params.agent))) {
        throw new NotFoundError(`agent ${request.params.agent} is not registered`, { field: "agent" });
      }
      return reply.status(204).send();
    });

    app.get<{ Params: { agent: string } }>("/v1/agents/:agent/stats", async (request) =>
      store.queueStats(agentInput(request.params.agent)),
    );

    app.get("/v1/queues", async (request) => {
      const page = await store.listQueuePage(parseInput(pageQuery, request.query));
      const queues = await mapBounded(page.queues, STATS_FAN_OUT, (agent) => store.queueStats(agent));
      return page.nextCursor === undefined ? { queues } : { queues, nextCursor: page.nextCursor };
    });

    app.post<{ Params: { agent: string } }>("/v1/agents/:agent/subscriptions", async (request, reply) => {
      const { pattern } = parseInput(subscriptionBody, request.body);
      await store.subscribe(request.params.agent, pattern);
      return reply.status(201).send({ agent: request.params.agent, pattern });
    });

    app.get<{ Params: { agent: string } }>("/v1/agents/:agent/subscriptions", async (request) => ({
      subscriptions: await store.listSubscriptions(request.params.agent),
    }));

    app.delete<{ Params: { agent: string } }>("/v1/agents/:agent/subscriptions", async (request, reply) => {
      const { pattern } = parseInput(patternQuery, request.query);
      if (!(await store.unsubscribe(request.params.agent, pattern))) {
        throw new NotFoundError(`agent ${request.params.agent} has no subscription ${pattern}`, {
          field: "pattern",
        });
      }
      return reply.status(204).send();
    });
    done();
  };
}
