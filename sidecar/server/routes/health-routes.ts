import type { FastifyInstance } from "fastify";
import { sidecarOpenApiDocument } from "../../../core/api/openapi.js";
import { sidecarApi } from "../../../core/api/sidecar-api.js";
import { API_VERSION } from "../../../core/api/version.js";
import type { RouteContext } from "../route-context.js";
import { schemaOf } from "../route-schema.js";
import type { ZodTypeProvider } from "../zod-type-provider.js";

export const VERSION = API_VERSION;

export function healthRoutes({ store, metrics, config }: RouteContext) {
  return function plugin(instance: FastifyInstance, _options: unknown, done: () => void): void {
    const app = instance.withTypeProvider<ZodTypeProvider>();
    app.get(sidecarApi.health.url, { schema: schemaOf(sidecarApi.health) }, () => ({
      status: "ok" as const,
    }));

    app.get(sidecarApi.ready.url, { schema: schemaOf(sidecarApi.ready) }, async () => {
      await store.ping();
      return { status: "ready" as const, store: store.kind };
    });

    app.get(sidecarApi.metrics.url, async (_request, reply) =>
      reply.header("content-type", metrics.registry.contentType).send(await metrics.registry.metrics()),
    );

    app.get(sidecarApi.info.url, { schema: schemaOf(sidecarApi.info) }, () => ({
      domain: config.domain,
      store: store.kind,
      durable: store.durable,
      version: VERSION,
    }));

    // Built on first request, from the same schemas the routes validate with (docs/openapi.json is this, committed).
    let document: string | undefined;
    app.get(sidecarApi.openapi.url, (_request, reply) => {
      document ??= JSON.stringify(sidecarOpenApiDocument(VERSION));
      return reply.type("application/json").send(document);
    });
    done();
  };
}
