import type { ServerResponse } from "node:http";
import type { FastifyInstance } from "fastify";
import { sidecarApi } from "../../../core/api/sidecar-api.js";
import type { TracingContext } from "../../../runtime/observability/message-tracing.js";
import { LeaseError } from "../../../core/errors.js";
import { agentInput, agentLeaseId } from "../agent-input.js";
import type { RouteContext } from "../route-context.js";
import { schemaOf } from "../route-schema.js";
import type { ZodTypeProvider } from "../zod-type-provider.js";

export function deliveryRoutes({
  store,
  metrics,
  config,
  tracing,
  shutdown,
  leases,
}: RouteContext & TracingContext) {
  return function plugin(instance: FastifyInstance, _options: unknown, done: () => void): void {
    const app = instance.withTypeProvider<ZodTypeProvider>();
    app.get(sidecarApi.receive.url, { schema: schemaOf(sidecarApi.receive) }, async (request, reply) => {
      agentInput(request.params.agent);
      const query = request.query;
      const waitMs = Math.min(query.wait ?? 0, config.limits.maxWaitSeconds) * 1_000;
      const deliveries = await store.receive(request.params.agent, {
        max: query.max ?? 1,
        waitMs: Math.round(waitMs),
        ...(query.lease === undefined ? {} : { leaseMs: Math.round(query.lease * 1_000) }),
        // Only a poll that waits can be cut short; a plain receive skips the signal's cost on the hot path.
        ...(waitMs > 0 ? { signal: pollSignal(reply.raw, shutdown) } : {}),
        actor: request.params.agent,
      });
      if (deliveries.length > 0) {
        leases.granted(deliveries);
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

    app.post(sidecarApi.ack.url, { schema: schemaOf(sidecarApi.ack) }, async (request, reply) => {
      const { tx } = request.query;
      const leaseId = agentLeaseId(request.params.leaseId);
      await tracing.ack(leaseId, request.headers, "http", () => store.ack(leaseId, { tx }));
      leases.settled(leaseId);
      metrics.acked.inc();
      return reply.status(204).send();
    });

    app.post(sidecarApi.ackMany.url, { schema: schemaOf(sidecarApi.ackMany) }, async (request) => {
      const { tx } = request.query;
      const { leaseIds } = request.body;
      // A malformed id, or a gateway outbox's lease (not an agent's to settle), fails alone with LEASE_NOT_FOUND,
      // the code a single ack of it answers with 404.
      const agentLeases: string[] = [];
      const outboxLeases = new Set<string>();
      for (const leaseId of leaseIds) {
        try {
          agentLeases.push(agentLeaseId(leaseId));
        } catch (error) {
          if (!(error instanceof LeaseError)) throw error;
          outboxLeases.add(leaseId);
        }
      }
      const result = await tracing.ackMany(agentLeases, request.headers, "http", () =>
        agentLeases.length === 0
          ? Promise.resolve({ acked: [], failed: [] })
          : store.ackMany(agentLeases, { tx }),
      );
      metrics.acked.inc(result.acked.length);
      for (const leaseId of result.acked) leases.settled(leaseId);
      for (const { leaseId } of result.failed) leases.settled(leaseId);
      if (outboxLeases.size === 0) return result;
      // Answered in the order given, refused leases among the others.
      const failedBy = new Map(result.failed.map((failure) => [failure.leaseId, failure]));
      return {
        acked: result.acked,
        failed: leaseIds.flatMap((leaseId) => {
          if (outboxLeases.has(leaseId)) return [{ leaseId, code: "LEASE_NOT_FOUND" as const }];
          const failure = failedBy.get(leaseId);
          return failure === undefined ? [] : [failure];
        }),
      };
    });

    app.post(sidecarApi.nack.url, { schema: schemaOf(sidecarApi.nack) }, async (request, reply) => {
      const body = request.body;
      const leaseId = agentLeaseId(request.params.leaseId);
      const result = await tracing.nack(leaseId, body, request.headers, "http", () =>
        store.nack(leaseId, body),
      );
      leases.settled(leaseId);
      metrics.nacked.inc();
      if (result.outcome === "dead-lettered")
        metrics.deadLettered.inc({ reason: result.reason ?? "rejected" });
      return reply.status(204).send();
    });

    app.post(sidecarApi.extend.url, { schema: schemaOf(sidecarApi.extend) }, async (request) => {
      const leaseId = agentLeaseId(request.params.leaseId);
      const extended = await store.extendLease(leaseId, request.body.leaseMs);
      leases.extended(leaseId, extended.leaseExpiresAt);
      return extended;
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
