import type { FastifyInstance } from "fastify";
import { sidecarApi } from "../../../core/api/sidecar-api.js";
import { NotFoundError } from "../../../core/errors.js";
import { agentInput } from "../agent-input.js";
import { mapBounded } from "../../../runtime/resilience/map-bounded.js";
import type { RouteContext } from "../route-context.js";
import { schemaOf } from "../route-schema.js";
import type { ZodTypeProvider } from "../zod-type-provider.js";

/** Queue stats read at once for one page of `/v1/queues`. */
const STATS_FAN_OUT = 16;

const seconds = (value: number | undefined): number | undefined =>
  value === undefined ? undefined : Math.round(value * 1_000);

/** Agents: registry (discovery), subscriptions and queue stats. */
export function registryRoutes({ store }: RouteContext) {
  return function plugin(instance: FastifyInstance, _options: unknown, done: () => void): void {
    const app = instance.withTypeProvider<ZodTypeProvider>();
    app.put(sidecarApi.register.url, { schema: schemaOf(sidecarApi.register) }, async (request) => {
      const body = request.body;
      return store.registerAgent({
        name: request.params.agent,
        capabilities: body.capabilities,
        metadata: body.metadata,
        ttlMs: seconds(body.ttlSeconds),
      });
    });

    app.post(sidecarApi.heartbeat.url, { schema: schemaOf(sidecarApi.heartbeat) }, async (request) =>
      store.heartbeat(request.params.agent, seconds(request.body.ttlSeconds)),
    );

    app.get(sidecarApi.agents.url, { schema: schemaOf(sidecarApi.agents) }, async (request) => {
      const { capability } = request.query;
      return { agents: await store.listAgents(capability === undefined ? {} : { capability }) };
    });

    app.delete(
      sidecarApi.deregister.url,
      { schema: schemaOf(sidecarApi.deregister) },
      async (request, reply) => {
        if (!(await store.deregisterAgent(request.params.agent))) {
          throw new NotFoundError(`agent ${request.params.agent} is not registered`, { field: "agent" });
        }
        return reply.status(204).send();
      },
    );

    app.get(sidecarApi.agentStats.url, { schema: schemaOf(sidecarApi.agentStats) }, async (request) =>
      store.queueStats(agentInput(request.params.agent)),
    );

    app.get(sidecarApi.queues.url, { schema: schemaOf(sidecarApi.queues) }, async (request) => {
      const page = await store.listQueuePage(request.query);
      const queues = await mapBounded(page.queues, STATS_FAN_OUT, (agent) => store.queueStats(agent));
      return page.nextCursor === undefined ? { queues } : { queues, nextCursor: page.nextCursor };
    });

    app.get(sidecarApi.queueMessages.url, { schema: schemaOf(sidecarApi.queueMessages) }, async (request) => {
      const { state = "ready", limit, cursor } = request.query;
      return store.browseQueue(request.params.queue, { state, limit, cursor });
    });

    app.post(sidecarApi.subscribe.url, { schema: schemaOf(sidecarApi.subscribe) }, async (request, reply) => {
      const { pattern } = request.body;
      await store.subscribe(request.params.agent, pattern);
      return reply.status(201).send({ agent: request.params.agent, pattern });
    });

    app.get(
      sidecarApi.subscriptions.url,
      { schema: schemaOf(sidecarApi.subscriptions) },
      async (request) => ({
        subscriptions: await store.listSubscriptions(request.params.agent),
      }),
    );

    app.delete(
      sidecarApi.unsubscribe.url,
      { schema: schemaOf(sidecarApi.unsubscribe) },
      async (request, reply) => {
        const { pattern } = request.query;
        if (!(await store.unsubscribe(request.params.agent, pattern))) {
          throw new NotFoundError(`agent ${request.params.agent} has no subscription ${pattern}`, {
            field: "pattern",
          });
        }
        return reply.status(204).send();
      },
    );
    done();
  };
}
