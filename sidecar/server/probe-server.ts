import Fastify, { type FastifyInstance } from "fastify";
import type { HttpServerLimits } from "../../core/config.js";
import { installErrorHandling } from "../../runtime/http/http-errors.js";
import { protocolErrorOptions } from "../../runtime/http/protocol-errors.js";
import { limitedServerFactory } from "../../runtime/http/server-limits.js";
import { useZodSchemas } from "./zod-type-provider.js";
import type { RouteContext } from "./route-context.js";
import { healthRoutes } from "./routes/health-routes.js";

const PROBE_ROUTES = new Set(["/healthz", "/readyz", "/metrics"]);

/**
 * The probe listener (`server.probePort`): `/healthz`, `/readyz` and `/metrics` for the kubelet and Prometheus on
 * the pod IP, and nothing else (404), while the agent API stays on 127.0.0.1. No token: it serves no agent data.
 */
export async function buildProbeServer(
  context: RouteContext,
  limits: HttpServerLimits,
): Promise<FastifyInstance> {
  const app = Fastify({
    logger: false,
    serverFactory: limitedServerFactory(limits),
    ...protocolErrorOptions,
  });
  // The health routes declare their answers as zod schemas, as on the agent listener.
  useZodSchemas(app);
  installErrorHandling(app, () => 1);
  // The agent API's own health routes, so both listeners answer alike; any other route among them is a 404 here.
  app.addHook("onRoute", (route) => {
    if (!PROBE_ROUTES.has(route.url))
      route.handler = (_request, reply) => {
        reply.callNotFound();
      };
  });
  await app.register(healthRoutes(context));
  await app.ready();
  return app;
}
