import { hostname } from "node:os";
import type { FastifyInstance } from "fastify";
import type { SidecarConfig } from "../core/config.js";
import type { MessageTracing } from "../runtime/observability/message-tracing.js";
import { createTracing, type TracingOptions } from "../runtime/observability/tracing.js";
import { SidecarMetrics } from "./sidecar-metrics.js";
import { ResilientStore } from "../store/resilient-store.js";
import { buildServer, type SidecarServer } from "./server/build-server.js";
import { buildProbeServer } from "./server/probe-server.js";
import { createStore } from "../store/create-store.js";
import type { MessageStore } from "../store/store.js";

export interface RunningSidecar {
  url: string;
  config: SidecarConfig;
  store: MessageStore;
  server: FastifyInstance;
  /** The probe listener (`server.probePort`): /healthz, /readyz and /metrics only. */
  probe?: { url: string; server: FastifyInstance };
  /** The sidecar's tracing; `forceFlush()` exports the spans ended so far. */
  tracing: MessageTracing;
  /** Stops accepting, lets in-flight requests finish, then closes the store. */
  close(): Promise<void>;
}

export interface StartOptions {
  /** Use this store instead of opening the one the config names (tests). */
  store?: MessageStore;
  logger?: boolean;
  /** Span processors, an exporter or a provider to trace to, besides `otel.endpoint` (see docs/observability.md). */
  tracing?: TracingOptions;
}

const BREAKER_GAUGE = { closed: 0, "half-open": 1, open: 2 } as const;

/** Opens the store, builds the server and listens: what `bmn start` and `npm start` run. */
export async function startSidecar(
  config: SidecarConfig,
  options: StartOptions = {},
): Promise<RunningSidecar> {
  const tracing = await createTracing(config, options.tracing);
  const inner = options.store ?? (await createStore(config, `sidecar@${hostname()}`));
  // Every store call goes through timeout, then circuit breaker, then retry (Dapr's layering).
  // The metrics read queue gauges through the store and the store reports call latency to the metrics.
  const latency: { observe?: (operation: string, outcome: string, seconds: number) => void } = {};
  const store = new ResilientStore(inner, {
    onCall: (operation, outcome, durationMs) => latency.observe?.(operation, outcome, durationMs / 1_000),
  });
  const metrics = new SidecarMetrics(store, {
    defaultMetrics: true,
    maxAgentLabels: config.server.maxAgentLabels,
    breakerState: () => BREAKER_GAUGE[store.breakerState()],
  });
  latency.observe = (operation, outcome, seconds) => {
    metrics.storeCallDuration.observe({ operation, outcome }, seconds);
  };
  let server: FastifyInstance | undefined;
  let probe: FastifyInstance | undefined;
  try {
    // Before listening: a pod is not ready until its agent's subscriptions exist, so no publish misses them.
    // Patterns dropped from the agent's declared list first, so a pattern in both stays.
    for (const { agent, pattern } of config.unsubscriptions) await store.unsubscribe(agent, pattern);
    for (const { agent, pattern } of config.subscriptions) await store.subscribe(agent, pattern);
    server = await buildServer({
      store,
      config,
      retryAfterSeconds: (error) => Math.max(1, Math.ceil((store.retryAfterMs(error) ?? 1_000) / 1_000)),
      metrics,
      tracing,
      ...(options.logger === false ? { logger: false } : {}),
    });
    await server.listen({ host: config.host, port: config.port });
    if (config.server.probePort !== undefined) {
      probe = await buildProbeServer((server as SidecarServer).bmn, config.server.limits);
      await probe.listen({ host: config.server.probeHost, port: config.server.probePort });
    }
  } catch (error) {
    await server?.close();
    await store.close();
    await tracing.shutdown().catch(() => undefined);
    throw error;
  }
  if (config.otel.endpoint !== undefined)
    server.log.info({ endpoint: config.otel.endpoint }, "exporting traces over OTLP/HTTP");
  const agentApi = server;
  let closing: Promise<void> | undefined;
  return {
    url: listenUrl(agentApi, config.host, config.port),
    config,
    store,
    server: agentApi,
    ...(probe === undefined
      ? {}
      : { probe: { url: listenUrl(probe, config.server.probeHost, 0), server: probe } }),
    tracing,
    close: () => {
      closing ??= (async () => {
        await probe?.close();
        await agentApi.close();
        // Requests have finished: what the agent leased and did not settle goes back to the queue now, for
        // another pod, instead of waiting out the lease (a pod scaled down or rolled keeps no work stranded).
        const released = await (agentApi as SidecarServer).bmn.leases.releaseAll(store);
        if (released > 0) agentApi.log.info({ released }, "gave back unsettled leases");
        await store.close();
        // Exports the spans still buffered; an unreachable collector costs at most the exporter's timeout.
        await tracing.shutdown().catch(() => undefined);
      })();
      return closing;
    },
  };
}

function listenUrl(server: FastifyInstance, configuredHost: string, configuredPort: number): string {
  const address = server.server.address();
  const port = typeof address === "object" && address !== null ? address.port : configuredPort;
  const host = configuredHost.includes(":") ? `[${configuredHost}]` : configuredHost;
  return `http://${host}:${String(port)}`;
}
