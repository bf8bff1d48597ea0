import { describe, expect, it } from "vitest";
import { expectBmnError, isoIn, msg, receiveOne, useStores, waitFor } from "./helpers.js";
import type { StoreFactory } from "./store-conformance.js";

export function describeStats(factory: StoreFactory): void {
  const open = useStores(factory);

  describe("queue stats", () => {
    it("a fresh store has no queues and zero stats", async () => {
      const store = await open();
      expect(await store.listQueues()).toEqual([]);
      expect(await store.queueStats("worker")).toEqual({
        agent: "worker",
        depth: 0,
        ready: 0,
        delayed: 0,
        inFlight: 0,
        deadLettered: 0,
      });
    });

    it("counts ready, delayed, inFlight and deadLettered, with depth = ready + delayed", async () => {
      const store = await open();
      for (let i = 0; i < 3; i++) await store.enqueue("worker", msg());
      await store.enqueue("worker", msg({ notbefore: isoIn(60_000) }));
      await store.enqueue("worker", msg({ expiresat: isoIn(-1_000) }));
      expect(await store.queueStats("worker")).toEqual({
        agent: "worker",
        depth: 4,
        ready: 3,
        delayed: 1,
        inFlight: 0,
        deadLettered: 1,
      });

      const delivery = await receiveOne(store, "worker");
      expect(await store.queueStats("worker")).toEqual({
        agent: "worker",
        depth: 3,
        ready: 2,
        delayed: 1,
        inFlight: 1,
        deadLettered: 1,
      });

      await store.nack(delivery.leaseId, { delayMs: 60_000 });
      expect(await store.queueStats("worker")).toEqual({
        agent: "worker",
        depth: 4,
        ready: 2,
        delayed: 2,
        inFlight: 0,
        deadLettered: 1,
      });

      const two = await store.receive("worker", { max: 10 });
      expect(two).toHaveLength(2);
      for (const d of two) await store.ack(d.leaseId);
      expect(await store.queueStats("worker")).toEqual({
        agent: "worker",
        depth: 2,
        ready: 0,
        delayed: 2,
        inFlight: 0,
        deadLettered: 1,
      });
      expect(await store.queueStats("other")).toMatchObject({ depth: 0, inFlight: 0, deadLettered: 0 });
    });

    it("a delayed message counts as ready once it is due, and as inFlight once leased", async () => {
      const store = await open();
      const notbefore = isoIn(100);
      await store.enqueue("worker", msg({ notbefore }));
      expect(await store.queueStats("worker")).toMatchObject({ ready: 0, delayed: 1, depth: 1 });
      const stats = await waitFor(
        async () => {
          const current = await store.queueStats("worker");
          return current.ready === 1 ? current : undefined;
        },
        3_000,
        "the delayed message to count as ready",
      );
      expect(Date.now()).toBeGreaterThanOrEqual(Date.parse(notbefore));
      expect(stats).toMatchObject({ ready: 1, delayed: 0, depth: 1, inFlight: 0 });
      await receiveOne(store, "worker");
      expect(await store.queueStats("worker")).toMatchObject({ ready: 0, delayed: 0, depth: 0, inFlight: 1 });
    });

    it("deleteQueue drops a queue with its messages, leases, dedupe window and dead letters", async () => {
      const store = await open({ maxAttempts: 1 });
      const kept = msg();
      await store.enqueue("inbox", kept);
      await store.enqueue("inbox", msg({ expiresat: isoIn(-1_000) }));
      const leased = await receiveOne(store, "inbox");
      await store.enqueue("inbox", msg());
      await store.enqueue("other", msg());
      expect(await store.deleteQueue("inbox")).toBe(true);
      expect(await store.listQueues()).toEqual(["other"]);
      expect(await store.queueStats("inbox")).toMatchObject({ depth: 0, inFlight: 0, deadLettered: 0 });
      await expectBmnError(() => store.ack(leased.leaseId), "LEASE_NOT_FOUND");
      expect(await store.deleteQueue("inbox")).toBe(false);
      // The dedupe window went with it: the same id is a new message there now.
      expect(await store.enqueue("inbox", kept)).toMatchObject({ duplicate: false });
      expect(await store.queueStats("other")).toMatchObject({ depth: 1 });
    });

    it("no read creates a queue", async () => {
      const store = await open();
      expect(await store.receive("ghost", { max: 5 })).toEqual([]);
      expect(await store.receive("ghost", { waitMs: 20 })).toEqual([]);
      await store.queueStats("ghost");
      await store.listDeadLetters({ agent: "ghost" });
      await store.getDeadLetter("ghost", msg().id);
      await store.purgeDeadLetters({ agent: "ghost" });
      await expectBmnError(() => store.ack("ghost.m-1.1"), "LEASE_NOT_FOUND");
      await expectBmnError(() => store.nack("ghost.m-1.1"), "LEASE_NOT_FOUND");
      expect(await store.listQueues()).toEqual([]);
      expect((await store.listQueuePage()).queues).toEqual([]);
    });

    it("listQueuePage answers every queue once over capped pages", async () => {
      const store = await open();
      const names = ["alpha", "bravo", "charlie", "delta", "echo"];
      for (const name of names) await store.enqueue(name, msg());
      const seen: string[] = [];
      let cursor: string | undefined;
      for (let pages = 0; pages < 20; pages++) {
        const page = await store.listQueuePage({ limit: 2, cursor });
        seen.push(...page.queues);
        cursor = page.nextCursor;
        if (cursor === undefined) break;
      }
      expect(cursor).toBeUndefined();
      expect([...seen].sort()).toEqual(names);
      await expectBmnError(() => store.listQueuePage({ cursor: "%%%" }), "INVALID_ARGUMENT", "cursor");
    });

    it("listQueues names every agent that has had a message queued", async () => {
      const store = await open();
      await store.enqueue("alpha", msg());
      await store.enqueue("bravo", msg());
      await store.subscribe("charlie", "news.#");
      await store.publish("news.today", msg());
      await store.subscribe("delta", "never.published");
      const delivery = await receiveOne(store, "alpha");
      await store.ack(delivery.leaseId);
      expect([...(await store.listQueues())].sort()).toEqual(["alpha", "bravo", "charlie"]);
    });
  });
}
