import { describe, expect, it } from "vitest";
import type { DeadLetter, MessageStore } from "../../store/store.js";
import { expectBmnError, FAST, msg, receiveOne, since, useStores, waitFor } from "./helpers.js";
import type { StoreFactory } from "./store-conformance.js";

const SLACK_MS = 20;

/** Polls (receive + getDeadLetter) until the message shows up in the DLQ; it must never be delivered meanwhile. */
async function awaitDeadLetter(store: MessageStore, agent: string, id: string): Promise<DeadLetter> {
  return waitFor(
    async () => {
      expect(await store.receive(agent, { max: 10, waitMs: 20 })).toEqual([]);
      return store.getDeadLetter(agent, id);
    },
    3_000,
    `message ${id} in the DLQ`,
  );
}

export function describeLeases(factory: StoreFactory): void {
  const open = useStores(factory);

  describe("lease expiry", () => {
    it("an expired lease is redelivered with a higher attempt", async () => {
      const store = await open(FAST);
      const message = msg();
      await store.enqueue("worker", message);
      const first = await receiveOne(store, "worker", { leaseMs: 50 });
      expect(first.attempt).toBe(1);
      const start = Date.now();
      const second = await receiveOne(store, "worker", { waitMs: 3_000, leaseMs: 5_000 });
      expect(Date.now()).toBeGreaterThanOrEqual(first.leaseExpiresAt);
      expect(since(start)).toBeLessThan(2_500);
      expect(second.attempt).toBe(2);
      expect(second.message).toEqual(message);
      expect(second.leaseId).not.toBe(first.leaseId);
      await store.ack(second.leaseId);
      expect(await store.queueStats("worker")).toMatchObject({ depth: 0, inFlight: 0 });
    });

    it("lease expiries count as failed attempts: dead-lettered max-attempts with lease-expired history", async () => {
      const store = await open({ ...FAST, maxAttempts: 2 });
      const message = msg();
      await store.enqueue("worker", message);
      const first = await receiveOne(store, "worker", { leaseMs: 50 });
      const second = await receiveOne(store, "worker", { waitMs: 3_000, leaseMs: 50 });
      expect([first.attempt, second.attempt]).toEqual([1, 2]);

      const record = await awaitDeadLetter(store, "worker", message.id);
      expect(record.reason).toBe("max-attempts");
      expect(record.message).toEqual(message);
      expect(record.attempts).toMatchObject([
        { attempt: 1, outcome: "lease-expired" },
        { attempt: 2, outcome: "lease-expired" },
      ]);
      expect(record.attempts[0]?.at).toBeGreaterThanOrEqual(first.leaseExpiresAt - SLACK_MS);
      expect(record.attempts[1]?.at).toBeGreaterThanOrEqual(second.leaseExpiresAt - SLACK_MS);
      expect(await store.queueStats("worker")).toMatchObject({ depth: 0, inFlight: 0, deadLettered: 1 });
    });

    it("nacks and lease expiries mix in the history; lastError is the last nack reason", async () => {
      const store = await open({ ...FAST, maxAttempts: 2 });
      const message = msg();
      await store.enqueue("worker", message);
      const first = await receiveOne(store, "worker");
      expect((await store.nack(first.leaseId, { delayMs: 0, reason: "boom" })).outcome).toBe("retry");
      const second = await receiveOne(store, "worker", { waitMs: 2_000, leaseMs: 50 });
      expect(second.attempt).toBe(2);

      const record = await awaitDeadLetter(store, "worker", message.id);
      expect(record.reason).toBe("max-attempts");
      expect(record.lastError).toBe("boom");
      expect(record.attempts).toMatchObject([
        { attempt: 1, outcome: "nacked", reason: "boom" },
        { attempt: 2, outcome: "lease-expired" },
      ]);
    });
  });

  describe("extendLease", () => {
    it("answers the new expiry, now + leaseMs", async () => {
      const store = await open();
      await store.enqueue("worker", msg());
      const delivery = await receiveOne(store, "worker", { leaseMs: 1_000 });
      const before = Date.now();
      const extended = await store.extendLease(delivery.leaseId, 20_000);
      const after = Date.now();
      expect(extended.leaseExpiresAt).toBeGreaterThanOrEqual(before + 20_000 - SLACK_MS);
      expect(extended.leaseExpiresAt).toBeLessThanOrEqual(after + 20_000 + SLACK_MS);
    });

    it("keeps a lease alive past its original expiry; the extended lease can still be acked", async () => {
      const store = await open(FAST);
      const message = msg();
      await store.enqueue("worker", message);
      const delivery = await receiveOne(store, "worker", { leaseMs: 150 });
      await store.extendLease(delivery.leaseId, 10_000);
      // Without the extension the message would be back after 150 ms + at most 50 ms backoff.
      expect(await store.receive("worker", { waitMs: 400, max: 10 })).toEqual([]);
      expect(Date.now()).toBeGreaterThan(delivery.leaseExpiresAt);
      expect(await store.queueStats("worker")).toMatchObject({ inFlight: 1, ready: 0, delayed: 0 });
      await store.ack(delivery.leaseId);
      expect(await store.queueStats("worker")).toMatchObject({ inFlight: 0, depth: 0 });
      expect(await store.receive("worker", { waitMs: 100 })).toEqual([]);
    });

    it("can shorten a lease: the message comes back after the new, shorter expiry", async () => {
      const store = await open(FAST);
      const message = msg();
      await store.enqueue("worker", message);
      const delivery = await receiveOne(store, "worker", { leaseMs: 60_000 });
      const { leaseExpiresAt } = await store.extendLease(delivery.leaseId, 50);
      const again = await receiveOne(store, "worker", { waitMs: 3_000 });
      expect(Date.now()).toBeGreaterThanOrEqual(leaseExpiresAt);
      expect(again).toMatchObject({ attempt: 2, message: { id: message.id } });
    });

    it("is capped at policy.maxLeaseMs", async () => {
      const store = await open({ maxLeaseMs: 5_000 });
      await store.enqueue("worker", msg());
      const delivery = await receiveOne(store, "worker", { leaseMs: 1_000 });
      const after = Date.now();
      const extended = await store.extendLease(delivery.leaseId, 3_600_000);
      expect(extended.leaseExpiresAt).toBeLessThanOrEqual(Date.now() + 5_000 + SLACK_MS);
      expect(extended.leaseExpiresAt).toBeGreaterThanOrEqual(after + 5_000 - SLACK_MS);
    });
  });

  describe("settling a lapsed lease", () => {
    it("ack after the lease expired and the message was redelivered to another consumer throws LEASE_EXPIRED; the new holder's ack works", async () => {
      const store = await open(FAST);
      const message = msg();
      await store.enqueue("worker", message);
      const stale = await receiveOne(store, "worker", { leaseMs: 50, actor: "replica-1" });
      const fresh = await receiveOne(store, "worker", { waitMs: 3_000, leaseMs: 10_000, actor: "replica-2" });
      expect(fresh.attempt).toBe(2);

      await expectBmnError(() => store.ack(stale.leaseId), "LEASE_EXPIRED");
      await expectBmnError(() => store.nack(stale.leaseId, { delayMs: 0 }), "LEASE_EXPIRED");
      await expectBmnError(() => store.extendLease(stale.leaseId, 1_000), "LEASE_EXPIRED");
      // None of that touched the new lease.
      expect(await store.queueStats("worker")).toMatchObject({ inFlight: 1, ready: 0, delayed: 0 });

      await store.ack(fresh.leaseId);
      expect(await store.queueStats("worker")).toMatchObject({ inFlight: 0, depth: 0, deadLettered: 0 });
      expect(await store.receive("worker", { waitMs: 100 })).toEqual([]);
    });

    it("ack of a lease whose time ran out throws LEASE_EXPIRED and the message is still redelivered", async () => {
      const store = await open({ backoffBaseMs: 100, backoffMaxMs: 100 });
      const message = msg();
      await store.enqueue("worker", message);
      const stale = await receiveOne(store, "worker", { leaseMs: 50 });
      // Lets the lease lapse; the redelivery may or may not be due yet (backoff is 0-100 ms).
      const early = await store.receive("worker", { waitMs: 150 });
      await expectBmnError(() => store.ack(stale.leaseId), "LEASE_EXPIRED");
      const redelivered = early[0] ?? (await receiveOne(store, "worker", { waitMs: 3_000 }));
      expect(redelivered).toMatchObject({ attempt: 2, message: { id: message.id } });
      await store.ack(redelivered.leaseId);
    });
  });
}
