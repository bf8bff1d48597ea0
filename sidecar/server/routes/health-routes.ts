import type { FastifyInstance } from "fastify";
import type { RouteContext } from "../route-context.js";

export const VERSION = "0.1.0";

export function healthRoutes({ store, metrics, config }: RouteContext) {
  return function plugin(app: FastifyInstance, _options: unknown, done: () => void): void {
    app.get("/healthz", () => ({ status: "ok" }));

    app.get("/readyz", async () => {
      await store.ping();
      return { status: "ready", store: store.kind };
    });

    app.get("/metrics", async (_request, reply) =>
      reply.header("content-type", metrics.registry.contentType).send(await metrics.registry.metrics()),
    );

    app.get("/v1/info", () => ({
      domain: config.domain,
      store: store.kind,
      durable: store.durable,
      version: VERSION,
    }));
    done();
  };
}
