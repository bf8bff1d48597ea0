import { SpanKind, SpanStatusCode } from "@opentelemetry/api";
import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from "@opentelemetry/sdk-trace-base";
import { beforeEach, describe, expect, it } from "vitest";
import { sidecarConfigSchema } from "../../core/config.js";
import { createMessage } from "../../core/envelope.js";
import { GATEWAY_SPAN_NAMES, GatewayTracing } from "../../gateway/gateway-tracing.js";

const config = sidecarConfigSchema.parse({ domain: "alpha" });
const SAMPLED = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
const UNSAMPLED = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00";

const message = (traceparent?: string) =>
  createMessage({ to: "bob@beta", type: "t", ...(traceparent === undefined ? {} : { traceparent }) });

describe("gateway tracing per batch", () => {
  let exporter: InMemorySpanExporter;
  let tracing: GatewayTracing;
  const named = (name: string): ReadableSpan[] =>
    exporter.getFinishedSpans().filter((span) => span.name === name);

  beforeEach(async () => {
    exporter = new InMemorySpanExporter();
    tracing = await GatewayTracing.create(config, { spanProcessors: [new SimpleSpanProcessor(exporter)] });
  });

  it("gives only sampled messages a span of their own and counts the rest in one root span per batch", () => {
    // An invalid traceparent (the all-zero trace id) counts as none, sampled flag or not: it travels on as it came.
    const invalid = "00-00000000000000000000000000000000-00f067aa0ba902b7-01";
    const batch = [message(UNSAMPLED), message(SAMPLED), message(), message(invalid)];
    const traced = tracing.receiveBatch(batch, "beta");
    expect(traced.messages[0]).toBe(batch[0]);
    expect(traced.messages[2]).toBe(batch[2]);
    expect(traced.messages[3]).toBe(batch[3]);
    expect(traced.messages[1]?.traceparent).not.toBe(SAMPLED);
    traced.end(["accepted", "accepted", "duplicate", "accepted"]);

    const [own] = named(GATEWAY_SPAN_NAMES.receive);
    expect(named(GATEWAY_SPAN_NAMES.receive)).toHaveLength(1);
    expect(own?.attributes["messaging.message.id"]).toBe(batch[1]?.id);
    expect(own?.attributes["bmn.gateway.outcome"]).toBe("accepted");
    expect(traced.messages[1]?.traceparent).toBe(
      `00-4bf92f3577b34da6a3ce929d0e0e4736-${own?.spanContext().spanId ?? ""}-01`,
    );
    const [batchSpan] = named(GATEWAY_SPAN_NAMES.receiveBatch);
    expect(named(GATEWAY_SPAN_NAMES.receiveBatch)).toHaveLength(1);
    expect(batchSpan?.kind).toBe(SpanKind.CONSUMER);
    expect(batchSpan?.parentSpanContext).toBeUndefined();
    expect(batchSpan?.attributes).toMatchObject({
      "messaging.system": "bmn",
      "bmn.domain": "alpha",
      "bmn.gateway.peer": "beta",
      "messaging.batch.message_count": 3,
      "bmn.gateway.outcome": "mixed",
      "bmn.gateway.accepted": 2,
      "bmn.gateway.duplicate": 1,
    });
  });

  it("ends every span of a failed forward with the error, and makes no batch span when all are sampled", () => {
    const failed = tracing.forwardBatch([message(), message(UNSAMPLED)], "beta", "gamma");
    failed.end("failed", "connection refused");
    const [batchSpan] = named(GATEWAY_SPAN_NAMES.forwardBatch);
    expect(batchSpan?.kind).toBe(SpanKind.PRODUCER);
    expect(batchSpan?.status).toEqual({ code: SpanStatusCode.ERROR, message: "connection refused" });
    expect(batchSpan?.attributes).toMatchObject({
      "bmn.gateway.destination": "gamma",
      "messaging.batch.message_count": 2,
      "bmn.gateway.outcome": "failed",
    });
    expect(named(GATEWAY_SPAN_NAMES.forward)).toEqual([]);

    exporter.reset();
    tracing.forwardBatch([message(SAMPLED)], "beta", "gamma").end(["accepted"]);
    expect(named(GATEWAY_SPAN_NAMES.forward)).toHaveLength(1);
    expect(named(GATEWAY_SPAN_NAMES.forwardBatch)).toEqual([]);
  });

  it("passes every message unchanged without a tracer", async () => {
    const off = await GatewayTracing.create(config);
    expect(off.enabled).toBe(false);
    const batch = [message(SAMPLED), message()];
    const traced = off.forwardBatch(batch, "beta", "gamma");
    expect(traced.messages).toEqual(batch);
    expect(traced.messages[0]).toBe(batch[0]);
    traced.end("accepted");
  });
});
