import type { FastifyInstance } from "fastify";
import { sidecarApi } from "../../../core/api/sidecar-api.js";
import { NotFoundError } from "../../../core/errors.js";
import type { RouteContext } from "../route-context.js";
import { schemaOf } from "../route-schema.js";
import type { ZodTypeProvider } from "../zod-type-provider.js";

export function traceRoutes({ store }: RouteContext) {
  return function plugin(instance: FastifyInstance, _options: unknown, done: () => void): void {
    const app = instance.withTypeProvider<ZodTypeProvider>();
    app.get(sidecarApi.trace.url, { schema: schemaOf(sidecarApi.trace) }, async (request) => {
      const events = await store.traceOf(request.params.id);
      if (events.length === 0)
        throw new NotFoundError(`no trace recorded for message ${request.params.id}`, { field: "id" });
      return { id: request.params.id, events };
    });

    app.get(sidecarApi.traces.url, { schema: schemaOf(sidecarApi.traces) }, async (request) => ({
      events: await store.traceByCorrelation(request.query.correlationId),
    }));
    done();
  };
}
