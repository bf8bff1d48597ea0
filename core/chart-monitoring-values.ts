/**
 * The chart's monitoring values (Prometheus Operator objects and Grafana dashboards), kept apart from
 * core/chart-values.ts so the two evolve without stepping on each other. Each is off by default: the
 * Prometheus Operator's CRDs must exist before a release may render them.
 */
import { z } from "zod";

const stringMap = z.record(z.string(), z.string());
const duration = z.string().regex(/^[0-9]+(ms|s|m|h)$/, "must be a Prometheus duration such as 30s");

export const monitoringValues = {
  serviceMonitor: z
    .strictObject({
      enabled: z
        .boolean()
        .default(false)
        .describe(
          "A ServiceMonitor for the operator and PodMonitors for sidecars and gateways (needs the Prometheus Operator)",
        ),
      interval: duration.default("30s"),
      labels: stringMap
        .default({})
        .describe("Extra labels, e.g. the `release` label your Prometheus selects on"),
      gatewayTokenSecret: z
        .strictObject({ name: z.string().min(1), key: z.string().min(1) })
        .optional()
        .describe(
          "A Secret holding a gateway peer token: gateways serve /metrics to peers only, unless publicAdminRoutes",
        ),
    })
    .prefault({}),
  prometheusRule: z
    .strictObject({
      enabled: z
        .boolean()
        .default(false)
        .describe("BMN's alerts as a PrometheusRule (runbooks: docs/alerts.md)"),
      labels: stringMap.default({}),
    })
    .prefault({}),
  grafanaDashboards: z
    .strictObject({
      enabled: z
        .boolean()
        .default(false)
        .describe("Grafana dashboards as ConfigMaps for Grafana's dashboard sidecar"),
      labels: stringMap.default({ grafana_dashboard: "1" }).describe("The label Grafana's sidecar looks for"),
    })
    .prefault({}),
};
