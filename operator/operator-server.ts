/**
 * The operator's own HTTP server, for the kubelet and Prometheus: `/healthz` (the process answers),
 * `/readyz` (the leader's controllers have synced their caches, or this replica stands by for the Lease) and
 * `/metrics` (prom-client text format). Three read-only routes, so plain node:http is enough.
 */
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import { programRegistry } from "../runtime/observability/metrics-registry.js";
import { httpServerLimitsSchema, type HttpServerLimits } from "../core/config.js";
import { createLimitedServer } from "../runtime/http/server-limits.js";

export interface OperatorMetrics {
  readonly registry: Registry;
  /** 1 while this process holds the Lease (or runs without leader election). */
  readonly leader: Gauge;
  /** 1 while the controllers run in this process. */
  readonly controllersRunning: Gauge;
  /** Failures by source: reconcile and watch (both retried), event (a failed Event write), leader-election. */
  readonly errors: Counter<"source">;
  /** Times this process acquired the Lease. */
  readonly leadershipAcquired: Counter;
  /** Finished reconciles by kind and outcome, with their duration. */
  readonly reconciles: Histogram<"kind" | "outcome">;
}

export function createOperatorMetrics(): OperatorMetrics {
  const registry = programRegistry("bmn_operator_", true);
  return {
    registry,
    leader: new Gauge({
      name: "bmn_operator_leader",
      help: "1 while this replica is the leader and runs the controllers",
      registers: [registry],
    }),
    controllersRunning: new Gauge({
      name: "bmn_operator_controllers_running",
      help: "1 while the controllers run in this replica",
      registers: [registry],
    }),
    errors: new Counter({
      name: "bmn_operator_errors_total",
      help: "Failures by source: reconcile, watch (both retried), event, leader-election",
      labelNames: ["source"],
      registers: [registry],
    }),
    leadershipAcquired: new Counter({
      name: "bmn_operator_leadership_acquired_total",
      help: "Times this replica acquired the leader Lease",
      registers: [registry],
    }),
    reconciles: new Histogram({
      name: "bmn_operator_reconcile_duration_seconds",
      help: "Finished reconciles by kind and outcome (success, error), and how long they took",
      labelNames: ["kind", "outcome"],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
  };
}

export interface OperatorServerOptions {
  host: string;
  /** 0 picks a free port; `port` on the result says which. */
  port: number;
  metrics: OperatorMetrics;
  /** Why the operator is not ready, or undefined when it is. */
  notReadyReason(): string | undefined;
  /** Why the operator is unhealthy, or undefined when it is healthy. */
  unhealthyReason(): string | undefined;
  /** Timeouts and connection cap; the defaults of `httpServerLimitsSchema` otherwise. */
  limits?: HttpServerLimits;
}

export interface OperatorServer {
  readonly host: string;
  readonly port: number;
  close(): Promise<void>;
}

export async function startOperatorServer(options: OperatorServerOptions): Promise<OperatorServer> {
  const limits = options.limits ?? httpServerLimitsSchema.parse({});
  const server: Server = createLimitedServer(limits, (request, response) => {
    const path = (request.url ?? "/").split("?")[0];
    const text = (status: number, body: string, type = "text/plain; charset=utf-8"): void => {
      response.writeHead(status, { "content-type": type, "cache-control": "no-store" });
      response.end(body);
    };
    if (request.method !== "GET" && request.method !== "HEAD") {
      text(405, "method not allowed\n");
      return;
    }
    if (path === "/healthz" || path === "/livez") {
      const reason = options.unhealthyReason();
      text(reason === undefined ? 200 : 503, reason === undefined ? "ok\n" : `${reason}\n`);
      return;
    }
    if (path === "/readyz") {
      const reason = options.notReadyReason();
      text(reason === undefined ? 200 : 503, reason === undefined ? "ok\n" : `${reason}\n`);
      return;
    }
    if (path === "/metrics") {
      options.metrics.registry.metrics().then(
        (body) => {
          text(200, body, options.metrics.registry.contentType);
        },
        (error: unknown) => {
          text(500, `${String(error)}\n`);
        },
      );
      return;
    }
    text(404, "not found\n");
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  return {
    host: options.host,
    port: address.port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
        server.closeAllConnections();
      }),
  };
}
