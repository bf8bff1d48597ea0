import { InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startRedis, type RedisServerHandle } from "../../harness/redis-server.js";
import { GATEWAY_SPAN_NAMES } from "../../../gateway/gateway-tracing.js";
import { eventually, receiveAll, send, startTopology, type Topology } from "./gateway-fixture.js";

describe.each(["memory", "redis"] as const)(
  "gateway: three domains a - b - c, multi-hop, dynamic routes (%s)",
  (backend) => {
    let topology: Topology;
    let redis: RedisServerHandle | undefined;
    const spans = new InMemorySpanExporter();

    beforeAll(async () => {
      if (backend === "redis") redis = await startRedis();
      // c joins later; a and c are not linked: a reaches c only through b.
      topology = await startTopology(
        ["a", "b", "c"],
        [
          ["a", "b"],
          ["b", "c"],
        ],
        {
          deferred: ["a", "b", "c"],
          backend,
          ...(redis === undefined ? {} : { redis: { a: redis, b: redis, c: redis } }),
        },
      );
      for (const domain of ["a", "b"])
        await topology
          .node(domain)
          .startGateway({}, { tracing: { spanProcessors: [new SimpleSpanProcessor(spans)] } });
    });
    afterAll(async () => {
      await topology.close();
      await redis?.cleanup();
    });

    it("learns a route to c through b when c joins, forwards a -> b -> c, and loses it when c's link dies", async () => {
      const a = topology.node("a");
      const c = topology.node("c");
      expect(a.gateway?.routing.route("c")).toBeUndefined();

      await c.startGateway({}, { tracing: { spanProcessors: [new SimpleSpanProcessor(spans)] } });
      const route = await eventually(() => a.gateway?.routing.route("c"), "a's route to c");
      expect(route).toEqual({ domain: "c", hops: 2, nextHop: "b", path: ["b", "c"] });
      const topo = (await (await fetch(`${a.gatewayUrl}/v1/topology`)).json()) as {
        domains: string[];
        links: { peer: string; state: string }[];
      };
      expect(topo.domains).toEqual(["a", "b", "c"]);
      expect(topo.links).toMatchObject([{ peer: "b", state: "up" }]);

      const traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
      const sent = await send(a.sidecar, { to: "carol@c", type: "task", traceparent });
      const [message] = await receiveAll(c.sidecar, "carol", 1);
      expect(message?.id).toBe(sent.body.id);
      expect(message?.bmnvia).toBe("a,b");
      expect(await receiveAll(c.sidecar, "carol", 1, 300)).toEqual([]);

      // The trail of each domain's store shows the hops: a's gateway took it from a's outbox, b's gateway put it
      // into b's outbox and forwarded it, c's gateway delivered it into carol's queue.
      const id = sent.body.id ?? "";
      const actorsIn = async (domain: string) =>
        (await topology.node(domain).store.traceOf(id)).map(
          (event) => `${event.kind}:${event.actor}:${event.agent ?? ""}`,
        );
      await eventually(
        async () => ((await actorsIn("a")).some((e) => e.startsWith("acked:gateway:a/")) ? true : undefined),
        "a's ack",
      );
      expect(await actorsIn("a")).toEqual(
        expect.arrayContaining([
          expect.stringMatching(/^leased:gateway:a\/gw-a:bmn\.out\.c$/),
          "acked:gateway:a/gw-a:bmn.out.c",
        ]),
      );
      await eventually(
        async () => ((await actorsIn("b")).some((e) => e.startsWith("acked:gateway:b/")) ? true : undefined),
        "b's ack",
      );
      expect(await actorsIn("b")).toEqual(
        expect.arrayContaining(["enqueued:gateway:b/gw-b:bmn.out.c", "acked:gateway:b/gw-b:bmn.out.c"]),
      );
      expect(await actorsIn("c")).toEqual(expect.arrayContaining(["enqueued:gateway:c/gw-c:carol"]));

      // OpenTelemetry: one trace, forward (a) -> receive (b) -> forward (b) -> receive (c), each a child of the last.
      const traced = spans
        .getFinishedSpans()
        .filter((span) => span.attributes["messaging.message.id"] === id);
      const chain = traced.map((span) => `${span.name}@${String(span.attributes["bmn.domain"])}`);
      expect(chain).toEqual(
        expect.arrayContaining([
          `${GATEWAY_SPAN_NAMES.forward}@a`,
          `${GATEWAY_SPAN_NAMES.receive}@b`,
          `${GATEWAY_SPAN_NAMES.forward}@b`,
          `${GATEWAY_SPAN_NAMES.receive}@c`,
        ]),
      );
      for (const span of traced) expect(span.spanContext().traceId).toBe("0af7651916cd43dd8448eb211c80319c");
      const forwardA = traced.find(
        (s) => s.name === GATEWAY_SPAN_NAMES.forward && s.attributes["bmn.domain"] === "a",
      );
      const receiveB = traced.find(
        (s) => s.name === GATEWAY_SPAN_NAMES.receive && s.attributes["bmn.domain"] === "b",
      );
      expect(forwardA?.parentSpanContext?.spanId).toBe("b7ad6b7169203331");
      expect(receiveB?.parentSpanContext?.spanId).toBe(forwardA?.spanContext().spanId);
      expect(message?.traceparent).toContain(
        traced
          .find((s) => s.name === GATEWAY_SPAN_NAMES.receive && s.attributes["bmn.domain"] === "c")
          ?.spanContext().spanId ?? "missing",
      );

      // c's gateway dies: b's probes fail, b stops advertising c, and a's route to c vanishes.
      await c.stopGateway();
      await eventually(
        () => (a.gateway?.routing.route("c") === undefined ? true : undefined),
        "a's route to c to vanish",
      );
      expect(a.gateway?.routing.route("b")).toMatchObject({ hops: 1 });
    });

    it("refuses a message whose hop history already holds the receiving domain (loop) as unroutable", async () => {
      const b = topology.node("b");
      const response = await fetch(`${b.gatewayUrl}/v1/gateway/batches`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "bmn-source-domain": "a",
          authorization: "Bearer token-a-b-secret",
        },
        body: JSON.stringify({
          messages: [
            {
              specversion: "1.0",
              id: "0190a5d0-0000-7000-8000-0000000000aa",
              source: "x",
              type: "t",
              to: "z@c",
              bmnvia: "a,b,a",
            },
          ],
        }),
      });
      expect(response.status).toBe(200);
      expect(await response.json()).toMatchObject({ results: [{ status: "refused", reason: "unroutable" }] });
    });
  },
);
