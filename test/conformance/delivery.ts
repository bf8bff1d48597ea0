import { describe, expect, it } from "vitest";
import { createMessage, type Message } from "../../core/envelope.js";
import { DEFAULT_DELIVERY_POLICY } from "../../store/store.js";
import { FAST, idsOf, isoIn, msg, receiveAll, receiveOne, since, useStores, waitFor } from "./helpers.js";
import type { StoreFactory } from "./store-conformance.js";

/** Tolerance for times a store computes from its own clock reading (taken between our two readings). */
const SLACK_MS = 20;

export function describeDelivery(factory: StoreFactory): void {
  const open = useStores(factory);

  describe("enqueue, receive, ack", () => {
    it("enqueue answers the message id and duplicate: false", async () => {
      const store = await open();
      const message = msg();
      const result = await store.enqueue("worker", message);
      expect(result.id).toBe(message.id);
      expect(result.duplicate).toBe(false);
      expect(result.deadLettered).toBeUndefined();
    });

    it("receive on an empty queue answers [] at once", async () => {
      const store = await open();
      const start = Date.now();
      expect(await store.receive("worker")).toEqual([]);
      expect(await store.receive("worker", { max: 10, waitMs: 0 })).toEqual([]);
      expect(since(start)).toBeLessThan(1_000);
    });

    it("receive answers a delivery with lease id, attempt 1, lease expiry, agent and the unchanged message", async () => {
      const store = await open();
      const message = createMessage({
        type: "com.example.order.created",
        subject: "order-17",
        datacontenttype: "application/json",
        data: { text: "héllo ✓ 𝄞", nested: { list: [1, 2.5, null, true, "x"], empty: {} }, n: -3 },
        to: "worker",
        from: "sender@other-domain",
        topic: "orders.created",
        priority: 7,
        correlationid: "corr-1",
        replyto: "sender@other-domain",
        traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        tracestate: "vendor=abc",
        expiresat: isoIn(3_600_000),
        dedupekey: "orders:17/created",
        tenant: "acme",
        retries: 3,
        urgent: true,
      });
      const binary = createMessage({
        type: "blob",
        data_base64: Buffer.from([0, 1, 2, 255]).toString("base64"),
      });
      await store.enqueue("worker", message);
      await store.enqueue("worker", binary);

      const before = Date.now();
      const deliveries = await store.receive("worker", { max: 2, leaseMs: 10_000 });
      const after = Date.now();

      expect(deliveries).toHaveLength(2);
      const [first, second] = deliveries;
      expect(first?.message).toEqual(message);
      expect(second?.message).toEqual(binary);
      for (const delivery of deliveries) {
        expect(typeof delivery.leaseId).toBe("string");
        expect(delivery.leaseId.length).toBeGreaterThan(0);
        expect(delivery.attempt).toBe(1);
        expect(delivery.agent).toBe("worker");
        expect(delivery.leaseExpiresAt).toBeGreaterThanOrEqual(before + 10_000 - SLACK_MS);
        expect(delivery.leaseExpiresAt).toBeLessThanOrEqual(after + 10_000 + SLACK_MS);
      }
      expect(first?.leaseId).not.toBe(second?.leaseId);
    });

    it("ack removes the message: it is never redelivered", async () => {
      const store = await open(FAST);
      await store.enqueue("worker", msg());
      const delivery = await receiveOne(store, "worker", { leaseMs: 100 });
      await store.ack(delivery.leaseId);
      // Had the ack not removed it, the 100 ms lease would lapse and the message come back within this wait.
      expect(await store.receive("worker", { waitMs: 400 })).toEqual([]);
      expect(await store.queueStats("worker")).toMatchObject({
        depth: 0,
        ready: 0,
        delayed: 0,
        inFlight: 0,
        deadLettered: 0,
      });
    });

    it("a leased message is not handed out again while the lease holds", async () => {
      const store = await open();
      await store.enqueue("worker", msg());
      await receiveOne(store, "worker");
      expect(await store.receive("worker", { max: 10 })).toEqual([]);
    });

    it("max defaults to 1 and batches answer at most max", async () => {
      const store = await open();
      const messages = Array.from({ length: 5 }, () => msg());
      for (const message of messages) await store.enqueue("worker", message);
      const one = await store.receive("worker");
      const three = await store.receive("worker", { max: 3 });
      const rest = await store.receive("worker", { max: 3 });
      expect(one).toHaveLength(1);
      expect(three).toHaveLength(3);
      expect(rest).toHaveLength(1);
      expect([...idsOf(one), ...idsOf(three), ...idsOf(rest)]).toEqual(messages.map((m) => m.id));
      expect(await store.receive("worker", { max: 3 })).toEqual([]);
    });

    it("max is capped at policy.maxBatch", async () => {
      const store = await open({ maxBatch: 3 });
      for (let i = 0; i < 5; i++) await store.enqueue("worker", msg());
      expect(await store.receive("worker", { max: 100 })).toHaveLength(3);
      expect(await store.receive("worker", { max: 100 })).toHaveLength(2);
    });

    it("leaseMs defaults to policy.leaseMs", async () => {
      const store = await open({ leaseMs: 2_000 });
      await store.enqueue("worker", msg());
      const before = Date.now();
      const delivery = await receiveOne(store, "worker");
      const after = Date.now();
      expect(delivery.leaseExpiresAt).toBeGreaterThanOrEqual(before + 2_000 - SLACK_MS);
      expect(delivery.leaseExpiresAt).toBeLessThanOrEqual(after + 2_000 + SLACK_MS);
    });

    it("leaseMs is capped at policy.maxLeaseMs", async () => {
      const store = await open({ maxLeaseMs: 5_000 });
      await store.enqueue("worker", msg());
      const before = Date.now();
      const delivery = await receiveOne(store, "worker", { leaseMs: 60_000 });
      const after = Date.now();
      expect(delivery.leaseExpiresAt).toBeGreaterThanOrEqual(before + 5_000 - SLACK_MS);
      expect(delivery.leaseExpiresAt).toBeLessThanOrEqual(after + 5_000 + SLACK_MS);
    });

    it("queues of different agents stay apart", async () => {
      const store = await open();
      const forA = msg();
      const forB = msg();
      await store.enqueue("agent-a", forA);
      await store.enqueue("agent-b", forB);
      expect(idsOf(await store.receive("agent-a", { max: 10 }))).toEqual([forA.id]);
      expect(idsOf(await store.receive("agent-b", { max: 10 }))).toEqual([forB.id]);
    });

    it("the same message can be enqueued for several agents, each gets its own copy and lease", async () => {
      const store = await open();
      const message = msg();
      await store.enqueue("agent-a", message);
      await store.enqueue("agent-b", message);
      const a = await receiveOne(store, "agent-a");
      const b = await receiveOne(store, "agent-b");
      expect(a.message.id).toBe(message.id);
      expect(b.message.id).toBe(message.id);
      await store.ack(a.leaseId);
      expect(await store.queueStats("agent-b")).toMatchObject({ inFlight: 1 });
      await store.ack(b.leaseId);
      expect(await store.queueStats("agent-b")).toMatchObject({ inFlight: 0, depth: 0 });
    });
  });

  describe("order", () => {
    it("delivers higher priority first and FIFO within a priority (50 mixed messages, batches of 7)", async () => {
      const store = await open();
      const priorities = [undefined, 9, 0, 4, 7, 2, 4, 9, 1, 5, 7, 3, 8, 6];
      const messages: Message[] = [];
      for (let i = 0; i < 50; i++) {
        const priority = priorities[(i * 5) % priorities.length];
        messages.push(msg(priority === undefined ? { data: { i } } : { priority, data: { i } }));
      }
      for (const message of messages) await store.enqueue("worker", message);

      const expected = messages
        .map((message, index) => ({ id: message.id, priority: message.priority ?? 4, index }))
        .sort((x, y) => y.priority - x.priority || x.index - y.index)
        .map((entry) => entry.id);

      const received = await receiveAll(store, "worker", { max: 7 });
      expect(idsOf(received)).toEqual(expected);
    });

    it("the default priority is 4", async () => {
      const store = await open();
      const low = msg({ priority: 3 });
      const normal = msg();
      const explicitFour = msg({ priority: 4 });
      const high = msg({ priority: 5 });
      for (const message of [low, normal, explicitFour, high]) await store.enqueue("worker", message);
      expect(idsOf(await receiveAll(store, "worker"))).toEqual([high.id, normal.id, explicitFour.id, low.id]);
    });

    it("a redelivered message keeps its original place in the order", async () => {
      const store = await open();
      const [a1, a2, a3, a4] = [msg(), msg(), msg(), msg()];
      const urgent = msg({ priority: 7 });
      for (const message of [a1, a2, a3]) await store.enqueue("worker", message);
      const first = await store.receive("worker", { max: 2 });
      expect(idsOf(first)).toEqual([a1.id, a2.id]);
      await store.enqueue("worker", a4);
      await store.enqueue("worker", urgent);
      // Nack in reverse order: the place comes from the original enqueue, not from the nack.
      for (const delivery of [...first].reverse()) {
        expect((await store.nack(delivery.leaseId, { delayMs: 0 })).outcome).toBe("retry");
      }
      await waitFor(async () => (await store.queueStats("worker")).ready === 5, 3_000, "5 ready messages");
      const again = await store.receive("worker", { max: 10 });
      expect(idsOf(again)).toEqual([urgent.id, a1.id, a2.id, a3.id, a4.id]);
      expect(again.map((d) => d.attempt)).toEqual([1, 2, 2, 1, 1]);
    });
  });

  describe("notbefore and expiresat", () => {
    it("notbefore in the future keeps the message invisible until then", async () => {
      const store = await open();
      const notbefore = isoIn(200);
      const message = msg({ notbefore });
      const result = await store.enqueue("worker", message);
      expect(result).toMatchObject({ id: message.id, duplicate: false });
      expect(result.deadLettered).toBeUndefined();
      expect(await store.receive("worker", { max: 10 })).toEqual([]);
      expect(await store.queueStats("worker")).toMatchObject({ ready: 0, delayed: 1, depth: 1 });

      const delivery = await receiveOne(store, "worker", { waitMs: 3_000 });
      expect(Date.now()).toBeGreaterThanOrEqual(Date.parse(notbefore));
      expect(delivery.message.id).toBe(message.id);
      expect(delivery.attempt).toBe(1);
    });

    it("notbefore in the past delivers at once", async () => {
      const store = await open();
      const message = msg({ notbefore: isoIn(-60_000) });
      await store.enqueue("worker", message);
      expect(idsOf(await store.receive("worker"))).toEqual([message.id]);
    });

    it("a delayed message does not block ready messages behind it", async () => {
      const store = await open();
      const later = msg({ priority: 9, notbefore: isoIn(60_000) });
      const now = msg({ priority: 1 });
      await store.enqueue("worker", later);
      await store.enqueue("worker", now);
      expect(idsOf(await store.receive("worker", { max: 10 }))).toEqual([now.id]);
    });

    it("expiresat in the past: accepted, answers deadLettered 'expired', goes straight to the DLQ", async () => {
      const store = await open();
      const message = msg({ expiresat: isoIn(-1_000) });
      const result = await store.enqueue("worker", message);
      expect(result).toEqual({ id: message.id, duplicate: false, deadLettered: "expired" });
      expect(await store.receive("worker", { max: 10 })).toEqual([]);
      const record = await store.getDeadLetter("worker", message.id);
      expect(record).toMatchObject({ agent: "worker", reason: "expired" });
      expect(record?.message).toEqual(message);
      expect(await store.queueStats("worker")).toMatchObject({ depth: 0, deadLettered: 1 });
    });

    it("expiresat in the future does not hinder delivery", async () => {
      const store = await open();
      const message = msg({ expiresat: isoIn(60_000) });
      const result = await store.enqueue("worker", message);
      expect(result.deadLettered).toBeUndefined();
      expect(idsOf(await store.receive("worker"))).toEqual([message.id]);
    });

    it("policy.defaultTtlMs expires a message sent without expiresat; one with expiresat keeps its own", async () => {
      const store = await open({ defaultTtlMs: 1 });
      // Not due before its default TTL has long passed: it must never come out.
      const plain = msg({ notbefore: isoIn(200) });
      await store.enqueue("worker", plain);
      const record = await waitFor(
        async () => {
          expect(await store.receive("worker", { max: 10 })).toEqual([]);
          return store.getDeadLetter("worker", plain.id);
        },
        3_000,
        "the message without expiresat dead-lettered after the default TTL",
      );
      expect(record.reason).toBe("expired");
      const lasting = msg({ expiresat: isoIn(60_000) });
      await store.enqueue("worker", lasting);
      expect(idsOf(await store.receive("worker", { max: 10 }))).toEqual([lasting.id]);
    });

    it("policy.dlqRetentionMs purges dead letters older than it, by itself", async () => {
      const store = await open({ dlqRetentionMs: 1 });
      const message = msg({ expiresat: isoIn(-1_000) });
      expect((await store.enqueue("worker", message)).deadLettered).toBe("expired");
      await waitFor(
        async () => (await store.getDeadLetter("worker", message.id)) === undefined,
        3_000,
        "the dead letter purged after the retention",
      );
      expect(await store.queueStats("worker")).toMatchObject({ depth: 0, deadLettered: 0 });
    });

    it("a message whose expiresat passes while it waits for notbefore is dead-lettered 'expired', never delivered", async () => {
      const store = await open();
      const message = msg({ expiresat: isoIn(100), notbefore: isoIn(250) });
      const result = await store.enqueue("worker", message);
      expect(result.deadLettered).toBeUndefined();
      // Spans notbefore: the message must not come out.
      expect(await store.receive("worker", { waitMs: 500, max: 10 })).toEqual([]);
      const record = await waitFor(
        async () => {
          expect(await store.receive("worker", { max: 10 })).toEqual([]);
          return store.getDeadLetter("worker", message.id);
        },
        3_000,
        "the expired message in the DLQ",
      );
      expect(record.reason).toBe("expired");
      expect(record.message.id).toBe(message.id);
    });

    it("a message whose expiresat passes during a nack delay is dead-lettered 'expired', never redelivered", async () => {
      const store = await open();
      const message = msg({ expiresat: isoIn(150) });
      await store.enqueue("worker", message);
      const delivery = await receiveOne(store, "worker");
      const nacked = await store.nack(delivery.leaseId, { delayMs: 300, reason: "busy" });
      // Either answer is fine here: a store may see at nack time that the redelivery would come too late.
      if (nacked.outcome === "dead-lettered") expect(nacked.reason).toBe("expired");
      expect(await store.receive("worker", { waitMs: 500, max: 10 })).toEqual([]);
      const record = await waitFor(
        async () => {
          expect(await store.receive("worker", { max: 10 })).toEqual([]);
          return store.getDeadLetter("worker", message.id);
        },
        3_000,
        "the expired message in the DLQ",
      );
      expect(record.reason).toBe("expired");
    });
  });

  describe("nack and retries", () => {
    it("nack with delayMs redelivers after the delay with attempt 2", async () => {
      const store = await open();
      const message = msg();
      await store.enqueue("worker", message);
      const first = await receiveOne(store, "worker");
      const before = Date.now();
      const result = await store.nack(first.leaseId, { delayMs: 150, reason: "not yet" });
      const after = Date.now();
      expect(result.outcome).toBe("retry");
      const redeliverAt = result.redeliverAt ?? Number.NaN;
      expect(redeliverAt).toBeGreaterThanOrEqual(before + 150 - SLACK_MS);
      expect(redeliverAt).toBeLessThanOrEqual(after + 150 + SLACK_MS);
      expect(await store.receive("worker", { max: 10 })).toEqual([]);
      expect(await store.queueStats("worker")).toMatchObject({ delayed: 1, ready: 0, inFlight: 0 });

      const second = await receiveOne(store, "worker", { waitMs: 3_000 });
      expect(Date.now()).toBeGreaterThanOrEqual(redeliverAt);
      expect(second.message).toEqual(message);
      expect(second.attempt).toBe(2);
      expect(second.leaseId).not.toBe(first.leaseId);
    });

    it("attempt numbers increase with every redelivery", async () => {
      const store = await open({ maxAttempts: 10 });
      await store.enqueue("worker", msg());
      const attempts: number[] = [];
      for (let i = 0; i < 4; i++) {
        const delivery = await receiveOne(store, "worker", { waitMs: 2_000 });
        attempts.push(delivery.attempt);
        expect((await store.nack(delivery.leaseId, { delayMs: 0 })).outcome).toBe("retry");
      }
      expect(attempts).toEqual([1, 2, 3, 4]);
    });

    it("nack without delayMs backs off exponentially: redeliverAt within [now, now + min(backoffMaxMs, backoffBaseMs * 2^(attempt-1))]", async () => {
      const store = await open({ backoffBaseMs: 40, backoffMaxMs: 100, maxAttempts: 10 });
      await store.enqueue("worker", msg());
      for (let attempt = 1; attempt <= 4; attempt++) {
        const delivery = await receiveOne(store, "worker", { waitMs: 2_000 });
        expect(delivery.attempt).toBe(attempt);
        const before = Date.now();
        const result = await store.nack(delivery.leaseId);
        const after = Date.now();
        const bound = Math.min(100, 40 * 2 ** (attempt - 1));
        expect(result.outcome).toBe("retry");
        const redeliverAt = result.redeliverAt ?? Number.NaN;
        expect(redeliverAt).toBeGreaterThanOrEqual(before - SLACK_MS);
        expect(redeliverAt).toBeLessThanOrEqual(after + bound + SLACK_MS);
      }
    });

    it("default backoff is capped at backoffMaxMs and jittered", async () => {
      const store = await open({ backoffBaseMs: 1_000, backoffMaxMs: 600 });
      const count = 20;
      for (let i = 0; i < count; i++) await store.enqueue("worker", msg());
      const deliveries = await store.receive("worker", { max: count });
      expect(deliveries).toHaveLength(count);
      const delays: number[] = [];
      for (const delivery of deliveries) {
        const before = Date.now();
        const result = await store.nack(delivery.leaseId);
        const after = Date.now();
        const redeliverAt = result.redeliverAt ?? Number.NaN;
        expect(result.outcome).toBe("retry");
        expect(redeliverAt).toBeGreaterThanOrEqual(before - SLACK_MS);
        expect(redeliverAt).toBeLessThanOrEqual(after + 600 + SLACK_MS);
        delays.push(redeliverAt - before);
      }
      // Full jitter over [0, 600]: twenty draws all within 60 ms of each other is vanishingly unlikely.
      expect(Math.max(...delays) - Math.min(...delays)).toBeGreaterThan(60);
    });

    it("the nack of the attempt that reaches maxAttempts dead-letters with reason max-attempts, full history and lastError", async () => {
      const store = await open({ maxAttempts: 3 });
      const message = msg();
      await store.enqueue("worker", message);
      const outcomes: string[] = [];
      for (let attempt = 1; attempt <= 3; attempt++) {
        const delivery = await receiveOne(store, "worker", { waitMs: 2_000 });
        expect(delivery.attempt).toBe(attempt);
        const result = await store.nack(delivery.leaseId, { delayMs: 0, reason: `failure ${attempt}` });
        outcomes.push(result.outcome);
        if (attempt === 3) expect(result).toMatchObject({ outcome: "dead-lettered", reason: "max-attempts" });
      }
      expect(outcomes).toEqual(["retry", "retry", "dead-lettered"]);
      expect(await store.receive("worker", { max: 10, waitMs: 100 })).toEqual([]);

      const record = await store.getDeadLetter("worker", message.id);
      expect(record).toBeDefined();
      expect(record?.agent).toBe("worker");
      expect(record?.reason).toBe("max-attempts");
      expect(record?.message).toEqual(message);
      expect(record?.lastError).toBe("failure 3");
      expect(record?.attempts).toMatchObject([
        { attempt: 1, outcome: "nacked", reason: "failure 1" },
        { attempt: 2, outcome: "nacked", reason: "failure 2" },
        { attempt: 3, outcome: "nacked", reason: "failure 3" },
      ]);
      const times = record?.attempts.map((a) => a.at) ?? [];
      expect([...times].sort((x, y) => x - y)).toEqual(times);
      expect(record?.deadLetteredAt).toBeGreaterThanOrEqual(times.at(-1) ?? Number.POSITIVE_INFINITY);
      expect(await store.queueStats("worker")).toMatchObject({ depth: 0, inFlight: 0, deadLettered: 1 });
    });

    it("uses policy.maxAttempts, default " + String(DEFAULT_DELIVERY_POLICY.maxAttempts), async () => {
      const store = await open();
      await store.enqueue("worker", msg());
      const results: string[] = [];
      for (let i = 0; i < DEFAULT_DELIVERY_POLICY.maxAttempts; i++) {
        const delivery = await receiveOne(store, "worker", { waitMs: 2_000 });
        results.push((await store.nack(delivery.leaseId, { delayMs: 0 })).outcome);
      }
      expect(results.at(-1)).toBe("dead-lettered");
      expect(results.slice(0, -1).every((outcome) => outcome === "retry")).toBe(true);
    });

    it("nack with deadLetter: true dead-letters at once with reason rejected", async () => {
      const store = await open();
      const message = msg();
      await store.enqueue("worker", message);
      const delivery = await receiveOne(store, "worker");
      const result = await store.nack(delivery.leaseId, { deadLetter: true, reason: "schema mismatch" });
      expect(result).toMatchObject({ outcome: "dead-lettered", reason: "rejected" });
      expect(result.redeliverAt).toBeUndefined();
      expect(await store.receive("worker", { max: 10, waitMs: 100 })).toEqual([]);
      const record = await store.getDeadLetter("worker", message.id);
      expect(record).toMatchObject({ agent: "worker", reason: "rejected", lastError: "schema mismatch" });
      expect(record?.attempts).toMatchObject([{ attempt: 1, outcome: "nacked", reason: "schema mismatch" }]);
      expect(record?.message).toEqual(message);
    });

    it("a nack with delayMs 0 makes the message visible again at once", async () => {
      const store = await open();
      const message = msg();
      await store.enqueue("worker", message);
      const first = await receiveOne(store, "worker");
      await store.nack(first.leaseId, { delayMs: 0 });
      const second = await receiveOne(store, "worker", { waitMs: 1_000 });
      expect(second).toMatchObject({ attempt: 2, message: { id: message.id } });
    });
  });
}
