import type { FastifyInstance } from "fastify";
import { z } from "zod";
import { parseInput } from "../parse-input.js";
import type { RouteContext } from "../route-context.js";

const beginBody = z.object({ timeoutMs: z.number().int().min(1).max(3_600_000).optional() }).strict();
const savepointParams = z.object({ tx: z.string(), savepoint: z.coerce.number().int().min(0) });

export function transactionRoutes({ store }: RouteContext) {
  return function plugin(app: FastifyInstance, _options: unknown, done: () => void): void {
    app.post("/v1/transactions", async (request, reply) => {
      const { timeoutMs } = parseInput(beginBody, request.body ?? {});
      const id = await store.beginTransaction(timeoutMs === undefined ? {} : { timeoutMs });
      return reply.status(201).send({ id });
    });

    app.post<{ Params: { tx: string } }>("/v1/transactions/:tx/savepoints", async (request, reply) =>
      reply.status(201).send({ savepoint: await store.savepoint(request.params.tx) }),
    );

    app.post("/v1/transactions/:tx/savepoints/:savepoint/rollback", async (request, reply) => {
      const { tx, savepoint } = parseInput(savepointParams, request.params);
      await store.rollbackToSavepoint(tx, savepoint);
      return reply.status(204).send();
    });

    app.post<{ Params: { tx: string } }>("/v1/transactions/:tx/commit", async (request, reply) => {
      await store.commit(request.params.tx);
      return reply.status(204).send();
    });

    app.post<{ Params: { tx: string } }>("/v1/transactions/:tx/rollback", async (request, reply) => {
      await store.rollback(request.params.tx);
      return reply.status(204).send();
    });
    done();
  };
}
