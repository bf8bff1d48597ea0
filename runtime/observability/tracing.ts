import type { TracerProvider } from "@opentelemetry/api";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { defaultResource, resourceFromAttributes } from "@opentelemetry/resources";
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  type SpanExporter,
  type SpanProcessor,
} from "@opentelemetry/sdk-trace-base";
import type { SidecarConfig } from "../../core/config.js";
import type { MessageTracing } from "./message-tracing.js";
import { PropagatingTracing } from "./propagating-tracing.js";
import { SpanTracing } from "./span-tracing.js";

export const TRACER_NAME = "beast-mode-network/sidecar";
const TRACER_VERSION = "0.1.0";

/** Ways to trace besides (or instead of) `otel.endpoint`; any of them turns span recording on. */
export interface TracingOptions {
  /** Span processors added to the sidecar's own provider (tests: a SimpleSpanProcessor over an in-memory exporter). */
  spanProcessors?: SpanProcessor[];
  /** An exporter added to the sidecar's own provider behind a BatchSpanProcessor. */
  exporter?: SpanExporter;
  /**
   * A provider to take the tracer from instead of building one (an application embedding the sidecar with its
   * own SDK). It belongs to the caller: `shutdown()` does not shut it down. Not combinable with the options above.
   */
  tracerProvider?: TracerProvider;
}

/**
 * The sidecar's tracing, one per sidecar (several may share a process): a BasicTracerProvider of its own, never
 * registered globally, exporting over OTLP/HTTP (JSON) when `otel.endpoint` is set and to whatever `options` adds.
 * With none of those it is `PropagatingTracing`: messages still get a `traceparent`, and nothing else happens.
 */
export function createTracing(
  config: Pick<SidecarConfig, "domain" | "otel">,
  options: TracingOptions = {},
): MessageTracing {
  if (options.tracerProvider !== undefined) {
    if (
      options.spanProcessors !== undefined ||
      options.exporter !== undefined ||
      config.otel.endpoint !== undefined
    )
      throw new TypeError("tracerProvider cannot be combined with spanProcessors, exporter or otel.endpoint");
    const provider = options.tracerProvider;
    return new SpanTracing(provider.getTracer(TRACER_NAME, TRACER_VERSION), config.domain, {
      forceFlush: () => flushOf(provider),
      shutdown: () => flushOf(provider),
    });
  }
  const spanProcessors = [...(options.spanProcessors ?? [])];
  if (options.exporter !== undefined) spanProcessors.push(new BatchSpanProcessor(options.exporter));
  if (config.otel.endpoint !== undefined) {
    spanProcessors.push(
      new BatchSpanProcessor(new OTLPTraceExporter({ url: tracesUrl(config.otel.endpoint) })),
    );
  }
  if (spanProcessors.length === 0) return new PropagatingTracing();
  const provider = new BasicTracerProvider({
    resource: defaultResource().merge(
      resourceFromAttributes({ "service.name": config.otel.serviceName, "bmn.domain": config.domain }),
    ),
    spanProcessors,
  });
  return new SpanTracing(provider.getTracer(TRACER_NAME, TRACER_VERSION), config.domain, provider);
}

/**
 * The OTLP/HTTP traces URL for an endpoint: used as given when it has a path, with `/v1/traces` added when it is
 * a bare collector address such as `http://collector:4318` (the form OTEL_EXPORTER_OTLP_ENDPOINT takes).
 */
export function tracesUrl(endpoint: string): string {
  const url = new URL(endpoint);
  if (url.pathname === "/" || url.pathname === "") url.pathname = "/v1/traces";
  return url.toString();
}

async function flushOf(provider: TracerProvider): Promise<void> {
  const flushable = provider as Partial<{ forceFlush: () => Promise<void> }>;
  if (typeof flushable.forceFlush === "function") await flushable.forceFlush();
}
