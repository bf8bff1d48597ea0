import { describe, expect, it } from "vitest";
import { loadConfig } from "../../../runtime/config/load-config.js";
import { startSidecar } from "../../../sidecar/start-sidecar.js";
import { InMemoryStore } from "../../../store/memory/memory-store.js";
import { RedisStore } from "../../../store/redis/redis-store.js";
import { waitFor } from "../../conformance/helpers.js";
import { startRedis } from "../../harness/redis-server.js";
import { BACKENDS, http, useSidecar } from "./sidecar-fixture.js";

interface Delivery {
  leaseId: string;
  attempt: number;
  leaseExpiresAt: number;
  message: { id: string; data?: unknown };
}
interface Deliveries {
  deliveries: Delivery[];
}

describe.each(BACKENDS)("sidecar deliveries over HTTP (%s)", (backend) => {
  const fixture = useSidecar(backend, { backoffBaseMs: 10, backoffMaxMs: 20 });
  const send = async (to: string, data: unknown = null) =>
    (await http<{ id: string }>(fixture.url, "POST", "/v1/messages", { json: { to, type: "t", data } })).body
      .id;
  const receive = (agent: string, query = "max=10") =>
    http<Deliveries>(fixture.url, "GET", `/v1/agents/${agent}/messages?${query}`);

  it("long-polls: a waiting GET answers as soon as a message is sent", async () => {
    const waiting = receive("lp", "max=1&wait=10");
    const id = await send("lp");
    const { status, body } = await waiting;
    expect(status).toBe(200);
    expect(body.deliveries.map((delivery) => delivery.message.id)).toEqual([id]);
  });

  it("answers an empty list once the wait is over", async () => {
    const started = Date.now();
    const { status, body } = await receive("empty", "wait=0.2");
    expect({ status, body }).toEqual({ status: 200, body: { deliveries: [] } });
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
  });

  it("acks with 204; a double ack is 404 LEASE_NOT_FOUND", async () => {
    await send("acker");
    const [delivery] = (await receive("acker")).body.deliveries;
    expect((await http(fixture.url, "POST", `/v1/deliveries/${delivery?.leaseId ?? ""}/ack`)).status).toBe(
      204,
    );
    expect(await http(fixture.url, "POST", `/v1/deliveries/${delivery?.leaseId ?? ""}/ack`)).toMatchObject({
      status: 404,
      body: { errorCode: "LEASE_NOT_FOUND", field: "leaseId" },
    });
  });

  it("acks many leases in one POST /v1/deliveries:ack; leases that no longer hold fail alone", async () => {
    for (let index = 0; index < 3; index++) await send("many-acker", index);
    const leases = (await receive("many-acker")).body.deliveries.map((delivery) => delivery.leaseId);
    expect(leases).toHaveLength(3);
    const [first, second, third] = leases as [string, string, string];
    expect((await http(fixture.url, "POST", `/v1/deliveries/${first}/ack`)).status).toBe(204);
    const outbox = "bmn.out.b.01a24ef8-bc2a-7005-9822-9490b92413b2.1";
    const answer = await http(fixture.url, "POST", "/v1/deliveries:ack", {
      json: { leaseIds: [first, second, "not-a-lease", outbox, third] },
    });
    expect(answer).toMatchObject({
      status: 200,
      body: {
        acked: [second, third],
        failed: [
          { leaseId: first, code: "LEASE_NOT_FOUND" },
          { leaseId: "not-a-lease", code: "LEASE_NOT_FOUND" },
          { leaseId: outbox, code: "LEASE_NOT_FOUND" },
        ],
      },
    });
    // Settled: nothing comes back after the lease would have lapsed.
    expect((await receive("many-acker", "max=10&wait=0")).body.deliveries).toEqual([]);
    const stats = await http<{ inFlight: number; depth: number }>(
      fixture.url,
      "GET",
      "/v1/agents/many-acker/stats",
    );
    expect(stats.body).toMatchObject({ inFlight: 0, depth: 0 });
  });

  it("refuses an empty or oversized batch ack with 400 naming leaseIds", async () => {
    for (const leaseIds of [[], Array.from({ length: 1_001 }, (_, index) => `a.${index}.1`)]) {
      expect(await http(fixture.url, "POST", "/v1/deliveries:ack", { json: { leaseIds } })).toMatchObject({
        status: 400,
        body: { field: "leaseIds" },
      });
    }
  });

  it("nack redelivers with a higher attempt; nack with deadLetter sends it to the DLQ", async () => {
    const id = await send("nacker");
    const first = (await receive("nacker")).body.deliveries[0];
    expect(
      (
        await http(fixture.url, "POST", `/v1/deliveries/${first?.leaseId ?? ""}/nack`, {
          json: { delayMs: 0, reason: "busy" },
        })
      ).status,
    ).toBe(204);
    const second = (await receive("nacker", "wait=5")).body.deliveries[0];
    expect(second).toMatchObject({ attempt: 2, message: { id } });
    await http(fixture.url, "POST", `/v1/deliveries/${second?.leaseId ?? ""}/nack`, {
      json: { deadLetter: true, reason: "poison" },
    });
    const dlq = await http<{ deadLetters: { reason: string; lastError: string; attempts: unknown[] }[] }>(
      fixture.url,
      "GET",
      "/v1/dlq?agent=nacker",
    );
    expect(dlq.body.deadLetters).toMatchObject([{ reason: "rejected", lastError: "poison" }]);
    expect(dlq.body.deadLetters[0]?.attempts).toHaveLength(2);
  });

  it("an expired lease answers 409 LEASE_EXPIRED and the message is redelivered", async () => {
    const id = await send("slow");
    const first = (await receive("slow", "max=1&lease=0.1")).body.deliveries[0];
    // Waiting for the redelivery is what proves the lease ran out.
    const second = (await receive("slow", "max=1&wait=5")).body.deliveries[0];
    expect(second).toMatchObject({ attempt: 2, message: { id } });
    expect(await http(fixture.url, "POST", `/v1/deliveries/${first?.leaseId ?? ""}/ack`)).toMatchObject({
      status: 409,
      body: { errorCode: "LEASE_EXPIRED" },
    });
    expect((await http(fixture.url, "POST", `/v1/deliveries/${second?.leaseId ?? ""}/ack`)).status).toBe(204);
  });

  it("graceful shutdown answers waiting long-polls with [] instead of holding the close up", async () => {
    const sidecar = await fixture.another();
    const polling = http<Deliveries>(sidecar.url, "GET", "/v1/agents/parked/messages?wait=60");
    // The poll is parked once the store has a waiter; the stats call round-trips after the poll was read.
    await http(sidecar.url, "GET", "/v1/agents/parked/stats");
    // With a 60 s poll held open, this close would only return once the test timed out.
    await sidecar.close();
    expect(await polling).toMatchObject({ status: 200, body: { deliveries: [] } });
  });

  it("extends a lease", async () => {
    await send("extender");
    const delivery = (await receive("extender", "max=1&lease=1")).body.deliveries[0];
    const extended = await http<{ leaseExpiresAt: number }>(
      fixture.url,
      "POST",
      `/v1/deliveries/${delivery?.leaseId ?? ""}/extend`,
      {
        json: { leaseMs: 60_000 },
      },
    );
    expect(extended.status).toBe(200);
    expect(extended.body.leaseExpiresAt).toBeGreaterThan(Date.now() + 50_000);
  });

  it.runIf(backend === "redis")(
    "answers 503 STORE_UNAVAILABLE with Retry-After when Redis is down, and recovers",
    async () => {
      const redis = await startRedis({ appendOnly: true, appendFsyncAlways: true });
      const store = await RedisStore.connect({ url: redis.url }, { commandTimeoutMs: 300 });
      const running = await startSidecar(loadConfig({ port: 0 }, {}), { store, logger: false });
      try {
        const accepted = await http<{ id: string }>(running.url, "POST", "/v1/messages", {
          json: { to: "survivor", type: "t" },
        });
        expect(accepted.status).toBe(202);
        await redis.stop();
        const refused = await http(running.url, "POST", "/v1/messages", {
          json: { to: "survivor", type: "t" },
        });
        expect(refused).toMatchObject({ status: 503, body: { errorCode: "STORE_UNAVAILABLE" } });
        expect(Number(refused.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
        expect((await http(running.url, "GET", "/readyz")).status).toBe(503);
        expect((await http(running.url, "GET", "/healthz")).status).toBe(200);
        await redis.start();
        await waitFor(
          async () => (await http(running.url, "GET", "/readyz")).status === 200,
          20_000,
          "readyz after Redis returned",
        );
        const { body } = await http<Deliveries>(running.url, "GET", "/v1/agents/survivor/messages?max=10");
        expect(body.deliveries.map((delivery) => delivery.message.id)).toEqual([accepted.body.id]);
      } finally {
        await running.close();
        await redis.cleanup();
      }
    },
  );

  it("answers 429 OVERLOADED with Retry-After beyond the in-flight limit, and serves again once slots free", async () => {
    // Sends park in the store until the gate opens, so exactly maxInFlight + maxQueued requests get a slot.
    let openGate: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      openGate = resolve;
    });
    class GatedStore extends InMemoryStore {
      override async enqueue(
        ...args: Parameters<InMemoryStore["enqueue"]>
      ): ReturnType<InMemoryStore["enqueue"]> {
        await gate;
        return super.enqueue(...args);
      }
    }
    const config = loadConfig({ port: 0, limits: { maxInFlight: 2, maxQueued: 1 } }, {});
    const running = await startSidecar(config, { store: new GatedStore(), logger: false });
    try {
      const post = () => http(running.url, "POST", "/v1/messages", { json: { to: "busy", type: "t" } });
      const answers = Array.from({ length: 6 }, post);
      const refused: Awaited<ReturnType<typeof post>>[] = [];
      // The three without a slot are refused at once, while the other three are still parked.
      await new Promise<void>((resolve) => {
        for (const answer of answers) {
          void answer.then((result) => {
            if (result.status === 429) refused.push(result);
            if (refused.length === 3) resolve();
          });
        }
      });
      expect(refused[0]).toMatchObject({ status: 429, body: { errorCode: "OVERLOADED" } });
      expect(Number(refused[0]?.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
      openGate();
      const statuses = (await Promise.all(answers)).map((answer) => answer.status).sort();
      expect(statuses).toEqual([202, 202, 202, 429, 429, 429]);
      expect((await post()).status).toBe(202);
      const { body } = await http<Deliveries>(running.url, "GET", "/v1/agents/busy/messages?max=100");
      expect(body.deliveries).toHaveLength(4);
    } finally {
      openGate();
      await running.close();
    }
  });
});
