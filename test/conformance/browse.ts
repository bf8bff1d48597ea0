import { describe, expect, it } from "vitest";
import type { MessageStore, QueuedMessageState } from "../../store/store.js";
import { expectBmnError, isoIn, msg, receiveOne, useStores } from "./helpers.js";
import type { StoreFactory } from "./store-conformance.js";

async function browseAll(store: MessageStore, queue: string, state: QueuedMessageState, limit: number) {
  const ids: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await store.browseQueue(queue, { state, limit, cursor });
    ids.push(...page.messages.map((queued) => queued.message.id));
    cursor = page.nextCursor;
  } while (cursor !== undefined);
  return ids;
}

export function describeBrowse(factory: StoreFactory): void {
  const open = useStores(factory);

  describe("browsing a queue", () => {
    it("pages ready messages in delivery order without leasing them", async () => {
      const store = await open();
      const low = [msg(), msg(), msg()];
      const high = msg({ priority: 9 });
      for (const message of low) await store.enqueue("worker", message);
      await store.enqueue("worker", high);
      expect(await browseAll(store, "worker", "ready", 2)).toEqual([high.id, ...low.map((m) => m.id)]);
      // Nothing was leased: a receive still gets the head of the line.
      expect((await store.queueStats("worker")).inFlight).toBe(0);
      expect((await receiveOne(store, "worker")).message.id).toBe(high.id);
    });

    it("shows delayed and leased messages with their due time and attempts", async () => {
      const store = await open();
      const later = msg({ notbefore: isoIn(60_000) });
      const now = msg();
      await store.enqueue("worker", later);
      await store.enqueue("worker", now);
      const delivery = await receiveOne(store, "worker", { leaseMs: 30_000 });
      const delayed = await store.browseQueue("worker", { state: "delayed" });
      expect(delayed.messages.map((queued) => queued.message.id)).toEqual([later.id]);
      expect(delayed.messages[0]?.dueAt).toBeGreaterThan(Date.now() + 50_000);
      const leased = await store.browseQueue("worker", { state: "leased" });
      expect(leased.messages).toHaveLength(1);
      expect(leased.messages[0]).toMatchObject({ state: "leased", attempts: 1, message: { id: now.id } });
      // The lease's expiry, give or take the backend's clock rounding.
      expect(Math.abs((leased.messages[0]?.dueAt ?? 0) - delivery.leaseExpiresAt)).toBeLessThanOrEqual(5);
      expect((await store.browseQueue("worker", { state: "ready" })).messages).toEqual([]);
    });

    it("answers an empty page for an unknown queue and refuses a forged cursor", async () => {
      const store = await open();
      expect(await store.browseQueue("nobody", { state: "ready" })).toEqual({ messages: [] });
      await expectBmnError(
        () => store.browseQueue("nobody", { state: "ready", cursor: "bm90LWEtY3Vyc29y" }),
        "INVALID_ARGUMENT",
        "cursor",
      );
    });
  });
}
