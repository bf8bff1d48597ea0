import type { FastifyInstance } from "fastify";
import { afterEach, describe, expect, it } from "vitest";
import { createMessage, type Message } from "../../../core/envelope.js";
import { outboxQueueName, splitAddress, type DomainName } from "../../../core/names.js";
import { loadConfig } from "../../../runtime/config/load-config.js";
import { buildServer } from "../../../sidecar/server/build-server.js";
import { InMemoryStore } from "../../../store/memory/memory-store.js";
import type { MessageStore } from "../../../store/store.js";

const OUTBOX = outboxQueueName("beta" as DomainName);

interface Answer {
  errorCode?: string;
  field?: string;
  id?: string;
}

/** The sidecar of domain `alpha`, answering through `inject()`. */
describe("cross-domain routing over HTTP (routing.crossDomain)", () => {
  const apps: FastifyInstance[] = [];
  afterEach(async () => {
    await Promise.allSettled(apps.splice(0).map((app) => app.close()));
  });

  async function sidecar(
    crossDomain: boolean | undefined,
  ): Promise<{ app: FastifyInstance; store: MessageStore }> {
    const store = new InMemoryStore();
    const app = await buildServer({
      store,
      logger: false,
      config: {
        domain: "alpha",
        logLevel: "silent",
        ...(crossDomain === undefined ? {} : { routing: { crossDomain } }),
      },
    });
    apps.push(app);
    return { app, store };
  }

  const send = (app: FastifyInstance, json: unknown, query = "") =>
    app.inject({ method: "POST", url: `/v1/messages${query}`, payload: json as object });

  it("is off by default: a message for another domain answers 422 UNROUTABLE and queues nothing", async () => {
    for (const setting of [undefined, false]) {
      const { app, store } = await sidecar(setting);
      const answer = await send(app, { to: "bob@beta", type: "t" });
      expect(answer.statusCode).toBe(422);
      expect(answer.json<Answer>()).toMatchObject({ errorCode: "UNROUTABLE", field: "to" });
      const batch = await app.inject({
        method: "POST",
        url: "/v1/messages:batch",
        payload: {
          messages: [
            { to: "carol", type: "t" },
            { to: "bob@beta", type: "t" },
          ],
        },
      });
      expect(batch.statusCode).toBe(422);
      expect(batch.json<Answer>()).toMatchObject({ errorCode: "UNROUTABLE", field: "messages.1.to" });
      expect(await store.listQueues()).toEqual([]);
    }
  });

  it("on: name@other goes into bmn.out.<other> unchanged (same id, same to); own domain stays local", async () => {
    const { app, store } = await sidecar(true);
    const answer = await send(app, { id: "x-1", to: "bob@beta", type: "greeting", data: { hi: 1 } });
    expect(answer.statusCode).toBe(202);
    expect(answer.json()).toEqual({ id: "x-1", duplicate: false });
    expect((await send(app, { id: "x-1", to: "bob@beta", type: "greeting" })).json()).toEqual({
      id: "x-1",
      duplicate: true,
    });
    expect((await send(app, { to: "carol@alpha", type: "t" })).statusCode).toBe(202);
    expect((await send(app, { to: "dave", type: "t" })).statusCode).toBe(202);
    expect(await store.listQueues()).toEqual([OUTBOX, "carol", "dave"]);
    const [delivery] = await store.receive(OUTBOX);
    expect(delivery?.message).toMatchObject({
      id: "x-1",
      to: "bob@beta",
      type: "greeting",
      data: { hi: 1 },
      source: "bmn://alpha",
    });
    expect(await store.receive("bob")).toEqual([]);
  });

  it("a cross-domain send in a transaction reaches the outbox at commit, and never after rollback", async () => {
    const { app, store } = await sidecar(true);
    const begin = async (): Promise<string> =>
      (await app.inject({ method: "POST", url: "/v1/transactions" })).json<{ id: string }>().id;

    const tx = await begin();
    expect((await send(app, { id: "tx-remote", to: "bob@beta", type: "t" }, `?tx=${tx}`)).statusCode).toBe(
      202,
    );
    expect((await send(app, { id: "tx-local", to: "carol", type: "t" }, `?tx=${tx}`)).statusCode).toBe(202);
    expect(await store.queueStats(OUTBOX)).toMatchObject({ depth: 0 });
    expect((await app.inject({ method: "POST", url: `/v1/transactions/${tx}/commit` })).statusCode).toBe(204);
    expect((await store.receive(OUTBOX)).map((d) => d.message.id)).toEqual(["tx-remote"]);
    expect((await store.receive("carol")).map((d) => d.message.id)).toEqual(["tx-local"]);

    const dropped = await begin();
    expect((await send(app, { to: "bob@beta", type: "t" }, `?tx=${dropped}`)).statusCode).toBe(202);
    expect(
      (await app.inject({ method: "POST", url: `/v1/transactions/${dropped}/rollback` })).statusCode,
    ).toBe(204);
    expect(await store.queueStats(OUTBOX)).toMatchObject({ depth: 0, ready: 0, inFlight: 1 });
  });

  it("a batch mixing local and remote recipients commits all of it in one step", async () => {
    const { app, store } = await sidecar(true);
    const batch = await app.inject({
      method: "POST",
      url: "/v1/messages:batch",
      payload: {
        messages: [
          { id: "b-1", to: "bob@beta", type: "t" },
          { id: "b-2", to: "carol", type: "t" },
          { id: "b-3", to: "erin@gamma", type: "t" },
        ],
      },
    });
    expect(batch.statusCode).toBe(202);
    expect((await store.receive(OUTBOX)).map((d) => d.message.id)).toEqual(["b-1"]);
    expect((await store.receive("carol")).map((d) => d.message.id)).toEqual(["b-2"]);
    expect((await store.receive(outboxQueueName("gamma" as DomainName))).map((d) => d.message.id)).toEqual([
      "b-3",
    ]);
    // A bad message anywhere in the batch sends none of it.
    const bad = await app.inject({
      method: "POST",
      url: "/v1/messages:batch",
      payload: {
        messages: [
          { to: "bob@beta", type: "t" },
          { to: "bmn.out.beta", type: "t" },
        ],
      },
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json<Answer>().field).toMatch(/^messages\.1\b/);
    expect(await store.queueStats(OUTBOX)).toMatchObject({ depth: 0 });
  });

  it("a request to another domain gets its reply back through the reply inbox", async () => {
    const { app, store } = await sidecar(true);
    const pending = app.inject({
      method: "POST",
      url: "/v1/requests?timeout=10",
      payload: { to: "bob@beta", type: "question", data: { q: 1 } },
    });
    // Plays the two gateways and bob: take the request from the outbox, answer it into the reply inbox.
    const [delivery] = await store.receive(OUTBOX, { waitMs: 10_000 });
    if (delivery === undefined) throw new Error("the request never reached the outbox");
    const { replyto, correlationid } = delivery.message;
    expect(replyto).toMatch(/^reply-[0-9a-f]+@alpha$/);
    if (replyto === undefined || correlationid === undefined) throw new Error("the request has no replyto");
    const answer: Message = createMessage({ type: "answer", to: replyto, correlationid, data: { a: 2 } });
    await store.enqueue(splitAddress(replyto).name, answer);
    await store.ack(delivery.leaseId);
    const reply = await pending;
    expect(reply.statusCode).toBe(200);
    expect(reply.json()).toMatchObject({ reply: { id: answer.id, data: { a: 2 } } });
  });

  it("the agent API refuses outbox names and outbox leases with stable error codes", async () => {
    const { app, store } = await sidecar(true);
    await send(app, { to: "bob@beta", type: "t" });
    const [delivery] = await store.receive(OUTBOX);
    if (delivery === undefined) throw new Error("expected a delivery");

    const cases: {
      method: "GET" | "POST";
      url: string;
      payload?: object;
      status: number;
      code: string;
      field?: string;
    }[] = [
      {
        method: "POST",
        url: "/v1/messages",
        payload: { to: OUTBOX, type: "t" },
        status: 400,
        code: "INVALID_MESSAGE",
        field: "to",
      },
      {
        method: "POST",
        url: "/v1/messages",
        payload: { to: `${OUTBOX}@alpha`, type: "t" },
        status: 400,
        code: "INVALID_MESSAGE",
        field: "to",
      },
      {
        method: "POST",
        url: "/v1/requests",
        payload: { to: OUTBOX, type: "t" },
        status: 400,
        code: "INVALID_MESSAGE",
        field: "to",
      },
      {
        method: "GET",
        url: `/v1/agents/${OUTBOX}/messages`,
        status: 400,
        code: "INVALID_ADDRESS",
        field: "agent",
      },
      {
        method: "GET",
        url: `/v1/agents/${OUTBOX}/stats`,
        status: 400,
        code: "INVALID_ADDRESS",
        field: "agent",
      },
      {
        method: "POST",
        url: `/v1/agents/${OUTBOX}/subscriptions`,
        payload: { pattern: "a" },
        status: 400,
        code: "INVALID_ADDRESS",
        field: "agent",
      },
      {
        method: "POST",
        url: `/v1/agents/${OUTBOX}/heartbeat`,
        status: 400,
        code: "INVALID_ADDRESS",
        field: "agent",
      },
      { method: "POST", url: `/v1/deliveries/${delivery.leaseId}/ack`, status: 404, code: "LEASE_NOT_FOUND" },
      {
        method: "POST",
        url: `/v1/deliveries/${delivery.leaseId}/nack`,
        payload: {},
        status: 404,
        code: "LEASE_NOT_FOUND",
      },
      {
        method: "POST",
        url: `/v1/deliveries/${delivery.leaseId}/extend`,
        payload: { leaseMs: 1_000 },
        status: 404,
        code: "LEASE_NOT_FOUND",
      },
      {
        method: "POST",
        url: "/v1/dlq/replay",
        payload: { to: OUTBOX },
        status: 400,
        code: "INVALID_ADDRESS",
        field: "to",
      },
    ];
    for (const { method, url, payload, status, code, field } of cases) {
      const answer = await app.inject({ method, url, ...(payload === undefined ? {} : { payload }) });
      const what = `${method} ${url} ${JSON.stringify(payload)}`;
      expect(answer.statusCode, what).toBe(status);
      expect(answer.json<Answer>(), what).toMatchObject({
        errorCode: code,
        ...(field === undefined ? {} : { field }),
      });
    }
    // The outbox lease is untouched by all of that: the gateway still holds it.
    expect(await store.queueStats(OUTBOX)).toMatchObject({ inFlight: 1 });
    await store.ack(delivery.leaseId);
    // Operators see outboxes in the queue list (their depth is the backlog per link).
    const queues = await app.inject({ method: "GET", url: "/v1/queues" });
    expect(queues.json<{ queues: { agent: string }[] }>().queues.map((q) => q.agent)).toEqual([OUTBOX]);
  });

  it("config: routing.crossDomain defaults to false and must be a boolean", () => {
    expect(loadConfig({}, {}).routing).toEqual({ crossDomain: false });
    expect(loadConfig({ routing: { crossDomain: true } }, {}).routing).toEqual({ crossDomain: true });
    expect(() => loadConfig({ routing: { crossDomain: "yes" } }, {})).toThrow(/key routing\.crossDomain/);
    expect(() => loadConfig({ routing: { crossdomain: true } }, {})).toThrow(/routing/);
  });
});
