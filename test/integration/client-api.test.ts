import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { BmnClient, BmnClientError, SidecarUnreachableError } from "../../client/index.js";
import { freePort } from "../harness/free-port.js";
import { BACKENDS, useSidecar } from "./sidecar/sidecar-fixture.js";

/** A fresh agent name per test, so tests sharing one sidecar never see each other's messages. */
const fresh = (prefix: string): string => `${prefix}-${randomUUID().slice(0, 8)}`;

async function rejection(promise: Promise<unknown>): Promise<BmnClientError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof BmnClientError) return error;
    throw error;
  }
  throw new Error("expected the call to fail");
}

describe.each(BACKENDS)("BmnClient over HTTP (%s store)", (backend) => {
  const fixture = useSidecar(backend, { backoffBaseMs: 10, backoffMaxMs: 20, maxAttempts: 2 });
  const client = (agent?: string): BmnClient =>
    new BmnClient({ url: fixture.url, ...(agent === undefined ? {} : { agent }) });

  it("sends, receives and acks; the sidecar fills id, source and time, and given ones pass through", async () => {
    const agent = fresh("inbox");
    const bmn = client(agent);
    const sent = await bmn.send({ to: agent, type: "greeting", data: { hi: 1 } });
    expect(sent).toMatchObject({ duplicate: false });
    const given = await bmn.send({
      to: agent,
      type: "greeting",
      id: "given-1",
      source: "urn:test",
      priority: 9,
    });
    expect(given.id).toBe("given-1");
    expect(await bmn.send({ to: agent, type: "greeting", id: "given-1" })).toMatchObject({ duplicate: true });

    const deliveries = await bmn.receive({ max: 10, waitSeconds: 5 });
    expect(deliveries.map((d) => d.message.id)).toEqual(["given-1", sent.id]);
    expect(deliveries[0]?.message).toMatchObject({ source: "urn:test", priority: 9, specversion: "1.0" });
    expect(deliveries[1]?.message).toMatchObject({
      type: "greeting",
      data: { hi: 1 },
      source: "bmn://local",
    });
    expect(deliveries[1]?.message.time).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(deliveries[0]?.attempt).toBe(1);
    for (const delivery of deliveries) await bmn.ack(delivery.leaseId);
    expect(await bmn.stats()).toMatchObject({ depth: 0, inFlight: 0 });
  });

  it("sends a batch all or nothing, naming the offending field", async () => {
    const agent = fresh("batch");
    const bmn = client(agent);
    const results = await bmn.sendBatch([
      { to: agent, type: "a" },
      { to: agent, type: "b" },
    ]);
    expect(results).toHaveLength(2);
    const error = await rejection(
      bmn.sendBatch([
        { to: agent, type: "c" },
        { to: agent, type: "d", priority: 99 },
      ]),
    );
    expect(error).toMatchObject({ errorCode: "INVALID_MESSAGE", status: 400, field: "messages.1.priority" });
    const deliveries = await bmn.receive({ max: 10 });
    expect(deliveries.map((d) => d.message.type)).toEqual(["a", "b"]);
  });

  it("publishes to subscribers and unsubscribes", async () => {
    const [a, b] = [fresh("sub"), fresh("sub")];
    const topic = `orders-${randomUUID().slice(0, 8)}.created`;
    const bmn = client();
    expect(await bmn.subscribe(`${topic.split(".")[0] ?? ""}.*`, { agent: a })).toMatchObject({ agent: a });
    await bmn.subscribe("#", { agent: b });
    await bmn.unsubscribe("#", { agent: b });
    expect(await bmn.unsubscribe("#", { agent: b })).toBe(false);
    const published = await bmn.publish(topic, { type: "order.created", data: { order: 1 } });
    expect(published.recipients).toEqual([a]);
    expect(await bmn.subscriptions({ agent: a })).toHaveLength(1);
    const [delivery] = await bmn.receive({ agent: a, waitSeconds: 5 });
    expect(delivery?.message).toMatchObject({ topic, data: { order: 1 } });
  });

  it("answers a request with the responder's reply, and TIMEOUT when nobody answers", async () => {
    const responderName = fresh("calc");
    const responder = client(responderName);
    const stream = responder.messages({ waitSeconds: 5, signal: AbortSignal.timeout(20_000) });
    const serving = (async () => {
      for await (const received of stream) {
        const { args } = received.message.data as { args: number[] };
        await responder.reply(received.message, { type: "sum", data: args.reduce((x, y) => x + y, 0) });
        await received.ack();
        break;
      }
    })();
    const reply = await client().request(
      { to: responderName, type: "add", data: { args: [1, 2, 3] } },
      { timeoutSeconds: 15 },
    );
    await serving;
    expect(reply).toMatchObject({ type: "sum", data: 6 });

    const error = await rejection(
      client().request({ to: fresh("nobody"), type: "add" }, { timeoutSeconds: 0.2 }),
    );
    expect(error).toMatchObject({ errorCode: "TIMEOUT", status: 504 });
  });

  it("nacks for redelivery, extends leases and dead-letters; the DLQ lists, shows, replays and purges", async () => {
    const agent = fresh("work");
    const bmn = client(agent);
    const { id } = await bmn.send({ to: agent, type: "job" });
    const [first] = await bmn.receive({ waitSeconds: 5 });
    if (first === undefined) throw new Error("no delivery");
    const { leaseExpiresAt } = await bmn.extend(first.leaseId, 60_000);
    expect(leaseExpiresAt).toBeGreaterThan(Date.now() + 50_000);
    await bmn.nack(first.leaseId, { delayMs: 0, reason: "try again" });
    const [second] = await bmn.receive({ waitSeconds: 5 });
    expect(second).toMatchObject({ attempt: 2, message: { id } });
    if (second === undefined) throw new Error("no redelivery");
    await bmn.nack(second.leaseId, { deadLetter: true, reason: "cannot do it" });

    const letters = await bmn.dlq.list({ agent });
    expect(letters).toHaveLength(1);
    expect(letters[0]).toMatchObject({ agent, reason: "rejected", message: { id } });
    const letter = await bmn.dlq.show(agent, id);
    expect(letter.attempts.map((a) => a.reason)).toContain("try again");
    expect(await rejection(bmn.dlq.show(agent, "no-such-id"))).toMatchObject({
      errorCode: "NOT_FOUND",
      status: 404,
    });

    const target = fresh("redo");
    expect(await bmn.dlq.replay({ agent, ids: [id], to: target })).toBe(1);
    const [replayed] = await bmn.receive({ agent: target, waitSeconds: 5 });
    expect(replayed).toMatchObject({ attempt: 1, message: { id } });
    if (replayed === undefined) throw new Error("no replay");
    await bmn.nack(replayed.leaseId, { deadLetter: true });
    expect(await bmn.dlq.purge({ agent: target })).toBe(1);
    expect(await bmn.dlq.list({ agent: target })).toEqual([]);
  });

  it("dead-letters with a given stable reason (deadLetterReason), and refuses one that is not", async () => {
    const agent = fresh("bridge");
    const bmn = client(agent);
    await bmn.send({ to: agent, type: "bad.input", data: "x" });
    const [delivery] = await bmn.receive({ waitSeconds: 5 });
    if (delivery === undefined) throw new Error("no delivery");
    const wrong = await rejection(
      bmn.nack(delivery.leaseId, { deadLetterReason: "broken" as unknown as "invalid" }),
    );
    expect(wrong).toMatchObject({ status: 400 });
    expect(wrong.message).toMatch(/deadLetterReason/);
    await bmn.nack(delivery.leaseId, { deadLetterReason: "too-large", reason: "body is 2 MiB" });
    const [letter] = await bmn.dlq.list({ agent });
    expect(letter).toMatchObject({ reason: "too-large", lastError: "body is 2 MiB" });
  });

  it("lists a DLQ longer than one page by following nextCursor, oldest first", async () => {
    const agent = fresh("expired");
    const bmn = client(agent);
    const past = new Date(Date.now() - 60_000).toISOString();
    const sent = await bmn.sendBatch(
      Array.from({ length: 230 }, (_, index) => ({
        to: agent,
        type: "late",
        id: `late-${index}`,
        expiresat: past,
      })),
    );
    const letters = await bmn.dlq.list({ agent, limit: 1_000 });
    // Oldest first; letters dead-lettered in the same millisecond come in id order.
    expect(letters.map((letter) => letter.message.id)).toEqual(sent.map((result) => result.id).sort());
    expect(letters.every((letter) => letter.reason === "expired")).toBe(true);
    expect(await bmn.dlq.list({ agent })).toHaveLength(100);
    const first = await bmn.dlq.all({ agent, limit: 3 }).next();
    expect(first.value).toMatchObject({ message: { id: "late-0" } });
  });

  it("registers, heartbeats, finds by capability and deregisters", async () => {
    const agent = fresh("reviewer");
    const bmn = client(agent);
    const record = await bmn.register({
      capabilities: ["code-review"],
      metadata: { lang: "ts" },
      ttlSeconds: 60,
    });
    expect(record).toMatchObject({ name: agent, capabilities: ["code-review"], metadata: { lang: "ts" } });
    expect((await bmn.heartbeat({ ttlSeconds: 120 })).expiresAt).toBeGreaterThan(record.expiresAt);
    const found = await bmn.agents({ capability: "code-review" });
    expect(found.map((a) => a.name)).toContain(agent);
    expect(await bmn.deregister()).toBe(true);
    expect(await bmn.deregister()).toBe(false);
    expect(await rejection(bmn.heartbeat())).toMatchObject({ errorCode: "NOT_FOUND", status: 404 });
  });

  it("commits a transaction's sends and acks together, and rolls back when the callback throws", async () => {
    const agent = fresh("tx");
    const bmn = client(agent);
    await bmn.send({ to: agent, type: "input" });
    const [input] = await bmn.receive({ waitSeconds: 5 });
    if (input === undefined) throw new Error("no delivery");

    const boom = new Error("boom");
    await expect(
      bmn.transaction(async (tx) => {
        await tx.send({ to: agent, type: "output" });
        await tx.ack(input.leaseId);
        throw boom;
      }),
    ).rejects.toBe(boom);
    // Rolled back: no output, and the input is still leased to us (acking it now works).
    expect(await bmn.receive({ max: 10 })).toEqual([]);

    const result = await bmn.transaction(async (tx) => {
      await tx.send({ to: agent, type: "output", data: 1 });
      await tx.ack(input.leaseId);
      // Not visible before commit.
      expect(await bmn.receive({ max: 10 })).toEqual([]);
      return "done";
    });
    expect(result).toBe("done");
    const outputs = await bmn.receive({ max: 10, waitSeconds: 5 });
    expect(outputs.map((d) => d.message.data)).toEqual([1]);
    expect(await rejection(bmn.ack(input.leaseId))).toMatchObject({
      errorCode: "LEASE_NOT_FOUND",
      status: 404,
    });
  });

  it("rolls a nested transaction back to its savepoint when it throws, keeping the outer work", async () => {
    const agent = fresh("nested");
    const bmn = client(agent);
    await bmn.transaction(async (tx) => {
      await tx.send({ to: agent, type: "outer", data: 1 });
      await expect(
        tx.transaction(async (inner) => {
          await inner.send({ to: agent, type: "inner", data: 2 });
          throw new Error("inner failed");
        }),
      ).rejects.toThrow("inner failed");
      await tx.transaction(async (inner) => {
        await inner.send({ to: agent, type: "inner", data: 3 });
      });
    });
    const deliveries = await bmn.receive({ max: 10, waitSeconds: 5 });
    expect(deliveries.map((d) => d.message.data)).toEqual([1, 3]);
  });

  it("traces a message and a correlation id", async () => {
    const agent = fresh("traced");
    const bmn = client(agent);
    const correlationid = `corr-${randomUUID()}`;
    const { id } = await bmn.send({ to: agent, type: "t", correlationid });
    const [delivery] = await bmn.receive({ waitSeconds: 5 });
    if (delivery === undefined) throw new Error("no delivery");
    await bmn.ack(delivery.leaseId);
    const trace = await bmn.trace(id);
    expect(trace.id).toBe(id);
    expect(trace.events.map((e) => e.kind)).toEqual(expect.arrayContaining(["accepted", "leased", "acked"]));
    const byCorrelation = await bmn.traceByCorrelation(correlationid);
    expect(byCorrelation.every((e) => e.messageId === id)).toBe(true);
    expect(byCorrelation.length).toBeGreaterThan(0);
    expect(await rejection(bmn.trace("never-sent"))).toMatchObject({ errorCode: "NOT_FOUND" });
  });

  it("reports health, readiness and info", async () => {
    const bmn = client();
    expect(await bmn.health()).toEqual({ status: "ok" });
    expect(await bmn.ready()).toEqual({ status: "ready", store: backend });
    expect(await bmn.info()).toMatchObject({ domain: "local", store: backend, durable: backend === "redis" });
  });

  it("turns the sidecar's error bodies into BmnClientError with errorCode, status and field", async () => {
    const bmn = client();
    const badAddress = await rejection(bmn.send({ to: "Not An Agent", type: "t" }));
    expect(badAddress).toMatchObject({ status: 400, field: "to" });
    expect(["INVALID_MESSAGE", "INVALID_ADDRESS"]).toContain(badAddress.errorCode);
    expect(await rejection(bmn.receive({ agent: "Bad_Name" }))).toMatchObject({
      errorCode: "INVALID_ADDRESS",
      status: 400,
    });
    expect(await rejection(bmn.ack("no-such-lease"))).toMatchObject({
      errorCode: "LEASE_NOT_FOUND",
      status: 404,
    });
    expect(await rejection(bmn.send({ type: "t" }))).toMatchObject({ status: 400 });
    expect(await rejection(bmn.receive())).toMatchObject({ errorCode: "NO_AGENT" });
  });

  it("reports an unreachable sidecar as SIDECAR_UNREACHABLE", async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const error = await rejection(new BmnClient({ url }).health());
    expect(error).toBeInstanceOf(SidecarUnreachableError);
    expect(error).toMatchObject({ errorCode: "SIDECAR_UNREACHABLE", status: undefined, retryable: true });
    expect(error.message).toContain(url);
  });
});
