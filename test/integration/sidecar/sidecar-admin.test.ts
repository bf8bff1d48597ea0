import { describe, expect, it } from "vitest";
import { BACKENDS, http, useSidecar } from "./sidecar-fixture.js";

interface Delivery {
  leaseId: string;
  attempt: number;
  message: { id: string; type: string };
}
interface Deliveries {
  deliveries: Delivery[];
}

describe.each(BACKENDS)("sidecar admin routes over HTTP (%s)", (backend) => {
  const fixture = useSidecar(backend);
  const send = async (json: Record<string, unknown>, query = "") =>
    http<{ id: string }>(fixture.url, "POST", `/v1/messages${query}`, { json: { type: "t", ...json } });
  const receive = (agent: string) =>
    http<Deliveries>(fixture.url, "GET", `/v1/agents/${agent}/messages?max=100`);

  it("creates, lists and deletes subscriptions", async () => {
    expect(
      await http(fixture.url, "POST", "/v1/agents/s1/subscriptions", { json: { pattern: "a.*" } }),
    ).toMatchObject({
      status: 201,
      body: { agent: "s1", pattern: "a.*" },
    });
    await http(fixture.url, "POST", "/v1/agents/s1/subscriptions", { json: { pattern: "b.#" } });
    expect((await http(fixture.url, "GET", "/v1/agents/s1/subscriptions")).body).toEqual({
      subscriptions: [
        { agent: "s1", pattern: "a.*" },
        { agent: "s1", pattern: "b.#" },
      ],
    });
    expect((await http(fixture.url, "DELETE", "/v1/agents/s1/subscriptions?pattern=a.*")).status).toBe(204);
    expect(await http(fixture.url, "DELETE", "/v1/agents/s1/subscriptions?pattern=a.*")).toMatchObject({
      status: 404,
      body: { errorCode: "NOT_FOUND" },
    });
    expect(
      await http(fixture.url, "POST", "/v1/agents/s1/subscriptions", { json: { pattern: "a..b" } }),
    ).toMatchObject({
      status: 400,
      body: { errorCode: "INVALID_ARGUMENT", field: "pattern" },
    });
  });

  it("registers agents, finds them by capability, heartbeats and deregisters", async () => {
    const registered = await http<{ name: string; expiresAt: number }>(
      fixture.url,
      "PUT",
      "/v1/agents/reviewer",
      {
        json: { capabilities: ["code-review", "python"], metadata: { team: "a" }, ttlSeconds: 60 },
      },
    );
    expect(registered).toMatchObject({
      status: 200,
      body: { name: "reviewer", capabilities: ["code-review", "python"], metadata: { team: "a" } },
    });
    await http(fixture.url, "PUT", "/v1/agents/writer", { json: { capabilities: ["docs"] } });
    const found = await http<{ agents: { name: string }[] }>(
      fixture.url,
      "GET",
      "/v1/agents?capability=python",
    );
    expect(found.body.agents.map((agent) => agent.name)).toEqual(["reviewer"]);
    const beat = await http<{ expiresAt: number }>(fixture.url, "POST", "/v1/agents/reviewer/heartbeat", {
      json: { ttlSeconds: 600 },
    });
    expect(beat.body.expiresAt).toBeGreaterThan(registered.body.expiresAt);
    expect(await http(fixture.url, "POST", "/v1/agents/ghost/heartbeat")).toMatchObject({
      status: 404,
      body: { errorCode: "NOT_FOUND" },
    });
    expect((await http(fixture.url, "DELETE", "/v1/agents/writer")).status).toBe(204);
    expect((await http(fixture.url, "DELETE", "/v1/agents/writer")).status).toBe(404);
    expect(
      await http(fixture.url, "PUT", "/v1/agents/x", { json: { capabilities: ["has space"] } }),
    ).toMatchObject({
      status: 400,
      body: { errorCode: "INVALID_ARGUMENT", field: "capabilities.0" },
    });
  });

  it("reports queue stats per agent and for all queues", async () => {
    await send({ to: "counted" });
    await send({ to: "counted" });
    await http(fixture.url, "GET", "/v1/agents/counted/messages?max=1");
    expect((await http(fixture.url, "GET", "/v1/agents/counted/stats")).body).toMatchObject({
      agent: "counted",
      ready: 1,
      inFlight: 1,
      depth: 1,
    });
    const all = await http<{ queues: { agent: string }[] }>(fixture.url, "GET", "/v1/queues");
    expect(all.body.queues.map((queue) => queue.agent)).toContain("counted");
  });

  it("transactions: sends and acks become visible together at commit; rollback and savepoints", async () => {
    await send({ to: "tx-in" });
    const [leased] = (await receive("tx-in")).body.deliveries;
    const tx = (
      await http<{ id: string }>(fixture.url, "POST", "/v1/transactions", { json: { timeoutMs: 10_000 } })
    ).body.id;
    await send({ to: "tx-out", data: "kept" }, `?tx=${tx}`);
    const savepoint = (
      await http<{ savepoint: number }>(fixture.url, "POST", `/v1/transactions/${tx}/savepoints`)
    ).body.savepoint;
    await send({ to: "tx-out", data: "dropped" }, `?tx=${tx}`);
    expect(
      (await http(fixture.url, "POST", `/v1/transactions/${tx}/savepoints/${savepoint}/rollback`)).status,
    ).toBe(204);
    expect(
      (await http(fixture.url, "POST", `/v1/deliveries/${leased?.leaseId ?? ""}/ack?tx=${tx}`)).status,
    ).toBe(204);
    expect((await receive("tx-out")).body.deliveries).toEqual([]);
    expect((await http(fixture.url, "POST", `/v1/transactions/${tx}/commit`)).status).toBe(204);
    const out = (await receive("tx-out")).body.deliveries;
    expect(out.map((delivery) => (delivery.message as unknown as { data: string }).data)).toEqual(["kept"]);
    expect((await http(fixture.url, "POST", `/v1/deliveries/${leased?.leaseId ?? ""}/ack`)).status).toBe(404);
    expect(await http(fixture.url, "POST", `/v1/transactions/${tx}/commit`)).toMatchObject({
      status: 404,
      body: { errorCode: "TX_NOT_FOUND" },
    });

    const rolledBack = (await http<{ id: string }>(fixture.url, "POST", "/v1/transactions")).body.id;
    await send({ to: "tx-none" }, `?tx=${rolledBack}`);
    expect((await http(fixture.url, "POST", `/v1/transactions/${rolledBack}/rollback`)).status).toBe(204);
    expect((await receive("tx-none")).body.deliveries).toEqual([]);
  });

  it("a commit whose ack lost its lease answers 409 TX_CONFLICT and applies nothing", async () => {
    await send({ to: "conflict" });
    const [leased] = (await receive("conflict")).body.deliveries;
    const tx = (await http<{ id: string }>(fixture.url, "POST", "/v1/transactions")).body.id;
    await send({ to: "conflict-out" }, `?tx=${tx}`);
    await http(fixture.url, "POST", `/v1/deliveries/${leased?.leaseId ?? ""}/ack?tx=${tx}`);
    await http(fixture.url, "POST", `/v1/deliveries/${leased?.leaseId ?? ""}/ack`);
    expect(await http(fixture.url, "POST", `/v1/transactions/${tx}/commit`)).toMatchObject({
      status: 409,
      body: { errorCode: "TX_CONFLICT" },
    });
    expect((await receive("conflict-out")).body.deliveries).toEqual([]);
  });

  it("lists, shows, replays and purges dead letters", async () => {
    for (const data of ["one", "two", "three"]) {
      await send({ to: "dead", data });
      const [delivery] = (await receive("dead")).body.deliveries;
      await http(fixture.url, "POST", `/v1/deliveries/${delivery?.leaseId ?? ""}/nack`, {
        json: { deadLetter: true, reason: `bad ${data}` },
      });
    }
    const listed = await http<{ deadLetters: { message: { id: string }; reason: string }[] }>(
      fixture.url,
      "GET",
      "/v1/dlq?agent=dead&reason=rejected",
    );
    expect(listed.body.deadLetters).toHaveLength(3);
    const [first, second, third] = listed.body.deadLetters.map((letter) => letter.message.id);
    expect(await http(fixture.url, "GET", `/v1/dlq/dead/${first ?? ""}`)).toMatchObject({
      status: 200,
      body: { reason: "rejected", lastError: "bad one" },
    });
    expect(await http(fixture.url, "GET", "/v1/dlq/dead/nope")).toMatchObject({
      status: 404,
      body: { errorCode: "NOT_FOUND" },
    });
    expect(await http(fixture.url, "GET", "/v1/dlq?reason=sad")).toMatchObject({
      status: 400,
      body: { errorCode: "INVALID_ARGUMENT", field: "reason" },
    });
    // A dry run answers what would move and where, and moves nothing.
    const dryRun = await http(fixture.url, "POST", "/v1/dlq/replay", {
      json: { agent: "dead", ids: [first, third], to: "rescuer", dryRun: true },
    });
    expect(dryRun.body).toMatchObject({
      replayed: 0,
      dryRun: true,
      matched: 2,
      letters: [
        { agent: "dead", id: first, reason: "rejected", to: "rescuer" },
        { agent: "dead", id: third, reason: "rejected", to: "rescuer" },
      ],
    });
    expect(
      (await http(fixture.url, "POST", "/v1/dlq/purge", { json: { agent: "dead", dryRun: true } })).body,
    ).toMatchObject({ purged: 0, dryRun: true, matched: 3 });
    expect((await receive("rescuer")).body.deliveries).toEqual([]);
    expect(
      (await http<{ deadLetters: unknown[] }>(fixture.url, "GET", "/v1/dlq?agent=dead")).body.deadLetters,
    ).toHaveLength(3);
    expect(
      (await http(fixture.url, "POST", "/v1/dlq/replay", { json: { ids: [first], to: "rescuer" } })).body,
    ).toEqual({ replayed: 1 });
    expect((await receive("rescuer")).body.deliveries.map((delivery) => delivery.message.id)).toEqual([
      first,
    ]);
    expect((await http(fixture.url, "POST", "/v1/dlq/replay", { json: { ids: [second] } })).body).toEqual({
      replayed: 1,
    });
    expect((await receive("dead")).body.deliveries).toMatchObject([{ attempt: 1, message: { id: second } }]);
    expect((await http(fixture.url, "POST", "/v1/dlq/purge", { json: { agent: "dead" } })).body).toEqual({
      purged: 1,
    });
    expect((await http(fixture.url, "GET", `/v1/dlq/dead/${third ?? ""}`)).status).toBe(404);
  });

  it("answers the trace of a message and of a correlation id", async () => {
    const { id } = (await send({ to: "traced", correlationid: "conv-1" })).body;
    const [delivery] = (await receive("traced")).body.deliveries;
    await http(fixture.url, "POST", `/v1/deliveries/${delivery?.leaseId ?? ""}/ack`);
    const trace = await http<{ events: { kind: string }[] }>(fixture.url, "GET", `/v1/messages/${id}/trace`);
    expect(trace.body.events.map((event) => event.kind)).toEqual(["accepted", "enqueued", "leased", "acked"]);
    const byCorrelation = await http<{ events: { messageId: string }[] }>(
      fixture.url,
      "GET",
      "/v1/traces?correlationId=conv-1",
    );
    expect(new Set(byCorrelation.body.events.map((event) => event.messageId))).toEqual(new Set([id]));
    expect(await http(fixture.url, "GET", "/v1/messages/unknown-id/trace")).toMatchObject({
      status: 404,
      body: { errorCode: "NOT_FOUND" },
    });
  });

  it("serves health, readiness, info and Prometheus metrics", async () => {
    expect(await http(fixture.url, "GET", "/healthz")).toMatchObject({ status: 200, body: { status: "ok" } });
    expect(await http(fixture.url, "GET", "/readyz")).toMatchObject({
      status: 200,
      body: { status: "ready", store: backend },
    });
    expect(await http(fixture.url, "GET", "/v1/info")).toMatchObject({
      status: 200,
      body: { domain: "local", store: backend, durable: backend === "redis" },
    });
    await send({ to: "metered" });
    const response = await fetch(`${fixture.url}/metrics`);
    const text = await response.text();
    expect(response.headers.get("content-type")).toContain("text/plain");
    expect(text).toMatch(/^bmn_messages_sent_total\{mode="direct"\} \d+/m);
    expect(text).toMatch(/^bmn_queue_depth\{agent="metered"\} 1$/m);
    // The head of metered's line was sent moments ago: a small, non-negative age.
    const age = Number(/^bmn_queue_oldest_age_seconds\{agent="metered"\} (\S+)$/m.exec(text)?.[1]);
    expect(age).toBeGreaterThanOrEqual(0);
    expect(age).toBeLessThan(60);
    expect(text).toMatch(/^bmn_http_request_duration_seconds_bucket\{.*route="\/v1\/messages"/m);
    expect(text).toMatch(/^bmn_store_breaker_state 0$/m);
  });
});
