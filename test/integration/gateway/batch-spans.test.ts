import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from "@opentelemetry/sdk-trace-base";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createMessage, type Message } from "../../../core/envelope.js";
import { outboxQueueName, type DomainName } from "../../../core/names.js";
import { GATEWAY_SPAN_NAMES } from "../../../gateway/gateway-tracing.js";
import { counter, eventually, receiveAll, startTopology, type Topology } from "./gateway-fixture.js";

const OUTBOX = outboxQueueName("b" as DomainName);
const SAMPLED = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
const unsampled = (n: number): string =>
  `00-4bf92f3577b34da6a3ce929d0e0e47${String(40 + n)}-00f067aa0ba902b${n}-00`;

describe("gateway: spans per batch unless a message is sampled (a - b)", () => {
  let topology: Topology;
  const spans = new InMemorySpanExporter();
  const tracing = { tracing: { spanProcessors: [new SimpleSpanProcessor(spans)] } };

  beforeAll(async () => {
    topology = await startTopology(["a", "b"], [["a", "b"]], { deferred: ["a", "b"] });
    await topology.node("b").startGateway({}, tracing);
  });
  afterAll(async () => {
    await topology.close();
  });

  it("gives a sampled message its own spans and the others of its batch one span per batch, their traceparent unchanged", async () => {
    const a = topology.node("a");
    const b = topology.node("b");
    // Straight into a's outbox, past the sidecar (which would give a message without a traceparent a sampled one),
    // before a's gateway starts: its forwarder then finds them all waiting.
    const sampled = createMessage({ to: "bob@b", type: "task", traceparent: SAMPLED });
    const quiet = [
      ...[1, 2, 3].map((n) => createMessage({ to: "bob@b", type: "task", traceparent: unsampled(n) })),
      ...[1, 2].map(() => createMessage({ to: "bob@b", type: "task" })),
    ];
    await a.store.enqueueMany([sampled, ...quiet].map((message) => ({ queue: OUTBOX, message })));
    const gateway = await a.startGateway({}, tracing);

    const received = new Map(
      (await receiveAll(b.sidecar, "bob", quiet.length + 1)).map((message) => [message.id, message]),
    );
    expect([...received.keys()].sort()).toEqual([sampled, ...quiet].map((message) => message.id).sort());
    // a's forward spans end when b answers, which may be after bob has the messages.
    const settled = (name: string, domain: string): ReadableSpan[] =>
      finished(spans, name, domain, { "bmn.gateway.outcome": "accepted" });
    const countOf = (batch: ReadableSpan[]): number =>
      batch.reduce((sum, span) => sum + Number(span.attributes["messaging.batch.message_count"]), 0);
    await eventually(
      () =>
        countOf(settled(GATEWAY_SPAN_NAMES.forwardBatch, "a")) >= quiet.length &&
        countOf(settled(GATEWAY_SPAN_NAMES.receiveBatch, "b")) >= quiet.length &&
        settled(GATEWAY_SPAN_NAMES.forward, "a").length > 0
          ? true
          : undefined,
      "the batch spans of both gateways",
    );

    // The unsampled and untraced messages: no span of their own, and they arrive as they left.
    const quietIds = new Set<string>(quiet.map((message) => message.id));
    const perMessage = spans
      .getFinishedSpans()
      .filter((span) => quietIds.has(String(span.attributes["messaging.message.id"])));
    expect(perMessage).toEqual([]);
    for (const message of quiet) {
      const arrived = received.get(message.id);
      expect(arrived?.traceparent).toBe(message.traceparent);
      if (message.traceparent === undefined) expect(arrived).not.toHaveProperty("traceparent");
    }

    // One batch span per send that carried them, counting every one of them once: the forwarder could split
    // them across sends (a 413 halves a batch), so count sends rather than assume a single one.
    const forwardBatches = settled(GATEWAY_SPAN_NAMES.forwardBatch, "a");
    const receiveBatches = settled(GATEWAY_SPAN_NAMES.receiveBatch, "b");
    expect(countOf(forwardBatches)).toBe(quiet.length);
    expect(countOf(receiveBatches)).toBe(quiet.length);
    expect(forwardBatches.length).toBeGreaterThanOrEqual(1);
    expect(forwardBatches.length).toBeLessThanOrEqual(
      await counter(gateway, "bmn_gateway_forward_attempts_total", { peer: "b" }),
    );
    expect(receiveBatches.length).toBe(forwardBatches.length);
    // Root spans (the batch mixes traces), counting their messages' outcomes.
    const expectBatch = (span: ReadableSpan, attributes: Record<string, string>): void => {
      expect(span.parentSpanContext).toBeUndefined();
      expect(span.attributes).toMatchObject({
        "messaging.system": "bmn",
        ...attributes,
        "bmn.gateway.accepted": span.attributes["messaging.batch.message_count"],
      });
      expect(span.attributes).not.toHaveProperty("bmn.gateway.duplicate");
    };
    for (const span of forwardBatches)
      expectBatch(span, { "bmn.domain": "a", "bmn.gateway.peer": "b", "bmn.gateway.destination": "b" });
    for (const span of receiveBatches) expectBatch(span, { "bmn.domain": "b", "bmn.gateway.peer": "a" });

    // The sampled message: forward (a) -> receive (b), each the child of the last, and it arrives stamped with b's.
    const own = (name: string, domain: string): ReadableSpan | undefined =>
      finished(spans, name, domain, { "messaging.message.id": sampled.id })[0];
    const forwardA = own(GATEWAY_SPAN_NAMES.forward, "a");
    const receiveB = own(GATEWAY_SPAN_NAMES.receive, "b");
    expect(forwardA?.parentSpanContext?.spanId).toBe("00f067aa0ba902b7");
    expect(receiveB?.parentSpanContext?.spanId).toBe(forwardA?.spanContext().spanId);
    expect(receiveB?.spanContext().traceId).toBe("4bf92f3577b34da6a3ce929d0e0e4736");
    expect(received.get(sampled.id)?.traceparent).toBe(
      `00-4bf92f3577b34da6a3ce929d0e0e4736-${receiveB?.spanContext().spanId ?? "missing"}-01`,
    );
  });

  it("makes no batch span for a batch whose messages are all sampled", async () => {
    const a = topology.node("a");
    const b = topology.node("b");
    spans.reset();
    const message: Message = createMessage({ to: "bob@b", type: "task", traceparent: SAMPLED });
    await a.store.enqueueMany([{ queue: OUTBOX, message }]);
    expect((await receiveAll(b.sidecar, "bob", 1)).map((arrived) => arrived.id)).toEqual([message.id]);
    await eventually(
      () =>
        finished(spans, GATEWAY_SPAN_NAMES.forward, "a", { "messaging.message.id": message.id }).length > 0
          ? true
          : undefined,
      "a's forward span",
    );
    const names = spans.getFinishedSpans().map((span) => span.name);
    expect(names).not.toContain(GATEWAY_SPAN_NAMES.forwardBatch);
    expect(names).not.toContain(GATEWAY_SPAN_NAMES.receiveBatch);
  });
});

/** The finished spans called `name` that `domain`'s gateway made, with (at least) `attributes`. */
function finished(
  exporter: InMemorySpanExporter,
  name: string,
  domain: string,
  attributes: Record<string, string>,
): ReadableSpan[] {
  return exporter
    .getFinishedSpans()
    .filter(
      (span) =>
        span.name === name &&
        span.attributes["bmn.domain"] === domain &&
        Object.entries(attributes).every(([key, value]) => span.attributes[key] === value),
    );
}
