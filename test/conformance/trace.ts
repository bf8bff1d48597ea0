import { describe, expect, it } from "vitest";
import type { TraceEvent } from "../../store/store.js";
import { expectSubsequence, FAST, isoIn, msg, receiveOne, useStores } from "./helpers.js";
import type { StoreFactory } from "./store-conformance.js";

const kinds = (events: readonly TraceEvent[]): string[] => events.map((e) => e.kind);

function expectTimeOrdered(events: readonly TraceEvent[]): void {
  const times = events.map((e) => e.at);
  expect([...times].sort((x, y) => x - y)).toEqual(times);
}

export function describeTrace(factory: StoreFactory): void {
  const open = useStores(factory);

  describe("trace", () => {
    it("the accepted event carries the OpenTelemetry trace id of the message's traceparent", async () => {
      const store = await open();
      const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
      const message = msg({ traceparent: `00-${traceId}-00f067aa0ba902b7-01` });
      await store.enqueue("worker", message);
      const [accepted, enqueued] = await store.traceOf(message.id);
      expect(accepted).toMatchObject({ kind: "accepted", traceId });
      expect(enqueued?.traceId).toBeUndefined();
    });

    it("traceOf lists accepted, enqueued, leased, acked with actor, agent and time order", async () => {
      const store = await open();
      const message = msg();
      const start = Date.now();
      await store.enqueue("worker", message, { actor: "sender-1" });
      const delivery = await receiveOne(store, "worker", { actor: "worker-pod-1" });
      await store.ack(delivery.leaseId, { actor: "worker-pod-1" });
      const end = Date.now();

      const events = await store.traceOf(message.id);
      expect(kinds(events)).toEqual(["accepted", "enqueued", "leased", "acked"]);
      expectTimeOrdered(events);
      for (const event of events) {
        expect(event.messageId).toBe(message.id);
        expect(event.at).toBeGreaterThanOrEqual(start - 20);
        expect(event.at).toBeLessThanOrEqual(end + 20);
        expect(typeof event.actor).toBe("string");
      }
      const [accepted, enqueued, leased, acked] = events;
      expect(accepted?.actor).toBe("sender-1");
      expect(enqueued).toMatchObject({ actor: "sender-1", agent: "worker" });
      expect(leased).toMatchObject({ actor: "worker-pod-1", agent: "worker" });
      expect(acked?.actor).toBe("worker-pod-1");
    });

    it("records nacked, a second lease and dead-lettered", async () => {
      const store = await open({ maxAttempts: 2 });
      const message = msg();
      await store.enqueue("worker", message, { actor: "sender-1" });
      const first = await receiveOne(store, "worker", { actor: "w1" });
      await store.nack(first.leaseId, { delayMs: 0, reason: "flaky", actor: "w1" });
      const second = await receiveOne(store, "worker", { waitMs: 1_000, actor: "w2" });
      await store.nack(second.leaseId, { delayMs: 0, reason: "still flaky", actor: "w2" });

      const events = await store.traceOf(message.id);
      expectSubsequence(kinds(events), [
        "accepted",
        "enqueued",
        "leased",
        "nacked",
        "leased",
        "dead-lettered",
      ]);
      expectTimeOrdered(events);
      const nacked = events.find((e) => e.kind === "nacked");
      expect(nacked).toMatchObject({ actor: "w1" });
      const dead = events.find((e) => e.kind === "dead-lettered");
      expect(dead).toMatchObject({ reason: "max-attempts", agent: "worker" });
      expect(events.filter((e) => e.kind === "leased").map((e) => e.attempt)).toEqual([1, 2]);
    });

    it("records lease-expired when a lease lapses", async () => {
      const store = await open(FAST);
      const message = msg();
      await store.enqueue("worker", message);
      await receiveOne(store, "worker", { leaseMs: 50 });
      const again = await receiveOne(store, "worker", { waitMs: 3_000 });
      await store.ack(again.leaseId);
      const events = await store.traceOf(message.id);
      expectSubsequence(kinds(events), ["enqueued", "leased", "lease-expired", "leased", "acked"]);
      expectTimeOrdered(events);
    });

    it("records duplicate, dead-lettered expired, replayed and purged", async () => {
      const store = await open();
      const dup = msg();
      await store.enqueue("worker", dup);
      await store.enqueue("worker", dup, { actor: "retrying-client" });
      expect(kinds(await store.traceOf(dup.id))).toContain("duplicate");
      expect((await store.traceOf(dup.id)).find((e) => e.kind === "duplicate")?.actor).toBe(
        "retrying-client",
      );

      const expired = msg({ expiresat: isoIn(-1_000) });
      await store.enqueue("worker", expired);
      const expiredEvents = await store.traceOf(expired.id);
      expect(expiredEvents.find((e) => e.kind === "dead-lettered")).toMatchObject({ reason: "expired" });

      await store.replayDeadLetters({ ids: [expired.id] }, { to: "other" });
      const rejected = msg();
      await store.enqueue("worker", rejected);
      // The duplicate's original is first in line.
      const dupDelivery = await receiveOne(store, "worker");
      expect(dupDelivery.message.id).toBe(dup.id);
      const toReject = await receiveOne(store, "worker");
      await store.nack(toReject.leaseId, { deadLetter: true });
      await store.replayDeadLetters({ ids: [rejected.id] });
      const replayedDelivery = await receiveOne(store, "worker", { waitMs: 1_000 });
      await store.nack(replayedDelivery.leaseId, { deadLetter: true });
      await store.purgeDeadLetters({ ids: [rejected.id] });

      const events = await store.traceOf(rejected.id);
      expectSubsequence(kinds(events), [
        "enqueued",
        "leased",
        "dead-lettered",
        "replayed",
        "leased",
        "dead-lettered",
        "purged",
      ]);
      expectTimeOrdered(events);
      expect(kinds(await store.traceOf(expired.id))).toContain("replayed");
    });

    it("traceByCorrelation answers the events of every message carrying that correlationid", async () => {
      const store = await open();
      const request = msg({ correlationid: "conv-42" });
      const reply = msg({ correlationid: "conv-42" });
      const unrelated = msg({ correlationid: "conv-43" });
      const plain = msg();
      await store.enqueue("agent-a", request);
      const delivery = await receiveOne(store, "agent-a");
      await store.enqueue("agent-b", reply);
      await store.ack(delivery.leaseId);
      await store.enqueue("agent-a", unrelated);
      await store.enqueue("agent-a", plain);

      const events = await store.traceByCorrelation("conv-42");
      expect(new Set(events.map((e) => e.messageId))).toEqual(new Set([request.id, reply.id]));
      expectSubsequence(
        events.filter((e) => e.messageId === request.id).map((e) => e.kind),
        ["accepted", "enqueued", "leased", "acked"],
      );
      expect(events.filter((e) => e.messageId === reply.id).map((e) => e.kind)).toContain("enqueued");
      for (const event of events) {
        if (event.correlationId !== undefined) expect(event.correlationId).toBe("conv-42");
      }
      expect(await store.traceByCorrelation("conv-unknown")).toEqual([]);
    });

    it("a burst of sends from many callers, one of 600 messages: every trace and the correlation are whole", async () => {
      const store = await open();
      const bulk = Array.from({ length: 600 }, () => msg({ correlationid: "burst" }));
      const singles = Array.from({ length: 40 }, () => msg({ correlationid: "burst" }));
      await Promise.all([
        store.enqueueMany(bulk.map((message) => ({ queue: "bulk", message }))),
        ...singles.map((message) => store.enqueue("single", message)),
      ]);
      const leased = await store.receive("bulk", { max: 600 });
      await store.ackMany(leased.map((delivery) => delivery.leaseId));
      for (const message of [bulk[0], bulk[299], bulk[599]]) {
        expect(kinds(await store.traceOf(message?.id ?? ""))).toEqual([
          "accepted",
          "enqueued",
          "leased",
          "acked",
        ]);
      }
      expect(kinds(await store.traceOf(singles[39]?.id ?? ""))).toEqual(["accepted", "enqueued"]);
      const correlated = await store.traceByCorrelation("burst");
      expect(new Set(correlated.map((event) => event.messageId)).size).toBe(640);
    });

    it("traceOf an unknown id answers []", async () => {
      const store = await open();
      expect(await store.traceOf(msg().id)).toEqual([]);
    });

    it("traceRetentionMs: 0 records nothing and the store still works", async () => {
      const store = await open({ traceRetentionMs: 0 });
      const message = msg({ correlationid: "quiet" });
      await store.enqueue("worker", message);
      const delivery = await receiveOne(store, "worker");
      await store.ack(delivery.leaseId);
      expect(await store.traceOf(message.id)).toEqual([]);
      expect(await store.traceByCorrelation("quiet")).toEqual([]);
    });
  });
}
