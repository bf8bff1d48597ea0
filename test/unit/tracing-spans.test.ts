import { SpanKind, SpanStatusCode } from "@opentelemetry/api";
import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from "@opentelemetry/sdk-trace-base";
import { beforeEach, describe, expect, it } from "vitest";
import { sidecarConfigSchema } from "../../core/config.js";
import { createMessage, type Message } from "../../core/envelope.js";
import { LeaseError } from "../../core/errors.js";
import type { AgentName } from "../../core/names.js";
import type { MessageTracing } from "../../runtime/observability/message-tracing.js";
import { PropagatingTracing } from "../../runtime/observability/propagating-tracing.js";
import { RecentDeliveries } from "../../runtime/observability/recent-deliveries.js";
import { parseTraceparent } from "../../runtime/observability/trace-context.js";
import { createTracing, tracesUrl } from "../../runtime/observability/tracing.js";
import type { Delivery } from "../../store/store.js";

const TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT = `00-${TRACE_ID}-00f067aa0ba902b7-01`;
const config = sidecarConfigSchema.parse({ domain: "alpha" });

const accepted = { duplicate: false } as const;

function deliveryOf(message: Message, leaseId = "lease-1", attempt = 1): Delivery {
  return { leaseId, attempt, leaseExpiresAt: 1, agent: "worker" as AgentName, message };
}

function defined<T>(value: T | undefined): T {
  if (value === undefined) throw new Error("expected a value");
  return value;
}

describe("span tracing", () => {
  let exporter: InMemorySpanExporter;
  let tracing: MessageTracing;
  const spans = (name: string): ReadableSpan[] =>
    exporter.getFinishedSpans().filter((span) => span.name === name);
  const only = (name: string): ReadableSpan => {
    const found = spans(name);
    expect(found).toHaveLength(1);
    return defined(found[0]);
  };
  /** Sends `message` and answers what the store would have been given. */
  const send = async (message: Message, headers?: Record<string, string>): Promise<Message> => {
    let stored: Message | undefined;
    await tracing.send(message, headers, (traced) => {
      stored = traced;
      return Promise.resolve(accepted);
    });
    return defined(stored);
  };

  beforeEach(async () => {
    exporter = new InMemorySpanExporter();
    tracing = await createTracing(config, { spanProcessors: [new SimpleSpanProcessor(exporter)] });
  });

  it("is enabled by a span processor", async () => {
    expect(tracing.enabled).toBe(true);
    expect((await createTracing(config)).enabled).toBe(false);
  });

  it("makes a root PRODUCER span for a message without traceparent and stores the span's context", async () => {
    const stored = await send(
      createMessage({ to: "worker", type: "job", priority: 7, correlationid: "c-1" }),
    );
    const span = only("bmn.send");
    expect(span.kind).toBe(SpanKind.PRODUCER);
    expect(span.parentSpanContext).toBeUndefined();
    expect(stored.traceparent).toBe(`00-${span.spanContext().traceId}-${span.spanContext().spanId}-01`);
    expect(span.attributes).toMatchObject({
      "messaging.system": "bmn",
      "messaging.operation.type": "send",
      "messaging.destination.name": "worker",
      "messaging.message.id": stored.id,
      "messaging.message.conversation_id": "c-1",
      "bmn.message.type": "job",
      "bmn.domain": "alpha",
      "bmn.priority": 7,
      "bmn.to": "worker",
      "bmn.duplicate": false,
    });
  });

  it("continues the message's traceparent and keeps its tracestate", async () => {
    const stored = await send(
      createMessage({ topic: "orders.new", type: "t", traceparent: PARENT, tracestate: "v=1" }),
    );
    const span = only("bmn.send");
    expect(span.spanContext().traceId).toBe(TRACE_ID);
    expect(span.parentSpanContext?.spanId).toBe("00f067aa0ba902b7");
    expect(span.attributes).toMatchObject({
      "messaging.destination.name": "orders.new",
      "bmn.topic": "orders.new",
    });
    expect(stored.traceparent).toBe(`00-${TRACE_ID}-${span.spanContext().spanId}-01`);
    expect(stored.tracestate).toBe("v=1");
  });

  it("takes the HTTP traceparent header as parent only when the message has none", async () => {
    await send(createMessage({ to: "worker", type: "t" }), { traceparent: PARENT });
    expect(only("bmn.send").parentSpanContext?.traceId).toBe(TRACE_ID);
    exporter.reset();
    const own = `00-${"1".repeat(32)}-${"2".repeat(16)}-01`;
    await send(createMessage({ to: "worker", type: "t", traceparent: own }), { traceparent: PARENT });
    expect(only("bmn.send").spanContext().traceId).toBe("1".repeat(32));
  });

  it("keeps an unsampled parent's decision: no span exported, but a fresh span id propagated unsampled", async () => {
    const stored = await send(
      createMessage({ to: "worker", type: "t", traceparent: `00-${TRACE_ID}-00f067aa0ba902b7-00` }),
    );
    expect(exporter.getFinishedSpans()).toEqual([]);
    expect(stored.traceparent).toMatch(new RegExp(`^00-${TRACE_ID}-[0-9a-f]{16}-00$`));
    expect(stored.traceparent).not.toContain("00f067aa0ba902b7");
  });

  it("marks a failed send as an error and rethrows", async () => {
    const failure = new Error("store down");
    await expect(
      tracing.send(createMessage({ to: "worker", type: "t" }), undefined, () => Promise.reject(failure)),
    ).rejects.toBe(failure);
    expect(only("bmn.send").status).toMatchObject({ code: SpanStatusCode.ERROR, message: "store down" });
  });

  it("records topic recipients and duplicates", async () => {
    await tracing.send(createMessage({ topic: "a.b", type: "t" }), undefined, () =>
      Promise.resolve({ duplicate: true, recipients: ["x", "y"] }),
    );
    expect(only("bmn.send").attributes).toMatchObject({ "bmn.duplicate": true, "bmn.recipients": 2 });
  });

  it("makes a CONSUMER deliver span per delivery, continuing the sender's trace", async () => {
    const stored = await send(createMessage({ to: "worker", type: "job" }));
    tracing.delivered("worker", [deliveryOf(stored, "lease-7", 3)], "http");
    const sent = only("bmn.send");
    const deliver = only("bmn.deliver");
    expect(deliver.kind).toBe(SpanKind.CONSUMER);
    expect(deliver.spanContext().traceId).toBe(sent.spanContext().traceId);
    expect(deliver.parentSpanContext?.spanId).toBe(sent.spanContext().spanId);
    expect(deliver.attributes).toMatchObject({
      "messaging.operation.type": "receive",
      "messaging.destination.name": "worker",
      "messaging.message.id": stored.id,
      "bmn.delivery.attempt": 3,
      "bmn.lease.id": "lease-7",
      "bmn.transport": "http",
    });
  });

  it("makes an ack span child of the deliver span, or of the request's traceparent linked to it", async () => {
    const stored = await send(createMessage({ to: "worker", type: "job" }));
    tracing.delivered("worker", [deliveryOf(stored, "l1"), deliveryOf(stored, "l2", 2)], "websocket");
    const [first, second] = spans("bmn.deliver");
    await tracing.ack("l1", undefined, "websocket", () => Promise.resolve());
    const ack = only("bmn.ack");
    expect(ack.parentSpanContext?.spanId).toBe(defined(first).spanContext().spanId);
    expect(ack.attributes).toMatchObject({ "bmn.lease.id": "l1", "messaging.operation.name": "ack" });

    const agentSpan = `00-${"3".repeat(32)}-${"4".repeat(16)}-01`;
    const result = await tracing.nack(
      "l2",
      { reason: "busy", delayMs: 5 },
      { traceparent: agentSpan },
      "http",
      () => Promise.resolve({ outcome: "retry" as const, redeliverAt: 1 }),
    );
    expect(result.outcome).toBe("retry");
    const nack = only("bmn.nack");
    expect(nack.parentSpanContext?.spanId).toBe("4".repeat(16));
    expect(nack.links.map((link) => link.context.spanId)).toEqual([defined(second).spanContext().spanId]);
    expect(nack.attributes).toMatchObject({
      "bmn.nack.reason": "busy",
      "bmn.nack.delay_ms": 5,
      "bmn.nack.outcome": "retry",
      "bmn.delivery.attempt": 2,
    });
  });

  it("makes one ack span per batch ack, linked to each delivery it settles", async () => {
    const stored = await send(createMessage({ to: "worker", type: "job" }));
    tracing.delivered("worker", [deliveryOf(stored, "b1"), deliveryOf(stored, "b2")], "http");
    const delivered = spans("bmn.deliver").map((span) => span.spanContext().spanId);
    const agentSpan = `00-${"5".repeat(32)}-${"6".repeat(16)}-01`;
    const result = await tracing.ackMany(["b1", "b2", "unknown"], { traceparent: agentSpan }, "http", () =>
      Promise.resolve({
        acked: ["b1", "b2"],
        failed: [{ leaseId: "unknown", code: "LEASE_NOT_FOUND" as const }],
      }),
    );
    expect(result.acked).toEqual(["b1", "b2"]);
    const ack = only("bmn.ack");
    expect(ack.parentSpanContext?.spanId).toBe("6".repeat(16));
    expect(ack.links.map((link) => link.context.spanId)).toEqual(delivered);
    expect(ack.attributes).toMatchObject({ "messaging.batch.message_count": 3, "bmn.ack.failed": 1 });
    exporter.reset();
    await tracing.ackMany(["b1"], undefined, "http", () => Promise.resolve({ acked: [], failed: [] }));
    expect(exporter.getFinishedSpans()).toEqual([]);
  });

  it("records a failed ack as an error, and makes no span for a lease it knows nothing of", async () => {
    const stored = await send(createMessage({ to: "worker", type: "job" }));
    tracing.delivered("worker", [deliveryOf(stored, "gone")], "http");
    const expired = new LeaseError("LEASE_EXPIRED", "gone");
    await expect(tracing.ack("gone", undefined, "http", () => Promise.reject(expired))).rejects.toBe(expired);
    expect(only("bmn.ack")).toMatchObject({
      status: { code: SpanStatusCode.ERROR },
      attributes: expect.objectContaining({ "error.type": "LEASE_EXPIRED" }) as unknown,
    });
    exporter.reset();
    await tracing.ack("unknown", undefined, "http", () => Promise.resolve());
    expect(exporter.getFinishedSpans()).toEqual([]);
  });

  it("exports nothing after shutdown", async () => {
    await tracing.shutdown();
    await send(createMessage({ to: "worker", type: "t" }));
    expect(exporter.getFinishedSpans()).toEqual([]);
  });
});

describe("tracing setup", () => {
  it("adds /v1/traces to a bare collector address only", () => {
    expect(tracesUrl("http://collector:4318")).toBe("http://collector:4318/v1/traces");
    expect(tracesUrl("http://collector:4318/")).toBe("http://collector:4318/v1/traces");
    expect(tracesUrl("https://otel.example/custom/traces")).toBe("https://otel.example/custom/traces");
  });

  it("is propagation only without endpoint or processors", async () => {
    const tracing = await createTracing(config);
    expect(tracing).toBeInstanceOf(PropagatingTracing);
    let stored: Message | undefined;
    await tracing.send(createMessage({ to: "a", type: "t" }), undefined, (traced) => {
      stored = traced;
      return Promise.resolve(accepted);
    });
    expect(parseTraceparent(stored?.traceparent)).toBeDefined();
  });

  it("refuses a provider together with processors", async () => {
    const processor = new SimpleSpanProcessor(new InMemorySpanExporter());
    await expect(
      createTracing(config, {
        tracerProvider: { getTracer: () => ({}) as never },
        spanProcessors: [processor],
      }),
    ).rejects.toThrow(TypeError);
  });
});

describe("recent deliveries", () => {
  it("forgets the oldest lease past its capacity and each lease once taken", () => {
    const recent = new RecentDeliveries(2);
    const record = {
      context: { traceId: TRACE_ID, spanId: "1".repeat(16), traceFlags: 1 },
      messageId: "m",
      agent: "a",
      attempt: 1,
    };
    recent.remember("a", record);
    recent.remember("b", record);
    recent.remember("c", record);
    expect(recent.size).toBe(2);
    expect(recent.take("a")).toBeUndefined();
    expect(recent.take("b")).toBe(record);
    expect(recent.take("b")).toBeUndefined();
  });
});
