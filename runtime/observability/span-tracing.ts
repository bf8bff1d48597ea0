import type { IncomingHttpHeaders } from "node:http";
import {
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  isSpanContextValid,
  trace,
  type Attributes,
  type Context,
  type Link,
  type Span,
  type SpanContext,
  type Tracer,
} from "@opentelemetry/api";
import type { Message } from "../../core/envelope.js";
import { isBmnError } from "../../core/errors.js";
import type { AckManyResult, Delivery, NackOptions, NackResult } from "../../store/store.js";
import type { DeliveryTransport, MessageTracing, SendOutcome } from "./message-tracing.js";
import { stampTraceContext, withTraceContext } from "./propagating-tracing.js";
import { RecentDeliveries } from "./recent-deliveries.js";
import {
  SPAN_NAMES,
  deliverAttributes,
  nackAttributes,
  sendAttributes,
  sendOutcomeAttributes,
  settleAttributes,
} from "./span-attributes.js";
import { parseTraceparent, traceHeadersFromHttp, traceHeadersOf } from "./trace-context.js";

/** Flushing and stopping whatever exports this tracer's spans. */
export interface SpanPipeline {
  forceFlush(): Promise<void>;
  shutdown(): Promise<void>;
}

/**
 * Tracing with a tracer: a PRODUCER span per send, a CONSUMER span per delivery continuing the sender's trace, and
 * a span per ack and nack tied to the delivery's span. Parents are passed explicitly, never read from the active
 * context, so no global context manager or provider is needed and several sidecars can share a process.
 */
export class SpanTracing implements MessageTracing {
  readonly enabled = true;
  private readonly recent: RecentDeliveries;

  constructor(
    private readonly tracer: Tracer,
    private readonly domain: string,
    private readonly pipeline: SpanPipeline,
    options: { rememberDeliveries?: number } = {},
  ) {
    this.recent = new RecentDeliveries(options.rememberDeliveries);
  }

  async send<R extends SendOutcome>(
    message: Message,
    headers: IncomingHttpHeaders | undefined,
    send: (traced: Message) => Promise<R>,
  ): Promise<R> {
    const parent = parseTraceparent(message.traceparent, message.tracestate) ?? httpParent(headers);
    const span = this.tracer.startSpan(
      SPAN_NAMES.send,
      { kind: SpanKind.PRODUCER, attributes: sendAttributes(message, this.domain) },
      contextWith(parent),
    );
    const context = span.spanContext();
    // A no-op tracer (an API provider without an SDK) makes no ids: propagate as if tracing were off.
    const traced = isSpanContextValid(context)
      ? stampTraceContext(message, traceHeadersOf(context))
      : withTraceContext(message, headers);
    return within(span, () => send(traced), sendOutcomeAttributes);
  }

  delivered(agent: string, deliveries: readonly Delivery[], transport: DeliveryTransport): void {
    for (const delivery of deliveries) {
      const { message } = delivery;
      const span = this.tracer.startSpan(
        SPAN_NAMES.deliver,
        { kind: SpanKind.CONSUMER, attributes: deliverAttributes(agent, delivery, this.domain, transport) },
        contextWith(parseTraceparent(message.traceparent, message.tracestate)),
      );
      // A span sampled out has no recorded children either; remembering it would only cost memory.
      const recording = span.isRecording();
      span.end();
      if (recording) {
        this.recent.remember(delivery.leaseId, {
          context: span.spanContext(),
          messageId: message.id,
          agent,
          attempt: delivery.attempt,
        });
      }
    }
  }

  ack(
    leaseId: string,
    headers: IncomingHttpHeaders | undefined,
    transport: DeliveryTransport,
    ack: () => Promise<void>,
  ): Promise<void> {
    return this.settle("ack", leaseId, headers, transport, ack, {});
  }

  async ackMany(
    leaseIds: readonly string[],
    headers: IncomingHttpHeaders | undefined,
    transport: DeliveryTransport,
    run: () => Promise<AckManyResult>,
  ): Promise<AckManyResult> {
    const links: Link[] = [];
    for (const leaseId of leaseIds) {
      const delivery = this.recent.take(leaseId);
      if (delivery !== undefined) links.push({ context: delivery.context });
    }
    const parent = httpParent(headers);
    // Neither the agent's span nor a known delivery: a lone root span per batch would only be noise.
    if (parent === undefined && links.length === 0) return run();
    const span = this.tracer.startSpan(
      SPAN_NAMES.ack,
      {
        kind: SpanKind.CONSUMER,
        attributes: {
          "messaging.system": "bmn",
          "messaging.operation.type": "settle",
          "messaging.operation.name": "ack",
          "messaging.batch.message_count": leaseIds.length,
          "bmn.domain": this.domain,
          "bmn.transport": transport,
        },
        links,
      },
      contextWith(parent),
    );
    return within(span, run, (result) => ({ "bmn.ack.failed": result.failed.length }));
  }

  nack(
    leaseId: string,
    options: NackOptions,
    headers: IncomingHttpHeaders | undefined,
    transport: DeliveryTransport,
    nack: () => Promise<NackResult>,
  ): Promise<NackResult> {
    return this.settle("nack", leaseId, headers, transport, nack, nackAttributes(options), (result) => ({
      "bmn.nack.outcome": result.outcome,
      ...(result.reason === undefined ? {} : { "bmn.dead_letter.reason": result.reason }),
    }));
  }

  forceFlush(): Promise<void> {
    return this.pipeline.forceFlush();
  }

  shutdown(): Promise<void> {
    return this.pipeline.shutdown();
  }

  /**
   * An ack or nack span. Its parent is the request's `traceparent` (the agent's own processing span) when it has
   * one, linked to the delivery's span; else the delivery's span itself. With neither, no span is made: a lone
   * root span per ack would only be noise.
   */
  private async settle<T>(
    operation: "ack" | "nack",
    leaseId: string,
    headers: IncomingHttpHeaders | undefined,
    transport: DeliveryTransport,
    run: () => Promise<T>,
    extra: Attributes,
    outcome?: (result: T) => Attributes,
  ): Promise<T> {
    const delivery = this.recent.take(leaseId);
    const fromHttp = httpParent(headers);
    const parent = fromHttp ?? delivery?.context;
    if (parent === undefined) return run();
    const links: Link[] =
      fromHttp !== undefined && delivery !== undefined ? [{ context: delivery.context }] : [];
    const span = this.tracer.startSpan(
      SPAN_NAMES[operation],
      {
        kind: SpanKind.CONSUMER,
        attributes: { ...settleAttributes(operation, leaseId, this.domain, transport, delivery), ...extra },
        links,
      },
      contextWith(parent),
    );
    return within(span, run, outcome);
  }
}

function httpParent(headers: IncomingHttpHeaders | undefined): SpanContext | undefined {
  const fromHttp = headers === undefined ? undefined : traceHeadersFromHttp(headers);
  return fromHttp === undefined ? undefined : parseTraceparent(fromHttp.traceparent, fromHttp.tracestate);
}

function contextWith(parent: SpanContext | undefined): Context {
  return parent === undefined ? ROOT_CONTEXT : trace.setSpanContext(ROOT_CONTEXT, parent);
}

/** Runs `run` inside `span`: the outcome's attributes on success, the error on failure; the span ends either way. */
async function within<T>(
  span: Span,
  run: () => Promise<T>,
  outcome: ((result: T) => Attributes) | undefined,
): Promise<T> {
  try {
    const result = await run();
    if (outcome !== undefined) span.setAttributes(outcome(result));
    return result;
  } catch (error) {
    recordFailure(span, error);
    throw error;
  } finally {
    span.end();
  }
}

function recordFailure(span: Span, error: unknown): void {
  const message = error instanceof Error ? error.message : String(error);
  span.setStatus({ code: SpanStatusCode.ERROR, message });
  if (isBmnError(error)) span.setAttribute("error.type", error.code);
  if (error instanceof Error) span.recordException(error);
}
