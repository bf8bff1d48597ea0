import { describe, expect, it } from "vitest";
import type { Message } from "../../core/envelope.js";
import type { MessageStore } from "../../store/store.js";
import {
  expectBmnError,
  idsOf,
  isoIn,
  msg,
  nextMillisecond,
  receiveAll,
  receiveOne,
  rejectOne,
  useStores,
} from "./helpers.js";
import type { StoreFactory } from "./store-conformance.js";

interface Seeded {
  aRejected: Message;
  aExpired: Message;
  bRejected: Message;
  bMaxAttempts: Message;
  aRejected2: Message;
}

/** Five dead letters over two agents and three reasons, dead-lettered in this order. */
async function seed(store: MessageStore): Promise<Seeded> {
  // Each dead-lettering lands in its own millisecond, so "oldest first" has exactly one answer.
  const aRejected = await rejectOne(store, "agent-a");
  await nextMillisecond();
  const aExpired = msg({ expiresat: isoIn(-5_000) });
  expect((await store.enqueue("agent-a", aExpired)).deadLettered).toBe("expired");
  await nextMillisecond();
  const bRejected = await rejectOne(store, "agent-b");
  await nextMillisecond();
  const bMaxAttempts = msg();
  await store.enqueue("agent-b", bMaxAttempts);
  const delivery = await receiveOne(store, "agent-b");
  // The store below runs with maxAttempts 1, so the first nack is the last.
  expect(await store.nack(delivery.leaseId, { reason: "gave up" })).toMatchObject({
    outcome: "dead-lettered",
    reason: "max-attempts",
  });
  await nextMillisecond();
  const aRejected2 = await rejectOne(store, "agent-a");
  return { aRejected, aExpired, bRejected, bMaxAttempts, aRejected2 };
}

const ids = (records: readonly { message: Message }[]): string[] => records.map((r) => r.message.id);

export function describeDlq(factory: StoreFactory): void {
  const open = useStores(factory);

  describe("dead-letter queue", () => {
    it("listDeadLetters answers every record, oldest first, with full context", async () => {
      const store = await open({ maxAttempts: 1 });
      const s = await seed(store);
      const all = await store.listDeadLetters();
      expect(ids(all)).toEqual([
        s.aRejected.id,
        s.aExpired.id,
        s.bRejected.id,
        s.bMaxAttempts.id,
        s.aRejected2.id,
      ]);
      const times = all.map((r) => r.deadLetteredAt);
      expect([...times].sort((x, y) => x - y)).toEqual(times);
      expect(all.map((r) => r.reason)).toEqual([
        "rejected",
        "expired",
        "rejected",
        "max-attempts",
        "rejected",
      ]);
      expect(all.map((r) => r.agent)).toEqual(["agent-a", "agent-a", "agent-b", "agent-b", "agent-a"]);
      expect(all[0]?.message).toEqual(s.aRejected);
      expect(all[3]).toMatchObject({ lastError: "gave up", attempts: [{ attempt: 1, outcome: "nacked" }] });
      expect(all[1]?.attempts).toEqual([]);
    });

    it("filters by agent, by reason, by both, and honours limit (oldest first)", async () => {
      const store = await open({ maxAttempts: 1 });
      const s = await seed(store);
      expect(ids(await store.listDeadLetters({ agent: "agent-a" }))).toEqual([
        s.aRejected.id,
        s.aExpired.id,
        s.aRejected2.id,
      ]);
      expect(ids(await store.listDeadLetters({ reason: "rejected" }))).toEqual([
        s.aRejected.id,
        s.bRejected.id,
        s.aRejected2.id,
      ]);
      expect(ids(await store.listDeadLetters({ agent: "agent-b", reason: "rejected" }))).toEqual([
        s.bRejected.id,
      ]);
      expect(ids(await store.listDeadLetters({ reason: "max-attempts" }))).toEqual([s.bMaxAttempts.id]);
      expect(await store.listDeadLetters({ reason: "forbidden" })).toEqual([]);
      expect(await store.listDeadLetters({ agent: "nobody" })).toEqual([]);
      expect(ids(await store.listDeadLetters({ limit: 2 }))).toEqual([s.aRejected.id, s.aExpired.id]);
      expect(ids(await store.listDeadLetters({ agent: "agent-a", limit: 1 }))).toEqual([s.aRejected.id]);
      expect(ids(await store.listDeadLetters({ reason: "rejected", limit: 2 }))).toEqual([
        s.aRejected.id,
        s.bRejected.id,
      ]);
    });

    it("getDeadLetter answers one record by agent and id, undefined otherwise", async () => {
      const store = await open({ maxAttempts: 1 });
      const s = await seed(store);
      const record = await store.getDeadLetter("agent-b", s.bMaxAttempts.id);
      expect(record).toMatchObject({ agent: "agent-b", reason: "max-attempts", lastError: "gave up" });
      expect(record?.message).toEqual(s.bMaxAttempts);
      expect(await store.getDeadLetter("agent-a", s.bMaxAttempts.id)).toBeUndefined();
      expect(await store.getDeadLetter("agent-a", msg().id)).toBeUndefined();
      expect(await store.getDeadLetter("nobody", s.aRejected.id)).toBeUndefined();
    });

    it("replay re-queues to the original agent with a fresh attempt count, bypassing dedupe, and removes it from the DLQ", async () => {
      const store = await open({ maxAttempts: 1 });
      const s = await seed(store);
      // The key is still inside the dedupe window: a plain re-send is a duplicate.
      expect((await store.enqueue("agent-b", s.bMaxAttempts)).duplicate).toBe(true);

      expect(await store.replayDeadLetters({ ids: [s.bMaxAttempts.id] })).toBe(1);
      expect(await store.getDeadLetter("agent-b", s.bMaxAttempts.id)).toBeUndefined();
      expect(ids(await store.listDeadLetters({ agent: "agent-b" }))).toEqual([s.bRejected.id]);

      const delivery = await receiveOne(store, "agent-b", { waitMs: 1_000 });
      expect(delivery.attempt).toBe(1);
      expect(delivery.message).toEqual(s.bMaxAttempts);
      // Attempts really were reset: with maxAttempts 1 this nack is again the last one.
      expect(await store.nack(delivery.leaseId, { reason: "again" })).toMatchObject({
        outcome: "dead-lettered",
        reason: "max-attempts",
      });
      expect(await store.getDeadLetter("agent-b", s.bMaxAttempts.id)).toMatchObject({ lastError: "again" });
    });

    it("replay of an expired message to its agent", async () => {
      const store = await open({ maxAttempts: 1 });
      const s = await seed(store);
      expect(await store.replayDeadLetters({ reason: "expired" })).toBe(1);
      // It expired already, so it may go straight back to the DLQ; it must not stay lost in between.
      const delivered = await store.receive("agent-a", { max: 10 });
      const back = await store.getDeadLetter("agent-a", s.aExpired.id);
      expect(delivered.length + (back === undefined ? 0 : 1)).toBe(1);
    });

    it("replay to another agent queues it there and not at the original", async () => {
      const store = await open({ maxAttempts: 1 });
      const s = await seed(store);
      expect(await store.replayDeadLetters({ ids: [s.aRejected.id] }, { to: "rescuer" })).toBe(1);
      expect(await store.getDeadLetter("agent-a", s.aRejected.id)).toBeUndefined();
      const got = await receiveAll(store, "rescuer");
      expect(got).toMatchObject([{ attempt: 1, agent: "rescuer" }]);
      expect(got[0]?.message).toEqual(s.aRejected);
      expect(await store.receive("agent-a", { max: 10 })).toEqual([]);
      expect(await store.listQueues()).toContain("rescuer");
    });

    it("replay by agent and by reason answers the count and replays only matches", async () => {
      const store = await open({ maxAttempts: 1 });
      const s = await seed(store);
      expect(await store.replayDeadLetters({ agent: "agent-a", reason: "rejected" })).toBe(2);
      expect(idsOf(await receiveAll(store, "agent-a"))).toEqual([s.aRejected.id, s.aRejected2.id]);
      expect(ids(await store.listDeadLetters())).toEqual([s.aExpired.id, s.bRejected.id, s.bMaxAttempts.id]);
      expect(await store.replayDeadLetters({ agent: "agent-b" })).toBe(2);
      expect(idsOf(await receiveAll(store, "agent-b"))).toEqual([s.bRejected.id, s.bMaxAttempts.id]);
      expect(await store.replayDeadLetters({ agent: "agent-b" })).toBe(0);
      expect(await store.replayDeadLetters({ ids: [msg().id] })).toBe(0);
    });

    it("purge deletes matching records and answers the count", async () => {
      const store = await open({ maxAttempts: 1 });
      const s = await seed(store);
      expect(await store.purgeDeadLetters({ ids: [s.aExpired.id] })).toBe(1);
      expect(await store.getDeadLetter("agent-a", s.aExpired.id)).toBeUndefined();
      expect(await store.purgeDeadLetters({ reason: "rejected", agent: "agent-a" })).toBe(2);
      expect(ids(await store.listDeadLetters())).toEqual([s.bRejected.id, s.bMaxAttempts.id]);
      expect(await store.purgeDeadLetters({ reason: "rejected", agent: "agent-a" })).toBe(0);
      expect(await store.purgeDeadLetters({})).toBe(2);
      expect(await store.listDeadLetters()).toEqual([]);
      expect(await store.queueStats("agent-b")).toMatchObject({ deadLettered: 0 });
      // Purged messages are not delivered anywhere.
      expect(await store.receive("agent-a", { max: 10 })).toEqual([]);
      expect(await store.receive("agent-b", { max: 10 })).toEqual([]);
    });

    it("purge with deadLetteredBefore leaves letters dead-lettered after that time", async () => {
      const store = await open();
      const old = msg({ expiresat: isoIn(-1_000) });
      await store.enqueue("agent-a", old);
      const cutoff = (await store.getDeadLetter("agent-a", old.id))?.deadLetteredAt ?? 0;
      await nextMillisecond();
      const recent = msg({ expiresat: isoIn(-1_000) });
      await store.enqueue("agent-a", recent);
      expect(await store.purgeDeadLetters({ deadLetteredBefore: cutoff })).toBe(1);
      expect(ids(await store.listDeadLetters())).toEqual([recent.id]);
      expect(
        await store.purgeDeadLetters({ ids: [recent.id], agent: "agent-a", deadLetteredBefore: cutoff }),
      ).toBe(0);
    });

    it("queueStats.deadLettered follows dead-lettering, replay and purge", async () => {
      const store = await open({ maxAttempts: 1 });
      const s = await seed(store);
      expect(await store.queueStats("agent-a")).toMatchObject({ deadLettered: 3, depth: 0, inFlight: 0 });
      expect(await store.queueStats("agent-b")).toMatchObject({ deadLettered: 2 });
      await store.replayDeadLetters({ ids: [s.aRejected.id] });
      expect(await store.queueStats("agent-a")).toMatchObject({ deadLettered: 2, ready: 1, depth: 1 });
      await store.purgeDeadLetters({ agent: "agent-a" });
      expect(await store.queueStats("agent-a")).toMatchObject({ deadLettered: 0, ready: 1 });
    });

    it("pages through the DLQ with a cursor: same order as one listing, no record twice, none left out", async () => {
      const store = await open({ maxAttempts: 1 });
      const s = await seed(store);
      const all = [s.aRejected.id, s.aExpired.id, s.bRejected.id, s.bMaxAttempts.id, s.aRejected2.id];
      for (const filter of [{}, { agent: "agent-a" }, { reason: "rejected" as const }]) {
        const seen: string[] = [];
        let cursor: string | undefined;
        for (let pages = 0; pages < 10; pages++) {
          const page = await store.listDeadLetterPage({ ...filter, limit: 2, cursor });
          expect(page.deadLetters.length).toBeLessThanOrEqual(2);
          seen.push(...ids(page.deadLetters));
          cursor = page.nextCursor;
          if (cursor === undefined) break;
        }
        expect(cursor).toBeUndefined();
        expect(seen).toEqual(ids(await store.listDeadLetters(filter)));
      }
      expect(ids(await store.listDeadLetters({ limit: 5 }))).toEqual(all);
    });

    it("a cursor stays valid while records before it are purged", async () => {
      const store = await open({ maxAttempts: 1 });
      const s = await seed(store);
      const first = await store.listDeadLetterPage({ limit: 2 });
      expect(ids(first.deadLetters)).toEqual([s.aRejected.id, s.aExpired.id]);
      expect(await store.purgeDeadLetters({ ids: [s.aRejected.id, s.aExpired.id] })).toBe(2);
      const next = await store.listDeadLetterPage({ limit: 2, cursor: first.nextCursor });
      expect(ids(next.deadLetters)).toEqual([s.bRejected.id, s.bMaxAttempts.id]);
    });

    it("a cursor the store did not hand out is INVALID_ARGUMENT (field cursor)", async () => {
      const store = await open();
      for (const cursor of [
        "not a cursor",
        "eyJ4IjoxfQ",
        Buffer.from('[1,"Bad:Name","x"]').toString("base64url"),
      ])
        await expectBmnError(() => store.listDeadLetterPage({ cursor }), "INVALID_ARGUMENT", "cursor");
    });

    it("purge and replay honour limit, oldest first, and leave the rest", async () => {
      const store = await open({ maxAttempts: 1 });
      const s = await seed(store);
      expect(await store.purgeDeadLetters({ limit: 2 })).toBe(2);
      expect(ids(await store.listDeadLetters())).toEqual([
        s.bRejected.id,
        s.bMaxAttempts.id,
        s.aRejected2.id,
      ]);
      expect(await store.replayDeadLetters({ agent: "agent-b", limit: 1 })).toBe(1);
      expect(ids(await store.listDeadLetters())).toEqual([s.bMaxAttempts.id, s.aRejected2.id]);
    });

    it("replay to an invalid agent throws INVALID_ADDRESS (field to) and leaves the DLQ intact", async () => {
      const store = await open({ maxAttempts: 1 });
      await seed(store);
      await expectBmnError(() => store.replayDeadLetters({}, { to: "Bad:Name" }), "INVALID_ADDRESS", "to");
      expect(await store.listDeadLetters()).toHaveLength(5);
    });
  });
}
