import { ROOT_CONTEXT, SpanKind, SpanStatusCode, isSpanContextValid, trace } from "@opentelemetry/api";
import type { SidecarConfig } from "../core/config.js";
import type { Message } from "../core/envelope.js";
import { stampTraceContext } from "../runtime/observability/propagating-tracing.js";
import { parseTraceparent, traceHeadersOf } from "../runtime/observability/trace-context.js";
import {
  programTracer,
  type ProgramTracer,
  type TracingOptions,
} from "../runtime/observability/tracer-provider.js";
import { viaOf } from "./via.js";

export const GATEWAY_TRACER_NAME = "beast-mode-network/gateway";
export const GATEWAY_SPAN_NAMES = { forward: "bmn.gateway.forward", receive: "bmn.gateway.receive" } as const;

/** A span that is running; `end` records how it went. */
export interface OpenSpan {
  /** The message as it should travel on: stamped with this span's context when tracing. */
  message: Message;
  end(outcome: string, error?: string): void;
}

/**
 * OpenTelemetry for the gateway: a PRODUCER span `bmn.gateway.forward` per forwarded message (child of the
 * message's `traceparent`) and a CONSUMER span `bmn.gateway.receive` per message a peer hands in. The message
 * leaves each with that span's context, so the trace continues in the next domain. Without a tracer the message
 * keeps its `traceparent` unchanged.
 */
export class GatewayTracing {
  private constructor(
    private readonly traced: ProgramTracer | undefined,
    private readonly domain: string,
  ) {}

  static async create(
    config: Pick<SidecarConfig, "domain" | "otel">,
    options: TracingOptions = {},
  ): Promise<GatewayTracing> {
    const traced = await programTracer(config, options, {
      tracerName: GATEWAY_TRACER_NAME,
      serviceName: `${config.otel.serviceName}-gateway`,
    });
    return new GatewayTracing(traced, config.domain);
  }

  get enabled(): boolean {
    return this.traced !== undefined;
  }

  forward(message: Message, peer: string, destination: string): OpenSpan {
    return this.start(GATEWAY_SPAN_NAMES.forward, SpanKind.PRODUCER, message, {
      "messaging.operation.type": "send",
      "messaging.operation.name": "forward",
      "bmn.gateway.peer": peer,
      "bmn.gateway.destination": destination,
    });
  }

  receive(message: Message, peer: string): OpenSpan {
    return this.start(GATEWAY_SPAN_NAMES.receive, SpanKind.CONSUMER, message, {
      "messaging.operation.type": "receive",
      "messaging.operation.name": "receive",
      "bmn.gateway.peer": peer,
    });
  }

  async forceFlush(): Promise<void> {
    await this.traced?.forceFlush();
  }

  async shutdown(): Promise<void> {
    await this.traced?.shutdown();
  }

  private start(
    name: string,
    kind: SpanKind,
    message: Message,
    attributes: Record<string, string>,
  ): OpenSpan {
    if (this.traced === undefined) return { message, end: () => undefined };
    const parent = parseTraceparent(message.traceparent, message.tracestate);
    const span = this.traced.tracer.startSpan(
      name,
      {
        kind,
        attributes: {
          "messaging.system": "bmn",
          "messaging.message.id": message.id,
          "bmn.domain": this.domain,
          "bmn.via": viaOf(message).join(","),
          ...(message.to === undefined ? {} : { "bmn.to": message.to }),
          ...attributes,
        },
      },
      parent === undefined ? ROOT_CONTEXT : trace.setSpanContext(ROOT_CONTEXT, parent),
    );
    const context = span.spanContext();
    const stamped = isSpanContextValid(context)
      ? stampTraceContext(message, traceHeadersOf(context))
      : message;
    return {
      message: stamped,
      end: (outcome, error) => {
        span.setAttribute("bmn.gateway.outcome", outcome);
        if (error !== undefined) span.setStatus({ code: SpanStatusCode.ERROR, message: error });
        span.end();
      },
    };
  }
}
