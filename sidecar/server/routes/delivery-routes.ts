import type { ServerResponse } from "node:http";
import type { FastifyInstance } from "fastify";
import { z } from "zod";
import type { TracingContext } from "../../../runtime/observability/message-tracing.js";
import { agentInput, agentLeaseId } from "../agent-input.js";
import { parseInput } from "../parse-input.js";
import type { RouteContext } from "../route-context.js";

const receiveQuery = z.object({
  max: z.coerce.number().int().min(1).max(1_000).default(1),
  wait: z.coerce.number().min(0).default(0),
  lease: z.coerce.number().min(0.001).optional(),
});
const txQuery = z.object({ tx: z.string().optional() });
const nackBody = z
  .object({
    delayMs: z.number().int().min(0).optional(),
    reason: z.string().max(1_024).optional(),
    deadLetter: z.boolean().optional(),
  })
  .strict();
const extendBody = z.object({ leaseMs: z.number().int().min(1) }).strict();

export function deliveryRoutes({ store, metrics, config, tracing, shutdown }: RouteContext & TracingContext) {
  return function plugin(app: FastifyInstance, _options: unknown, done: () => void): void {
    app.get<{ Params: { agent: string } }>("/v1/agents/:agent/messages", async (request, reply) => {
      agentInput(request.params.agent);
      const query = parseInput(receiveQuery, request.query);
      const waitMs = Math.min(query.wait, config.limits.maxWaitSeconds) * 1_000;
      const deliveries = await store.receive(request.params.agent, {
        max: query.max,
        waitMs: Math.round(waitMs),
        ...(query.lease === undefined ? {} : { leaseMs: Math.round(query.lease * 1_000) }),
        // Only a poll that waits can be cut short; a plain receive skips the signal's cost on the hot path.
        ...(waitMs > 0 ? { signal: pollSignal(reply.raw, shutdown) } : {}),
        actor: request.params.agent,
      });
      if (deliveries.length > 0) {
        metrics.delivered.inc({ agent: request.params.agent }, deliveries.length);
        tracing.delivered(request.params.agent, deliveries, "http");
        for (const { message, attempt } of deliveries) {
          request.log.debug(
            {
              messageId: message.id,
              agent: request.params.agent,
              attempt,
              correlationId: message.correlationid,
            },
            "message delivered",
          );
        }
      }
      return {
        deliveries: deliveries.map(({ leaseId, attempt, leaseExpiresAt, message }) => ({
          leaseId,
          attempt,
          leaseExpiresAt,
          message,
        })),
      };
    });

    app.post<{ Params: { leaseId: string } }>("/v1/deliveries/:leaseId/ack", async (request, reply) => {
      const { tx } = parseInput(txQuery, request.query);
      const leaseId = agentLeaseId(request.params.leaseId);
      await tracing.ack(leaseId, request.headers, "http", () => store.ack(leaseId, { tx }));
      metrics.acked.inc();
      return reply.status(204).send();
    });

    app.post<{ Params: { leaseId: string } }>("/v1/deliveries/:leaseId/nack", async (request, reply) => {
      const body = parseInput(nackBody, request.body ?? {});
      const leaseId = agentLeaseId(request.params.leaseId);
      const result = await tracing.nack(leaseId, body, request.headers, "http", () =>
        store.nack(leaseId, body),
      );
      metrics.nacked.inc();
      if (result.outcome === "dead-lettered")
        metrics.deadLettered.inc({ reason: result.reason ?? "rejected" });
      return reply.status(204).send();
    });

    app.post<{ Params: { leaseId: string } }>("/v1/deliveries/:leaseId/extend", async (request) => {
      const { leaseMs } = parseInput(extendBody, request.body);
      return store.extendLease(agentLeaseId(request.params.leaseId), leaseMs);
    });
    done();
  };
}

/** Aborts when the client goes away mid-poll (the response closes unfinished) or the server shuts down. */
function pollSignal(response: ServerResponse, shutdown: AbortSignal): AbortSignal {
  const abort = new AbortController();
  response.once("close", () => {
    if (!response.writableFinished) abort.abort();
  });
  return AbortSignal.any([abort.signal, shutdown]);
}
