import Fastify, { type FastifyInstance, type FastifyServerOptions } from "fastify";
import type { HttpServerLimits } from "../../core/config.js";
import { installErrorHandling } from "../../runtime/http/http-errors.js";
import { limitedServerFactory } from "../../runtime/http/server-limits.js";
import type { MessageStore } from "../../store/store.js";
import type { SidecarMetrics } from "../sidecar-metrics.js";

export interface ProbeServerOptions {
  store: MessageStore;
  metrics: SidecarMetrics;
  limits: HttpServerLimits;
  logger?: FastifyServerOptions["logger"];
}

/**
 * The probe listener (`server.probePort`): `/healthz`, `/readyz` and `/metrics` for the kubelet and Prometheus on
 * the pod IP, and nothing else (404), while the agent API stays on 127.0.0.1. No token: it serves no agent data.
 */
export async function buildProbeServer(options: ProbeServerOptions): Promise<FastifyInstance> {
  const { store, metrics } = options;
  const app = Fastify({
    logger: options.logger ?? false,
    serverFactory: limitedServerFactory(options.limits),
  });
  installErrorHandling(app, () => 1);
  app.get("/healthz", () => ({ status: "ok" }));
  app.get("/readyz", async () => {
    await store.ping();
    return { status: "ready", store: store.kind };
  });
  app.get("/metrics", async (_request, reply) =>
    reply.header("content-type", metrics.registry.contentType).send(await metrics.registry.metrics()),
  );
  await app.ready();
  return app;
}
