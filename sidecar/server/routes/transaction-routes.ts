import type { FastifyInstance } from "fastify";
import { sidecarApi } from "../../../core/api/sidecar-api.js";
import type { RouteContext } from "../route-context.js";
import { schemaOf } from "../route-schema.js";
import type { ZodTypeProvider } from "../zod-type-provider.js";

export function transactionRoutes({ store }: RouteContext) {
  return function plugin(instance: FastifyInstance, _options: unknown, done: () => void): void {
    const app = instance.withTypeProvider<ZodTypeProvider>();
    app.post(
      sidecarApi.beginTransaction.url,
      { schema: schemaOf(sidecarApi.beginTransaction) },
      async (request, reply) => {
        const { timeoutMs } = request.body;
        const id = await store.beginTransaction(timeoutMs === undefined ? {} : { timeoutMs });
        return reply.status(201).send({ id });
      },
    );

    app.post(sidecarApi.savepoint.url, { schema: schemaOf(sidecarApi.savepoint) }, async (request, reply) =>
      reply.status(201).send({ savepoint: await store.savepoint(request.params.tx) }),
    );

    app.post(
      sidecarApi.rollbackToSavepoint.url,
      { schema: schemaOf(sidecarApi.rollbackToSavepoint) },
      async (request, reply) => {
        await store.rollbackToSavepoint(request.params.tx, request.params.savepoint);
        return reply.status(204).send();
      },
    );

    app.post(sidecarApi.commit.url, { schema: schemaOf(sidecarApi.commit) }, async (request, reply) => {
      await store.commit(request.params.tx);
      return reply.status(204).send();
    });

    app.post(sidecarApi.rollback.url, { schema: schemaOf(sidecarApi.rollback) }, async (request, reply) => {
      await store.rollback(request.params.tx);
      return reply.status(204).send();
    });
    done();
  };
}
