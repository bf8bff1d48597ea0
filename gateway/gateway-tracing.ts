import {
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  TraceFlags,
  isSpanContextValid,
  trace,
  type Attributes,
  type Context,
  type Span,
  type Tracer,
} from "@opentelemetry/api";
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
export const GATEWAY_SPAN_NAMES = {
  forward: "bmn.gateway.forward",
  receive: "bmn.gateway.receive",
  forwardBatch: "bmn.gateway.forward.batch",
  receiveBatch: "bmn.gateway.receive.batch",
} as const;

/** The spans of one batch sent to, or received from, a peer while they run. */
export interface TracedBatch {
  /**
   * The batch's messages as they travel on, in the same order: a sampled one stamped with its own span's context,
   * every other one unchanged.
   */
  readonly messages: readonly Message[];
  /**
   * Ends the batch's spans: one outcome for every message, or one per message (by index in `messages`), which
   * the batch span counts per outcome.
   */
  end(outcome: string | readonly string[], error?: string): void;
}

/** What a forward or a receive records, per message and per batch. */
interface Operation {
  messageSpan: string;
  batchSpan: string;
  kind: SpanKind;
  attributes: Attributes;
}

/**
 * OpenTelemetry for the gateway. A message whose `traceparent` is sampled gets a span of its own, a PRODUCER
 * `bmn.gateway.forward` when forwarded and a CONSUMER `bmn.gateway.receive` when a peer hands it in, child of its
 * `traceparent`; it travels on with that span's context, so its trace continues in the next domain. Every other
 * message of a batch (no `traceparent`, or an unsampled one) only counts in one root span per batch,
 * `bmn.gateway.forward.batch` or `bmn.gateway.receive.batch`, and keeps its `traceparent` unchanged: a span per
 * message would cost on every message, and nobody would look at them. Without a tracer nothing is recorded.
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

  /** Traces one batch sent to `peer` (the next hop towards `destination`). */
  forwardBatch(messages: readonly Message[], peer: string, destination: string): TracedBatch {
    return this.start(messages, {
      messageSpan: GATEWAY_SPAN_NAMES.forward,
      batchSpan: GATEWAY_SPAN_NAMES.forwardBatch,
      kind: SpanKind.PRODUCER,
      attributes: {
        "messaging.operation.type": "send",
        "messaging.operation.name": "forward",
        "bmn.gateway.peer": peer,
        "bmn.gateway.destination": destination,
      },
    });
  }

  /** Traces the admitted messages of one batch `peer` handed in. */
  receiveBatch(messages: readonly Message[], peer: string): TracedBatch {
    return this.start(messages, {
      messageSpan: GATEWAY_SPAN_NAMES.receive,
      batchSpan: GATEWAY_SPAN_NAMES.receiveBatch,
      kind: SpanKind.CONSUMER,
      attributes: {
        "messaging.operation.type": "receive",
        "messaging.operation.name": "receive",
        "bmn.gateway.peer": peer,
      },
    });
  }

  async forceFlush(): Promise<void> {
    await this.traced?.forceFlush();
  }

  async shutdown(): Promise<void> {
    await this.traced?.shutdown();
  }

  private start(messages: readonly Message[], operation: Operation): TracedBatch {
    if (this.traced === undefined) return { messages, end: () => undefined };
    const { tracer } = this.traced;
    const travelling: Message[] = [];
    const own = new Map<number, Span>();
    const batched: number[] = [];
    messages.forEach((message, index) => {
      const parent = parseTraceparent(message.traceparent, message.tracestate);
      if (parent === undefined || (parent.traceFlags & TraceFlags.SAMPLED) === 0) {
        batched.push(index);
        travelling.push(message);
        return;
      }
      const span = this.messageSpan(tracer, message, operation, trace.setSpanContext(ROOT_CONTEXT, parent));
      own.set(index, span);
      const context = span.spanContext();
      travelling.push(
        isSpanContextValid(context) ? stampTraceContext(message, traceHeadersOf(context)) : message,
      );
    });
    // A root span: the batch mixes traces, so it belongs to none of them.
    const batchSpan =
      batched.length === 0
        ? undefined
        : tracer.startSpan(
            operation.batchSpan,
            {
              kind: operation.kind,
              root: true,
              attributes: {
                "messaging.system": "bmn",
                "bmn.domain": this.domain,
                "messaging.batch.message_count": batched.length,
                ...operation.attributes,
              },
            },
            ROOT_CONTEXT,
          );
    return {
      messages: travelling,
      end: (outcome, error) => {
        const outcomeOf = (index: number): string =>
          typeof outcome === "string" ? outcome : (outcome[index] ?? "unknown");
        for (const [index, span] of own) finish(span, outcomeOf(index), error);
        if (batchSpan === undefined) return;
        if (typeof outcome === "string") {
          finish(batchSpan, outcome, error);
          return;
        }
        const counts = new Map<string, number>();
        for (const index of batched) {
          const name = outcomeOf(index);
          counts.set(name, (counts.get(name) ?? 0) + 1);
        }
        // One attribute per outcome (`bmn.gateway.accepted`, `bmn.gateway.duplicate`, ...): what the batch did.
        for (const [name, count] of counts) batchSpan.setAttribute(`bmn.gateway.${name}`, count);
        const [only] = counts.keys();
        finish(batchSpan, counts.size === 1 && only !== undefined ? only : "mixed", error);
      },
    };
  }

  private messageSpan(tracer: Tracer, message: Message, operation: Operation, parent: Context): Span {
    return tracer.startSpan(
      operation.messageSpan,
      {
        kind: operation.kind,
        attributes: {
          "messaging.system": "bmn",
          "messaging.message.id": message.id,
          "bmn.domain": this.domain,
          "bmn.via": viaOf(message).join(","),
          ...(message.to === undefined ? {} : { "bmn.to": message.to }),
          ...operation.attributes,
        },
      },
      parent,
    );
  }
}

function finish(span: Span, outcome: string, error: string | undefined): void {
  span.setAttribute("bmn.gateway.outcome", outcome);
  if (error !== undefined) span.setStatus({ code: SpanStatusCode.ERROR, message: error });
  span.end();
}
