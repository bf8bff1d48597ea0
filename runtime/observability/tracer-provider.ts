import type { Tracer, TracerProvider } from "@opentelemetry/api";
import type { SpanExporter, SpanProcessor } from "@opentelemetry/sdk-trace-base";
import type { SidecarConfig } from "../../core/config.js";

/** Ways to trace besides (or instead of) `otel.endpoint`; any of them turns span recording on. */
export interface TracingOptions {
  /** Span processors added to the process's own provider (tests: a SimpleSpanProcessor over an in-memory exporter). */
  spanProcessors?: SpanProcessor[];
  /** An exporter added to the process's own provider behind a BatchSpanProcessor. */
  exporter?: SpanExporter;
  /**
   * A provider to take the tracer from instead of building one (an application embedding BMN with its own SDK).
   * It belongs to the caller: `shutdown()` only flushes it. Not combinable with the options above.
   */
  tracerProvider?: TracerProvider;
}

/** A tracer, and how to flush and shut down what stands behind it. */
export interface ProgramTracer {
  tracer: Tracer;
  forceFlush(): Promise<void>;
  shutdown(): Promise<void>;
}

/**
 * The one OpenTelemetry setup of every program (sidecar, gateway): a BasicTracerProvider of its own, never
 * registered globally, exporting over OTLP/HTTP (JSON) when `otel.endpoint` is set and to whatever `options`
 * adds; or the caller's provider. Undefined when nothing would record spans. The SDK and the OTLP exporter
 * (~20 MB of a process's RSS) are imported only when spans are recorded.
 */
export async function programTracer(
  config: Pick<SidecarConfig, "domain" | "otel">,
  options: TracingOptions,
  identity: { tracerName: string; tracerVersion?: string; serviceName: string },
): Promise<ProgramTracer | undefined> {
  const external = options.tracerProvider;
  if (external !== undefined) {
    if (
      options.spanProcessors !== undefined ||
      options.exporter !== undefined ||
      config.otel.endpoint !== undefined
    )
      throw new TypeError("tracerProvider cannot be combined with spanProcessors, exporter or otel.endpoint");
    const flush = async (): Promise<void> => {
      const flushable = external as Partial<{ forceFlush: () => Promise<void> }>;
      if (typeof flushable.forceFlush === "function") await flushable.forceFlush();
    };
    return {
      tracer: external.getTracer(identity.tracerName, identity.tracerVersion),
      forceFlush: flush,
      shutdown: flush,
    };
  }
  const spanProcessors = [...(options.spanProcessors ?? [])];
  if (spanProcessors.length === 0 && options.exporter === undefined && config.otel.endpoint === undefined)
    return undefined;
  const { BasicTracerProvider, BatchSpanProcessor } = await import("@opentelemetry/sdk-trace-base");
  const { defaultResource, resourceFromAttributes } = await import("@opentelemetry/resources");
  if (options.exporter !== undefined) spanProcessors.push(new BatchSpanProcessor(options.exporter));
  if (config.otel.endpoint !== undefined) {
    const { OTLPTraceExporter } = await import("@opentelemetry/exporter-trace-otlp-http");
    spanProcessors.push(
      new BatchSpanProcessor(new OTLPTraceExporter({ url: tracesUrl(config.otel.endpoint) })),
    );
  }
  const provider = new BasicTracerProvider({
    resource: defaultResource().merge(
      resourceFromAttributes({ "service.name": identity.serviceName, "bmn.domain": config.domain }),
    ),
    spanProcessors,
  });
  return {
    tracer: provider.getTracer(identity.tracerName, identity.tracerVersion),
    forceFlush: () => provider.forceFlush(),
    shutdown: () => provider.shutdown(),
  };
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
