import { createServer, type Server } from "node:http";
import { gunzipSync } from "node:zlib";
import { SpanKind } from "@opentelemetry/api";
import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from "@opentelemetry/sdk-trace-base";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { loadConfig } from "../../../runtime/config/load-config.js";
import { startSidecar, type RunningSidecar } from "../../../sidecar/start-sidecar.js";
import { InMemoryStore } from "../../../store/memory/memory-store.js";
import { RedisStore } from "../../../store/redis/redis-store.js";
import type { MessageStore } from "../../../store/store.js";
import { startRedis, type RedisServerHandle } from "../../harness/redis-server.js";
import { BACKENDS, http, type Backend } from "./sidecar-fixture.js";

interface DeliveredMessage {
  id: string;
  traceparent?: string;
  tracestate?: string;
}
interface Deliveries {
  deliveries: { leaseId: string; attempt: number; message: DeliveredMessage }[];
}

const TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736";
const SENDER_SPAN = "00f067aa0ba902b7";
const SENDER = `00-${TRACE_ID}-${SENDER_SPAN}-01`;

function defined<T>(value: T | undefined, what = "a value"): T {
  if (value === undefined) throw new Error(`expected ${what}`);
  return value;
}

const traceparentOf = (span: ReadableSpan): string =>
  `00-${span.spanContext().traceId}-${span.spanContext().spanId}-01`;

/** A sidecar on `backend` recording its spans in memory, for one describe block. */
function useTracedSidecar(backend: Backend) {
  const exporter = new InMemorySpanExporter();
  let redis: RedisServerHandle | undefined;
  let sidecar: RunningSidecar | undefined;

  beforeAll(async () => {
    let store: MessageStore;
    if (backend === "memory") {
      store = new InMemoryStore();
    } else {
      redis = await startRedis();
      store = await RedisStore.connect({ url: redis.url }, { keyPrefix: "tracing:" });
    }
    sidecar = await startSidecar(loadConfig({ port: 0, logLevel: "silent", domain: "alpha" }, {}), {
      store,
      logger: false,
      tracing: { spanProcessors: [new SimpleSpanProcessor(exporter)] },
    });
  });
  afterAll(async () => {
    await sidecar?.close();
    await redis?.cleanup();
  });
  beforeEach(() => {
    exporter.reset();
  });

  const running = () => defined(sidecar, "a running sidecar");
  return {
    get url() {
      return running().url;
    },
    /** The finished spans named `name`, after flushing. */
    async spans(name: string): Promise<ReadableSpan[]> {
      await running().tracing.forceFlush();
      return exporter.getFinishedSpans().filter((span) => span.name === name);
    },
    async span(name: string): Promise<ReadableSpan> {
      const found = await this.spans(name);
      expect(found).toHaveLength(1);
      return defined(found[0]);
    },
  };
}

describe.each(BACKENDS)("sidecar tracing (%s)", (backend) => {
  const fixture = useTracedSidecar(backend);
  const send = async (message: Record<string, unknown>, headers: Record<string, string> = {}) => {
    const answer = await http<{ id: string }>(fixture.url, "POST", "/v1/messages", {
      json: message,
      headers,
    });
    expect(answer.status).toBe(202);
    return answer.body.id;
  };
  const receive = async (agent: string) => {
    const { body } = await http<Deliveries>(fixture.url, "GET", `/v1/agents/${agent}/messages?max=10`);
    return body.deliveries;
  };

  it("starts a trace for a message without traceparent, and the delivery continues it", async () => {
    const id = await send({ to: "t1", type: "job", priority: 6 });
    const sent = await fixture.span("bmn.send");
    expect(sent.kind).toBe(SpanKind.PRODUCER);
    expect(sent.parentSpanContext).toBeUndefined();
    expect(sent.attributes).toMatchObject({
      "messaging.message.id": id,
      "bmn.message.type": "job",
      "messaging.destination.name": "t1",
      "bmn.domain": "alpha",
      "bmn.priority": 6,
    });

    const [delivery] = await receive("t1");
    expect(delivery?.message.traceparent).toBe(traceparentOf(sent));
    const deliver = await fixture.span("bmn.deliver");
    expect(deliver.kind).toBe(SpanKind.CONSUMER);
    expect(deliver.spanContext().traceId).toBe(sent.spanContext().traceId);
    expect(deliver.parentSpanContext?.spanId).toBe(sent.spanContext().spanId);
    expect(deliver.attributes).toMatchObject({
      "messaging.message.id": id,
      "bmn.delivery.attempt": 1,
      "bmn.lease.id": delivery?.leaseId,
      "bmn.transport": "http",
    });
  });

  it("continues a sender's traceparent end to end, tracestate included", async () => {
    await send({ to: "t2", type: "job", traceparent: SENDER, tracestate: "vendor=1" });
    const sent = await fixture.span("bmn.send");
    expect(sent.spanContext().traceId).toBe(TRACE_ID);
    expect(sent.parentSpanContext?.spanId).toBe(SENDER_SPAN);

    const [delivery] = await receive("t2");
    expect(delivery?.message).toMatchObject({ traceparent: traceparentOf(sent), tracestate: "vendor=1" });
    const deliver = await fixture.span("bmn.deliver");
    expect(deliver.spanContext().traceId).toBe(TRACE_ID);
    expect(deliver.parentSpanContext?.spanId).toBe(sent.spanContext().spanId);
  });

  it("takes the HTTP traceparent header as parent when the message has none", async () => {
    await send({ to: "t3", type: "job" }, { traceparent: SENDER });
    const sent = await fixture.span("bmn.send");
    expect(sent.parentSpanContext?.spanId).toBe(SENDER_SPAN);
    const [delivery] = await receive("t3");
    expect(delivery?.message.traceparent).toBe(traceparentOf(sent));
  });

  it("traces binary-mode and batched sends each in their own span", async () => {
    const binary = await http(fixture.url, "POST", "/v1/messages", {
      body: "raw",
      headers: { "content-type": "text/plain", "ce-type": "blob", "ce-to": "t4", "ce-traceparent": SENDER },
    });
    expect(binary.status).toBe(202);
    const batch = await http(fixture.url, "POST", "/v1/messages:batch", {
      json: {
        messages: [
          { to: "t4", type: "a" },
          { topic: "nobody.listens", type: "b" },
        ],
      },
      headers: { traceparent: SENDER },
    });
    expect(batch.status).toBe(202);
    const sends = await fixture.spans("bmn.send");
    expect(sends).toHaveLength(3);
    for (const span of sends) expect(span.parentSpanContext?.spanId).toBe(SENDER_SPAN);
    expect(sends.map((span) => span.attributes["messaging.destination.name"])).toEqual([
      "t4",
      "t4",
      "nobody.listens",
    ]);
    expect(sends[2]?.attributes["bmn.recipients"]).toBe(0);
    const deliveries = await receive("t4");
    expect(deliveries.map((delivery) => delivery.message.traceparent)).toEqual(
      sends.slice(0, 2).map(traceparentOf),
    );
  });

  it("ties ack and nack spans to the delivery's span", async () => {
    await send({ to: "t5", type: "a" });
    await send({ to: "t5", type: "b" });
    const [first, second] = await receive("t5");
    const [deliverFirst, deliverSecond] = await fixture.spans("bmn.deliver");
    expect((await http(fixture.url, "POST", `/v1/deliveries/${defined(first).leaseId}/ack`)).status).toBe(
      204,
    );
    const agentSpan = `00-${TRACE_ID}-${"5".repeat(16)}-01`;
    const nacked = await http(fixture.url, "POST", `/v1/deliveries/${defined(second).leaseId}/nack`, {
      json: { reason: "busy", delayMs: 0 },
      headers: { traceparent: agentSpan },
    });
    expect(nacked.status).toBe(204);

    const ack = await fixture.span("bmn.ack");
    expect(ack.parentSpanContext?.spanId).toBe(defined(deliverFirst).spanContext().spanId);
    expect(ack.spanContext().traceId).toBe(defined(deliverFirst).spanContext().traceId);
    const nack = await fixture.span("bmn.nack");
    expect(nack.parentSpanContext?.spanId).toBe("5".repeat(16));
    expect(nack.links.map((link) => link.context.spanId)).toEqual([
      defined(deliverSecond).spanContext().spanId,
    ]);
    expect(nack.attributes).toMatchObject({ "bmn.nack.reason": "busy", "bmn.nack.outcome": "retry" });

    // The redelivery is a new deliver span in the same trace, with the next attempt number.
    const [again] = await receive("t5");
    expect(again?.attempt).toBe(2);
    const redelivered = (await fixture.spans("bmn.deliver")).at(-1);
    expect(redelivered?.attributes["bmn.delivery.attempt"]).toBe(2);
    expect(redelivered?.parentSpanContext?.spanId).toBe(defined(deliverSecond).parentSpanContext?.spanId);
  });

  it("traces WebSocket pushes and acks over the socket", async () => {
    await send({ to: "t6", type: "job", traceparent: SENDER });
    const socket = new WebSocket(`${fixture.url.replace("http", "ws")}/v1/agents/t6/stream`);
    const frames: { type: string; leaseId?: string; message?: DeliveredMessage }[] = [];
    const waiters: (() => void)[] = [];
    socket.on("message", (raw: Buffer) => {
      frames.push(JSON.parse(raw.toString("utf8")) as (typeof frames)[number]);
      waiters.shift()?.();
    });
    const nextFrame = async () => {
      if (frames.length === 0) {
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => {
            reject(new Error("no frame within 5 s"));
          }, 5_000);
          waiters.push(() => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
      return defined(frames.shift());
    };
    try {
      await new Promise((resolve, reject) => socket.once("open", resolve).once("error", reject));
      socket.send(JSON.stringify({ type: "credit", n: 1 }));
      const delivery = await nextFrame();
      expect(delivery.type).toBe("delivery");
      socket.send(JSON.stringify({ type: "ack", leaseId: delivery.leaseId }));
      expect(await nextFrame()).toMatchObject({ type: "acked", leaseId: delivery.leaseId });

      const sent = await fixture.span("bmn.send");
      expect(delivery.message?.traceparent).toBe(traceparentOf(sent));
      const deliver = await fixture.span("bmn.deliver");
      expect(deliver.attributes).toMatchObject({
        "bmn.transport": "websocket",
        "bmn.lease.id": delivery.leaseId,
      });
      expect(deliver.spanContext().traceId).toBe(TRACE_ID);
      expect(deliver.parentSpanContext?.spanId).toBe(sent.spanContext().spanId);
      const ack = await fixture.span("bmn.ack");
      expect(ack.parentSpanContext?.spanId).toBe(deliver.spanContext().spanId);
    } finally {
      socket.close();
    }
  });
});

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
}
interface OtlpRequest {
  resourceSpans: {
    resource: { attributes: { key: string; value: { stringValue?: string } }[] };
    scopeSpans: { spans: OtlpSpan[] }[];
  }[];
}

/** A minimal OTLP/HTTP collector: keeps every JSON export request POSTed to /v1/traces. */
async function startCollector(): Promise<{ url: string; requests: OtlpRequest[]; server: Server }> {
  const requests: OtlpRequest[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      if (request.method !== "POST" || request.url !== "/v1/traces") {
        response.writeHead(404).end();
        return;
      }
      let body = Buffer.concat(chunks);
      if (request.headers["content-encoding"] === "gzip") body = gunzipSync(body);
      if (!String(request.headers["content-type"]).startsWith("application/json")) {
        response.writeHead(415).end();
        return;
      }
      requests.push(JSON.parse(body.toString("utf8")) as OtlpRequest);
      response.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("collector has no port");
  return { url: `http://127.0.0.1:${address.port}`, requests, server };
}

describe("OTLP/HTTP export to a collector", () => {
  let collector: Awaited<ReturnType<typeof startCollector>>;
  let sidecar: RunningSidecar;

  beforeAll(async () => {
    collector = await startCollector();
    const config = loadConfig(
      { port: 0, logLevel: "silent" },
      { BMN_OTEL_ENDPOINT: `${collector.url}/v1/traces` },
    );
    sidecar = await startSidecar(config, { store: new InMemoryStore(), logger: false });
  });
  afterAll(async () => {
    await sidecar.close();
    await new Promise((resolve) => collector.server.close(resolve));
  });

  it("exports the send and deliver spans of one trace, as JSON, on flush", async () => {
    expect(sidecar.tracing.enabled).toBe(true);
    const sent = await http<{ id: string }>(sidecar.url, "POST", "/v1/messages", {
      json: { to: "otlp", type: "job", traceparent: SENDER },
    });
    expect(sent.status).toBe(202);
    const { body } = await http<Deliveries>(sidecar.url, "GET", "/v1/agents/otlp/messages");
    const traceparent = defined(body.deliveries[0]?.message.traceparent, "a traceparent");
    await sidecar.tracing.forceFlush();

    const spans = collector.requests.flatMap((request) =>
      request.resourceSpans.flatMap((resource) => resource.scopeSpans.flatMap((scope) => scope.spans)),
    );
    const send = defined(
      spans.find((span) => span.name === "bmn.send"),
      "a bmn.send span",
    );
    const deliver = defined(
      spans.find((span) => span.name === "bmn.deliver"),
      "a bmn.deliver span",
    );
    expect(send).toMatchObject({ traceId: TRACE_ID, parentSpanId: SENDER_SPAN, kind: SpanKind.PRODUCER + 1 });
    expect(traceparent).toBe(`00-${TRACE_ID}-${send.spanId}-01`);
    expect(deliver).toMatchObject({
      traceId: TRACE_ID,
      parentSpanId: send.spanId,
      kind: SpanKind.CONSUMER + 1,
    });
    const resource = collector.requests[0]?.resourceSpans[0]?.resource.attributes ?? [];
    expect(resource).toContainEqual({ key: "service.name", value: { stringValue: "bmn-sidecar" } });
  });
});
