import websocket from "@fastify/websocket";
import Fastify, { LogController, type FastifyInstance, type FastifyServerOptions } from "fastify";
import { sidecarMethodsOf } from "../../core/api/sidecar-api.js";
import { sidecarConfigSchema, type SidecarConfig, type SidecarConfigInput } from "../../core/config.js";
import { BmnError } from "../../core/errors.js";
import type { MessageTracing, TracingContext } from "../../runtime/observability/message-tracing.js";
import { SidecarMetrics } from "../sidecar-metrics.js";
import { PropagatingTracing } from "../../runtime/observability/propagating-tracing.js";
import { Router } from "../routing/router.js";
import type { MessageStore } from "../../store/store.js";
import { ConcurrencyLimiter } from "../../runtime/resilience/concurrency-limiter.js";
import { installErrorHandling } from "../../runtime/http/http-errors.js";
import { limitedServerFactory } from "../../runtime/http/server-limits.js";
import { AgentBinding, bindStoreToAgents } from "./agent-bound-store.js";
import { installAgentIdentity } from "./agent-identity.js";
import { installApiToken, resolveApiToken } from "./api-token.js";
import { protocolErrorOptions } from "../../runtime/http/protocol-errors.js";
import { limitConcurrency } from "./limit-concurrency.js";
import { closeRefusedUpgrades } from "./refused-upgrades.js";
import { limitStreams } from "./stream-limits.js";
import { isJsonContentType } from "./message-input.js";
import type { RouteContext } from "./route-context.js";
import { LeaseLedger, leasesHeldGauge } from "./lease-ledger.js";
import { useZodSchemas } from "./zod-type-provider.js";
import { deliveryRoutes } from "./routes/delivery-routes.js";
import { dlqRoutes } from "./routes/dlq-routes.js";
import { healthRoutes } from "./routes/health-routes.js";
import { messageRoutes } from "./routes/message-routes.js";
import { registryRoutes } from "./routes/registry-routes.js";
import { statsRoutes } from "./routes/stats-routes.js";
import { streamRoutes } from "./routes/stream-routes.js";
import { topologyRoutes } from "./routes/topology-routes.js";
import { traceRoutes } from "./routes/trace-routes.js";
import { transactionRoutes } from "./routes/transaction-routes.js";
import { a2aPlugins } from "../a2a/a2a-routes.js";

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

export interface BuildServerOptions {
  store: MessageStore;
  config?: SidecarConfig | SidecarConfigInput;
  /** A pino logger config or `false`; defaults to JSON logs at `config.logLevel`. */
  logger?: FastifyServerOptions["logger"];
  /** Seconds to advise in `Retry-After` on 503 and 429 answers, given the error being answered. */
  retryAfterSeconds?: (error: unknown) => number;
  /** Reported by the `bmn_store_breaker_state` gauge. */
  breakerState?: () => number;
  /** Metrics made by the caller (so store wrappers can feed them); made here otherwise. */
  metrics?: SidecarMetrics;
  /** Spans and `traceparent` propagation; defaults to propagation only. The caller flushes and shuts it down. */
  tracing?: MessageTracing;
}

export interface SidecarServer extends FastifyInstance {
  bmn: RouteContext & TracingContext;
}

/** The sidecar's HTTP and WebSocket API as a fastify instance, not yet listening (tests use `inject`). */
export async function buildServer(options: BuildServerOptions): Promise<FastifyInstance> {
  const config = sidecarConfigSchema.parse(options.config ?? {});
  // A bound sidecar's routes see the store through its binding: see agent-bound-store.ts.
  const binding = config.agents === undefined ? undefined : new AgentBinding(config.agents, config.domain);
  const store = binding === undefined ? options.store : bindStoreToAgents(options.store, binding);
  const apiToken = resolveApiToken(config.server);
  const app = Fastify({
    logger: options.logger ?? { level: config.logLevel },
    bodyLimit: config.limits.maxMessageBytes,
    // Long-polls keep a socket quiet for up to maxWaitSeconds: its idle timeout must outlast them.
    serverFactory: limitedServerFactory({
      ...config.server.limits,
      idleTimeoutMs: Math.max(
        config.server.limits.idleTimeoutMs,
        (config.limits.maxWaitSeconds + 10) * 1_000,
      ),
    }),
    // Per-request info lines would dominate the log at thousands of messages a second; routes log what matters.
    logController: new LogController({ disableRequestLogging: true }),
    // Errors before routing (parser, bad URL) answer {errorCode, message} like every route.
    ...protocolErrorOptions,
  });
  const metrics =
    options.metrics ??
    new SidecarMetrics(store, {
      defaultMetrics: true,
      maxAgentLabels: config.server.maxAgentLabels,
      ...(options.breakerState === undefined ? {} : { breakerState: options.breakerState }),
    });
  const shutdown = new AbortController();
  const context: RouteContext & TracingContext = {
    store,
    router: new Router(store, config.domain, { crossDomain: config.routing.crossDomain }),
    metrics,
    config,
    tracing: options.tracing ?? new PropagatingTracing(),
    shutdown: shutdown.signal,
    leases: new LeaseLedger(),
  };
  // Per pod, unlike the queue gauges (store-wide): the operator turns it into pod-deletion-cost.
  leasesHeldGauge(metrics.registry, context.leases);
  app.addHook("preClose", (done) => {
    shutdown.abort();
    done();
  });
  // Answers given while closing end their keep-alive connection, so close() need not wait for idle clients.
  app.addHook("onSend", (_request, reply, payload, done) => {
    if (shutdown.signal.aborted) void reply.header("connection", "close");
    done(null, payload);
  });

  useZodSchemas(app);
  installErrorHandling(app, options.retryAfterSeconds ?? (() => 1), sidecarMethodsOf);
  // Authentication first (401), then identity (403), then the limiter: refused callers take no slot.
  if (apiToken !== undefined) installApiToken(app, apiToken);
  if (binding !== undefined) installAgentIdentity(app, binding);
  limitConcurrency(
    app,
    new ConcurrencyLimiter({ maxInFlight: config.limits.maxInFlight, maxQueued: config.limits.maxQueued }),
  );
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(
    /^application\/([a-z0-9.+-]*\+)?json\b/i,
    { parseAs: "buffer" },
    (_request, body, done) => {
      let text: string;
      try {
        // JSON is UTF-8 (RFC 8259); invalid bytes are refused, not silently replaced by U+FFFD.
        text = strictUtf8.decode(body as Buffer);
      } catch {
        done(new BmnError("INVALID_JSON", "body is not valid UTF-8"), undefined);
        return;
      }
      if (text.trim() === "") {
        done(null, undefined);
        return;
      }
      try {
        done(null, JSON.parse(text));
      } catch (error) {
        done(new BmnError("INVALID_JSON", `body is not valid JSON: ${(error as Error).message}`), undefined);
      }
    },
  );
  // Anything else arrives as bytes: binary-mode CloudEvents carry their data in any content type.
  app.addContentTypeParser("*", { parseAs: "buffer" }, (request, body, done) => {
    const isBinaryCloudEvent = Object.keys(request.headers).some((name) => name.startsWith("ce-"));
    if (!isBinaryCloudEvent && !isJsonContentType(request.headers["content-type"])) {
      done(
        new BmnError(
          "UNSUPPORTED_MEDIA_TYPE",
          "content type must be application/json or application/cloudevents+json",
          {
            field: "content-type",
          },
        ),
        undefined,
      );
      return;
    }
    done(null, body);
  });

  app.addHook("onResponse", (request, reply, done) => {
    metrics.requestDuration.observe(
      {
        method: request.method,
        route: request.routeOptions.url ?? "unmatched",
        status: String(reply.statusCode),
      },
      reply.elapsedTime / 1_000,
    );
    done();
  });

  await app.register(websocket, { options: { maxPayload: config.limits.maxMessageBytes } });
  closeRefusedUpgrades(app);
  limitStreams(app, {
    maxBufferedBytes: config.server.maxStreamBufferedBytes,
    onClosed: (code) => {
      metrics.streamsClosed.inc({ code: String(code) });
    },
  });
  for (const routes of [
    healthRoutes,
    messageRoutes,
    deliveryRoutes,
    streamRoutes,
    registryRoutes,
    transactionRoutes,
    dlqRoutes,
    traceRoutes,
    statsRoutes,
    topologyRoutes,
  ]) {
    await app.register(routes(context));
  }
  const a2a = { context, unboundStore: options.store, binding, apiToken: apiToken !== undefined };
  for (const plugin of a2aPlugins(a2a)) await app.register(plugin);
  app.decorate("bmn", context);
  return app;
}
