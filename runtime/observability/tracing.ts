import type { SidecarConfig } from "../../core/config.js";
import type { MessageTracing } from "./message-tracing.js";
import { PropagatingTracing } from "./propagating-tracing.js";
import { SpanTracing } from "./span-tracing.js";
import { programTracer, type TracingOptions } from "./tracer-provider.js";

export { tracesUrl, type TracingOptions } from "./tracer-provider.js";

export const TRACER_NAME = "beast-mode-network/sidecar";
const TRACER_VERSION = "0.1.0";

/**
 * The sidecar's tracing, one per sidecar (several may share a process): a BasicTracerProvider of its own, never
 * registered globally, exporting over OTLP/HTTP (JSON) when `otel.endpoint` is set and to whatever `options` adds.
 * With none of those it is `PropagatingTracing`: messages still get a `traceparent`, and nothing else happens.
 */
export async function createTracing(
  config: Pick<SidecarConfig, "domain" | "otel">,
  options: TracingOptions = {},
): Promise<MessageTracing> {
  const traced = await programTracer(config, options, {
    tracerName: TRACER_NAME,
    tracerVersion: TRACER_VERSION,
    serviceName: config.otel.serviceName,
  });
  return traced === undefined
    ? new PropagatingTracing()
    : new SpanTracing(traced.tracer, config.domain, traced);
}
