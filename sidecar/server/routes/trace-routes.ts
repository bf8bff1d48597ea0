import type { FastifyInstance } from "fastify";
import { z } from "zod";
import { NotFoundError } from "../../../core/errors.js";
import { parseInput } from "../parse-input.js";
import type { RouteContext } from "../route-context.js";

const correlationQuery = z.object({ correlationId: z.string().min(1).max(256) });

export function traceRoutes({ store }: RouteContext) {
  return function plugin(app: FastifyInstance, _options: unknown, done: () => void): void {
    app.get<{ Params: { id: string } }>("/v1/messages/:id/trace", async (request) => {
      const events = await store.traceOf(request.params.id);
      if (events.length === 0)
        throw new NotFoundError(`no trace recorded for message ${request.params.id}`, { field: "id" });
      return { id: request.params.id, events };
    });

    app.get("/v1/traces", async (request) => {
      const { correlationId } = parseInput(correlationQuery, request.query);
      return { events: await store.traceByCorrelation(correlationId) };
    });
    done();
  };
}
