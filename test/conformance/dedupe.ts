import { describe, expect, it } from "vitest";
import { idsOf, msg, receiveAll, receiveOne, since, useStores } from "./helpers.js";
import type { StoreFactory } from "./store-conformance.js";

export function describeDedupe(factory: StoreFactory): void {
  const open = useStores(factory);

  describe("dedupe", () => {
    it("a repeated id is accepted once: duplicate: true, one delivery", async () => {
      const store = await open();
      const message = msg();
      expect(await store.enqueue("worker", message)).toMatchObject({ id: message.id, duplicate: false });
      expect(await store.enqueue("worker", message)).toMatchObject({ id: message.id, duplicate: true });
      expect(await store.enqueue("worker", { ...message, data: { changed: true } })).toMatchObject({
        duplicate: true,
      });
      const got = await receiveAll(store, "worker");
      expect(idsOf(got)).toEqual([message.id]);
      expect(got[0]?.message).toEqual(message);
      expect(await store.queueStats("worker")).toMatchObject({ depth: 0, inFlight: 1 });
    });

    it("a repeated dedupekey is accepted once even with a different id; the first message wins", async () => {
      const store = await open();
      const first = msg({ dedupekey: "order-17" });
      const second = msg({ dedupekey: "order-17" });
      expect(first.id).not.toBe(second.id);
      expect(await store.enqueue("worker", first)).toMatchObject({ duplicate: false });
      expect((await store.enqueue("worker", second)).duplicate).toBe(true);
      expect(idsOf(await receiveAll(store, "worker"))).toEqual([first.id]);
    });

    it("a duplicate is still caught after the original was acked (within the window)", async () => {
      const store = await open();
      const message = msg();
      await store.enqueue("worker", message);
      const delivery = await receiveOne(store, "worker");
      await store.ack(delivery.leaseId);
      expect((await store.enqueue("worker", message)).duplicate).toBe(true);
      expect(await store.receive("worker", { max: 10 })).toEqual([]);
    });

    it("a duplicate does not disturb the original's lease or attempt count", async () => {
      const store = await open();
      const message = msg();
      await store.enqueue("worker", message);
      const delivery = await receiveOne(store, "worker");
      expect((await store.enqueue("worker", message)).duplicate).toBe(true);
      expect(await store.queueStats("worker")).toMatchObject({ inFlight: 1, depth: 0 });
      await store.nack(delivery.leaseId, { delayMs: 0 });
      expect(await receiveOne(store, "worker", { waitMs: 1_000 })).toMatchObject({ attempt: 2 });
    });

    it("dedupe is per destination queue: the same key for two agents is accepted for each", async () => {
      const store = await open();
      const message = msg({ dedupekey: "shared-key" });
      expect((await store.enqueue("agent-a", message)).duplicate).toBe(false);
      expect((await store.enqueue("agent-b", message)).duplicate).toBe(false);
      expect((await store.enqueue("agent-a", message)).duplicate).toBe(true);
      expect((await store.enqueue("agent-b", message)).duplicate).toBe(true);
      expect(idsOf(await receiveAll(store, "agent-a"))).toEqual([message.id]);
      expect(idsOf(await receiveAll(store, "agent-b"))).toEqual([message.id]);
    });

    it("after the dedupe window has passed, the same key is accepted again", async () => {
      const store = await open({ dedupeWindowMs: 150 });
      const message = msg();
      expect((await store.enqueue("worker", message)).duplicate).toBe(false);
      const delivery = await receiveOne(store, "worker");
      await store.ack(delivery.leaseId);
      expect((await store.enqueue("worker", message)).duplicate).toBe(true);
      // An empty queue's long-poll timeout lets the window pass.
      const start = Date.now();
      expect(await store.receive("worker", { waitMs: 300 })).toEqual([]);
      expect(since(start)).toBeGreaterThanOrEqual(150);
      expect((await store.enqueue("worker", message)).duplicate).toBe(false);
      const again = await receiveOne(store, "worker");
      expect(again).toMatchObject({ attempt: 1, message: { id: message.id } });
    });

    it("a duplicate of a message that went to the DLQ is still a duplicate", async () => {
      const store = await open();
      const message = msg();
      await store.enqueue("worker", message);
      const delivery = await receiveOne(store, "worker");
      await store.nack(delivery.leaseId, { deadLetter: true });
      expect((await store.enqueue("worker", message)).duplicate).toBe(true);
      expect(await store.receive("worker", { max: 10 })).toEqual([]);
    });
  });
}
