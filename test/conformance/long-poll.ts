import { describe, expect, it } from "vitest";
import { idsOf, isoIn, msg, receiveOne, since, useStores } from "./helpers.js";
import type { StoreFactory } from "./store-conformance.js";

export function describeLongPoll(factory: StoreFactory): void {
  const open = useStores(factory);

  describe("long-poll receive", () => {
    it("answers at once when a message is already visible", async () => {
      const store = await open();
      const message = msg();
      await store.enqueue("worker", message);
      const start = Date.now();
      const got = await store.receive("worker", { waitMs: 10_000 });
      expect(idsOf(got)).toEqual([message.id]);
      expect(since(start)).toBeLessThan(1_000);
    });

    it("a pending receive resolves when another call enqueues", async () => {
      const store = await open();
      const start = Date.now();
      const pending = store.receive("worker", { waitMs: 10_000, max: 5 });
      const message = msg();
      await store.enqueue("worker", message);
      const got = await pending;
      expect(idsOf(got)).toEqual([message.id]);
      expect(got[0]?.attempt).toBe(1);
      expect(since(start)).toBeLessThan(5_000);
    });

    it("a pending receive resolves when a message is published to a matching topic", async () => {
      const store = await open();
      await store.subscribe("worker", "jobs.*");
      const pending = store.receive("worker", { waitMs: 10_000 });
      const message = msg();
      const result = await store.publish("jobs.new", message);
      expect(result.recipients).toEqual(["worker"]);
      expect(idsOf(await pending)).toEqual([message.id]);
    });

    it("a pending receive resolves when a transaction that enqueued for it commits", async () => {
      const store = await open();
      const tx = await store.beginTransaction();
      const message = msg();
      await store.enqueue("worker", message, { tx });
      const start = Date.now();
      const pending = store.receive("worker", { waitMs: 10_000 });
      await store.commit(tx);
      expect(idsOf(await pending)).toEqual([message.id]);
      expect(since(start)).toBeLessThan(5_000);
    });

    it("a pending receive resolves when a nacked message becomes due", async () => {
      const store = await open();
      const message = msg();
      await store.enqueue("worker", message);
      const first = await receiveOne(store, "worker");
      const result = await store.nack(first.leaseId, { delayMs: 100 });
      const pending = store.receive("worker", { waitMs: 10_000 });
      const got = await pending;
      expect(Date.now()).toBeGreaterThanOrEqual(result.redeliverAt ?? Number.POSITIVE_INFINITY);
      expect(got).toMatchObject([{ attempt: 2, message: { id: message.id } }]);
    });

    it("a pending receive resolves when a notbefore message becomes due", async () => {
      const store = await open();
      const notbefore = isoIn(150);
      const message = msg({ notbefore });
      await store.enqueue("worker", message);
      const start = Date.now();
      const got = await store.receive("worker", { waitMs: 10_000 });
      expect(Date.now()).toBeGreaterThanOrEqual(Date.parse(notbefore));
      expect(idsOf(got)).toEqual([message.id]);
      expect(since(start)).toBeLessThan(5_000);
    });

    it("answers [] once waitMs elapses with nothing to deliver", async () => {
      const store = await open();
      const start = Date.now();
      expect(await store.receive("worker", { waitMs: 150 })).toEqual([]);
      const elapsed = since(start);
      expect(elapsed).toBeGreaterThanOrEqual(140);
      expect(elapsed).toBeLessThan(2_000);
    });

    it("ignores messages for other agents while waiting", async () => {
      const store = await open();
      const pending = store.receive("worker", { waitMs: 200 });
      const other = msg();
      await store.enqueue("someone-else", other);
      expect(await pending).toEqual([]);
      expect(idsOf(await store.receive("someone-else"))).toEqual([other.id]);
    });

    it("an AbortSignal ends the wait with []", async () => {
      const store = await open();
      const controller = new AbortController();
      const start = Date.now();
      const pending = store.receive("worker", { waitMs: 10_000, signal: controller.signal });
      controller.abort();
      expect(await pending).toEqual([]);
      expect(since(start)).toBeLessThan(2_000);
    });

    it("an already aborted signal answers [] without waiting", async () => {
      const store = await open();
      const start = Date.now();
      expect(await store.receive("worker", { waitMs: 10_000, signal: AbortSignal.abort() })).toEqual([]);
      expect(since(start)).toBeLessThan(2_000);
    });

    it("an aborted receive takes no lease: a message sent afterwards goes to the next receive", async () => {
      const store = await open();
      const controller = new AbortController();
      const pending = store.receive("worker", { waitMs: 10_000, signal: controller.signal });
      controller.abort();
      expect(await pending).toEqual([]);
      const message = msg();
      await store.enqueue("worker", message);
      const got = await store.receive("worker", { waitMs: 1_000 });
      expect(got).toMatchObject([{ attempt: 1, message: { id: message.id } }]);
    });

    it("several waiting receivers each get a different message", async () => {
      const store = await open();
      const waiting = [0, 1, 2].map(() => store.receive("worker", { waitMs: 10_000, max: 1 }));
      const messages = [msg(), msg(), msg()];
      for (const message of messages) await store.enqueue("worker", message);
      const results = await Promise.all(waiting);
      for (const result of results) expect(result).toHaveLength(1);
      expect(results.flatMap(idsOf).sort()).toEqual(messages.map((m) => m.id).sort());
    });

    it("a waiting receiver with max > 1 answers with what is there rather than waiting to fill the batch", async () => {
      const store = await open();
      const start = Date.now();
      const pending = store.receive("worker", { waitMs: 10_000, max: 50 });
      await store.enqueue("worker", msg());
      const got = await pending;
      expect(got.length).toBeGreaterThanOrEqual(1);
      expect(since(start)).toBeLessThan(5_000);
    });
  });
}
