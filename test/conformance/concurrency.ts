import { describe, expect, it } from "vitest";
import type { BmnError } from "../../core/errors.js";
import type { Delivery, MessageStore } from "../../store/store.js";
import { idsOf, msg, useStores } from "./helpers.js";
import type { StoreFactory } from "./store-conformance.js";

/** Receives and acks in a loop until `total` messages were acked by all consumers together. */
async function consume(
  store: MessageStore,
  agent: string,
  name: string,
  state: { acked: number; total: number; seen: Map<string, string[]>; attempts: number[] },
  deadline: number,
): Promise<void> {
  while (state.acked < state.total && Date.now() < deadline) {
    const batch: Delivery[] = await store.receive(agent, { max: 7, waitMs: 50, actor: name });
    for (const delivery of batch) {
      const holders = state.seen.get(delivery.message.id) ?? [];
      holders.push(name);
      state.seen.set(delivery.message.id, holders);
      state.attempts.push(delivery.attempt);
      await store.ack(delivery.leaseId, { actor: name });
      state.acked++;
    }
  }
}

export function describeConcurrency(factory: StoreFactory): void {
  const open = useStores(factory);

  describe("competing consumers", () => {
    it("N messages over several concurrent receivers with max > 1: each delivered exactly once", async () => {
      const store = await open();
      const total = 120;
      const consumers = 5;
      const state = { acked: 0, total, seen: new Map<string, string[]>(), attempts: [] as number[] };
      const deadline = Date.now() + 15_000;

      // Consumers start first and wait; the producer sends concurrently in small parallel bursts.
      const running = Array.from({ length: consumers }, (_, i) =>
        consume(store, "pool", `replica-${i}`, state, deadline),
      );
      const messages = Array.from({ length: total }, (_, i) => msg({ data: { i } }));
      for (let i = 0; i < total; i += 10) {
        await Promise.all(messages.slice(i, i + 10).map((message) => store.enqueue("pool", message)));
      }
      await Promise.all(running);

      expect(state.acked).toBe(total);
      expect([...state.seen.keys()].sort()).toEqual(messages.map((m) => m.id).sort());
      const repeated = [...state.seen.entries()].filter(([, holders]) => holders.length > 1);
      expect(repeated).toEqual([]);
      expect(state.attempts.every((attempt) => attempt === 1)).toBe(true);
      expect(new Set([...state.seen.values()].flat()).size).toBeGreaterThan(1);
      expect(await store.queueStats("pool")).toMatchObject({ depth: 0, inFlight: 0, deadLettered: 0 });
    });

    it("concurrent enqueues from many callers all land, none twice", async () => {
      const store = await open();
      const messages = Array.from({ length: 60 }, () => msg());
      const results = await Promise.all(
        [...messages, ...messages].map((message) => store.enqueue("burst", message)),
      );
      expect(results.filter((r) => !r.duplicate)).toHaveLength(60);
      expect(results.filter((r) => r.duplicate)).toHaveLength(60);
      expect(await store.queueStats("burst")).toMatchObject({ ready: 60 });
    });

    it("concurrent single acks, fresh and settled ones together: each caller gets its own answer", async () => {
      const store = await open();
      for (let i = 0; i < 20; i++) await store.enqueue("settle", msg());
      const leased = await store.receive("settle", { max: 20 });
      expect(leased).toHaveLength(20);
      const settled = leased.slice(0, 5);
      for (const delivery of settled) await store.ack(delivery.leaseId);
      // The 5 settled leases again, among the 15 fresh ones, all at once: only those 5 are refused.
      const answers = await Promise.allSettled(leased.map((delivery) => store.ack(delivery.leaseId)));
      const refused = answers.flatMap((answer, index) =>
        answer.status === "rejected" ? [{ index, code: (answer.reason as BmnError).code }] : [],
      );
      expect(refused).toEqual(settled.map((_, index) => ({ index, code: "LEASE_NOT_FOUND" })));
      expect(await store.queueStats("settle")).toMatchObject({ ready: 0, inFlight: 0 });
    });

    it("concurrent receives of one message each: every message to one of them, the rest get none", async () => {
      const store = await open();
      const sent = Array.from({ length: 5 }, () => msg());
      for (const message of sent) await store.enqueue("share", message);
      const batches = await Promise.all(Array.from({ length: 12 }, () => store.receive("share", { max: 1 })));
      expect(batches.every((batch) => batch.length <= 1)).toBe(true);
      expect(batches.flatMap(idsOf).sort()).toEqual(sent.map((message) => message.id).sort());
      // Receivers still waiting when the queue ran dry get what is sent next.
      const waiting = Array.from({ length: 3 }, () => store.receive("share", { max: 1, waitMs: 5_000 }));
      const later = [msg(), msg(), msg()];
      for (const message of later) await store.enqueue("share", message);
      const got = await Promise.all(waiting);
      expect(got.flatMap(idsOf).sort()).toEqual(later.map((message) => message.id).sort());
    });
  });
}
