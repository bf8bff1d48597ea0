import { describe, expect, it } from "vitest";
import type { DeliveryPolicy, MessageStore } from "../../store/store.js";
import { expectBmnError, FAST, idsOf, msg, receiveAll, receiveOne, since, useStores } from "./helpers.js";
import type { StoreFactory } from "./store-conformance.js";

/** A well-formed transaction id that no store handed out. */
const UNKNOWN_TX = "tx-0190a6f2-3c1d-7b6e-8a4f-1234567890ab";

/** Every call that takes a transaction must refuse `tx` with TX_NOT_FOUND (and change nothing). */
async function expectTxGone(store: MessageStore, tx: string, leaseId: string): Promise<void> {
  await store.subscribe("tx-target", "tx.#");
  await expectBmnError(() => store.commit(tx), "TX_NOT_FOUND");
  await expectBmnError(() => store.rollback(tx), "TX_NOT_FOUND");
  await expectBmnError(() => store.savepoint(tx), "TX_NOT_FOUND");
  await expectBmnError(() => store.rollbackToSavepoint(tx, 1), "TX_NOT_FOUND");
  await expectBmnError(() => store.enqueue("tx-target", msg(), { tx }), "TX_NOT_FOUND");
  await expectBmnError(() => store.publish("tx.topic", msg(), { tx }), "TX_NOT_FOUND");
  await expectBmnError(() => store.ack(leaseId, { tx }), "TX_NOT_FOUND");
}

export function describeTransactions(factory: StoreFactory): void {
  const open = useStores(factory);

  /** A store with one leased message on "source"; answers the lease id. */
  async function withLease(
    policy: Partial<DeliveryPolicy> = {},
    leaseMs?: number,
  ): Promise<{ store: MessageStore; leaseId: string; sourceId: string }> {
    const store = await open(policy);
    const source = msg();
    await store.enqueue("source", source);
    const delivery = await receiveOne(store, "source", leaseMs === undefined ? {} : { leaseMs });
    return { store, leaseId: delivery.leaseId, sourceId: source.id };
  }

  describe("transactions", () => {
    it("open transactions and writes per transaction are capped, with clear codes, and nothing half-added", async () => {
      const store = await open({ maxOpenTransactions: 2, maxTransactionOps: 3 });
      const first = await store.beginTransaction();
      const second = await store.beginTransaction();
      await expectBmnError(() => store.beginTransaction(), "TOO_MANY_TRANSACTIONS");
      await store.rollback(second);
      const third = await store.beginTransaction();
      await store.subscribe("cap-a", "cap.#");
      await store.subscribe("cap-b", "cap.#");
      await store.enqueue("cap-a", msg(), { tx: first });
      await store.publish("cap.x", msg(), { tx: first });
      // Two recipients would make four writes: the publish is refused whole.
      await expectBmnError(() => store.publish("cap.y", msg(), { tx: first }), "TX_TOO_LARGE");
      await expectBmnError(() => store.enqueue("cap-a", msg(), { tx: first }), "TX_TOO_LARGE");
      await store.commit(first);
      expect(await receiveAll(store, "cap-a")).toHaveLength(2);
      expect(await receiveAll(store, "cap-b")).toHaveLength(1);
      await store.rollback(third);
    });

    it("beginTransaction answers a tx-<uuid> id, distinct each time", async () => {
      const store = await open();
      const a = await store.beginTransaction();
      const b = await store.beginTransaction({ timeoutMs: 5_000 });
      expect(a).toMatch(/^tx-[0-9a-f-]{36}$/);
      expect(b).toMatch(/^tx-[0-9a-f-]{36}$/);
      expect(a).not.toBe(b);
      await store.rollback(a);
      await store.rollback(b);
    });

    it("sends and acks inside a transaction are invisible until commit, then visible together", async () => {
      const { store, leaseId } = await withLease();
      const tx = await store.beginTransaction();
      const out1 = msg();
      const out2 = msg();
      const sent = await store.enqueue("sink", out1, { tx });
      expect(sent).toMatchObject({ id: out1.id, duplicate: false });
      await store.enqueue("sink", out2, { tx });
      await store.ack(leaseId, { tx });

      expect(await store.receive("sink", { max: 10 })).toEqual([]);
      expect(await store.queueStats("sink")).toMatchObject({ depth: 0, ready: 0, inFlight: 0 });
      expect(await store.queueStats("source")).toMatchObject({ inFlight: 1 });

      await store.commit(tx);
      expect(await store.queueStats("source")).toMatchObject({ inFlight: 0, depth: 0 });
      await expectBmnError(() => store.ack(leaseId), "LEASE_NOT_FOUND");
      expect(idsOf(await receiveAll(store, "sink"))).toEqual([out1.id, out2.id]);
    });

    it("a publish inside a transaction fans out only at commit", async () => {
      const store = await open();
      await store.subscribe("agent-a", "jobs.*");
      await store.subscribe("agent-b", "jobs.#");
      const tx = await store.beginTransaction();
      const message = msg();
      await store.publish("jobs.new", message, { tx });
      expect(await store.receive("agent-a", { max: 10 })).toEqual([]);
      expect(await store.receive("agent-b", { max: 10 })).toEqual([]);
      await store.commit(tx);
      expect(idsOf(await receiveAll(store, "agent-a"))).toEqual([message.id]);
      expect(idsOf(await receiveAll(store, "agent-b"))).toEqual([message.id]);
    });

    it("rollback leaves nothing; the acked message is still leased and can be settled or redelivered", async () => {
      const { store, leaseId, sourceId } = await withLease();
      const tx = await store.beginTransaction();
      const out = msg();
      await store.enqueue("sink", out, { tx });
      await store.ack(leaseId, { tx });
      await store.rollback(tx);

      expect(await store.receive("sink", { max: 10 })).toEqual([]);
      expect(await store.queueStats("sink")).toMatchObject({ depth: 0, inFlight: 0 });
      expect(await store.queueStats("source")).toMatchObject({ inFlight: 1 });
      await store.nack(leaseId, { delayMs: 0 });
      const again = await receiveOne(store, "source", { waitMs: 1_000 });
      expect(again).toMatchObject({ attempt: 2, message: { id: sourceId } });
      await store.ack(again.leaseId);
    });

    it("a rolled-back send does not use up its dedupe key", async () => {
      const store = await open();
      const message = msg();
      const tx = await store.beginTransaction();
      await store.enqueue("sink", message, { tx });
      await store.rollback(tx);
      expect((await store.enqueue("sink", message)).duplicate).toBe(false);
      expect(idsOf(await receiveAll(store, "sink"))).toEqual([message.id]);
    });

    it("a committed send counts for dedupe like any other", async () => {
      const store = await open();
      const message = msg();
      const tx = await store.beginTransaction();
      await store.enqueue("sink", message, { tx });
      await store.commit(tx);
      expect((await store.enqueue("sink", message)).duplicate).toBe(true);
      expect(await receiveAll(store, "sink")).toHaveLength(1);
    });

    it("rollbackToSavepoint drops only the work done after the savepoint", async () => {
      const { store, leaseId } = await withLease();
      const tx = await store.beginTransaction();
      const [m1, m2, m3, m4] = [msg(), msg(), msg(), msg()];
      await store.enqueue("sink", m1, { tx });
      const sp = await store.savepoint(tx);
      await store.enqueue("sink", m2, { tx });
      await store.ack(leaseId, { tx });
      await store.rollbackToSavepoint(tx, sp);
      await store.enqueue("sink", m3, { tx });
      expect(await store.receive("sink", { max: 10 })).toEqual([]);
      await store.commit(tx);

      expect(idsOf(await receiveAll(store, "sink"))).toEqual([m1.id, m3.id]);
      // The ack after the savepoint was dropped: the lease is still held and settles normally.
      expect(await store.queueStats("source")).toMatchObject({ inFlight: 1 });
      await store.ack(leaseId);
      // The dropped send's key is free again.
      expect((await store.enqueue("sink", m2)).duplicate).toBe(false);
      expect((await store.enqueue("sink", m4)).duplicate).toBe(false);
    });

    it("nested savepoints: rolling back to the inner one keeps work between outer and inner", async () => {
      const store = await open();
      const tx = await store.beginTransaction();
      const [a, b, c, d] = [msg(), msg(), msg(), msg()];
      await store.enqueue("sink", a, { tx });
      const outer = await store.savepoint(tx);
      await store.enqueue("sink", b, { tx });
      const inner = await store.savepoint(tx);
      expect(inner).not.toBe(outer);
      await store.enqueue("sink", c, { tx });
      await store.rollbackToSavepoint(tx, inner);
      await store.enqueue("sink", d, { tx });
      await store.commit(tx);
      expect(idsOf(await receiveAll(store, "sink"))).toEqual([a.id, b.id, d.id]);
    });

    it("rolling back to an outer savepoint drops everything after it, including inner savepoints' work", async () => {
      const store = await open();
      const tx = await store.beginTransaction();
      const [a, b, c] = [msg(), msg(), msg()];
      await store.enqueue("sink", a, { tx });
      const outer = await store.savepoint(tx);
      await store.enqueue("sink", b, { tx });
      await store.savepoint(tx);
      await store.enqueue("sink", c, { tx });
      await store.rollbackToSavepoint(tx, outer);
      await store.commit(tx);
      expect(idsOf(await receiveAll(store, "sink"))).toEqual([a.id]);
    });

    it("commit with an ack whose lease was settled meanwhile fails TX_CONFLICT and applies nothing", async () => {
      const store = await open();
      const [s1, s2] = [msg(), msg()];
      await store.enqueue("source", s1);
      await store.enqueue("source", s2);
      const [d1, d2] = await store.receive("source", { max: 2 });
      if (d1 === undefined || d2 === undefined) throw new Error("expected two deliveries");

      const tx = await store.beginTransaction();
      const out = msg();
      await store.enqueue("sink", out, { tx });
      await store.ack(d1.leaseId, { tx });
      await store.ack(d2.leaseId, { tx });
      await store.ack(d1.leaseId); // settled outside the transaction
      await expectBmnError(() => store.commit(tx), "TX_CONFLICT");

      expect(await store.receive("sink", { max: 10 })).toEqual([]);
      expect(await store.queueStats("sink")).toMatchObject({ depth: 0 });
      // d2's ack was not applied either.
      expect(await store.queueStats("source")).toMatchObject({ inFlight: 1 });
      await store.ack(d2.leaseId);
      // The failed transaction's send did not consume its dedupe key.
      expect((await store.enqueue("sink", out)).duplicate).toBe(false);
    });

    it("commit with an ack whose lease expired and was redelivered fails TX_CONFLICT and applies nothing", async () => {
      const { store, leaseId, sourceId } = await withLease(FAST, 200);
      const tx = await store.beginTransaction();
      const out = msg();
      await store.enqueue("sink", out, { tx });
      await store.ack(leaseId, { tx });
      const redelivered = await receiveOne(store, "source", { waitMs: 3_000 });
      expect(redelivered).toMatchObject({ attempt: 2, message: { id: sourceId } });

      await expectBmnError(() => store.commit(tx), "TX_CONFLICT");
      expect(await store.receive("sink", { max: 10 })).toEqual([]);
      await store.ack(redelivered.leaseId);
      expect(await store.queueStats("source")).toMatchObject({ depth: 0, inFlight: 0 });
    });

    it("a transaction not committed within timeoutMs is rolled back; using it afterwards throws TX_NOT_FOUND", async () => {
      const { store, leaseId } = await withLease();
      const tx = await store.beginTransaction({ timeoutMs: 100 });
      await store.enqueue("sink", msg(), { tx });
      await store.ack(leaseId, { tx });
      const start = Date.now();
      // Waiting on the sink's empty queue lets the timeout pass (and shows nothing leaked out).
      expect(await store.receive("sink", { waitMs: 300 })).toEqual([]);
      expect(since(start)).toBeGreaterThanOrEqual(100);

      await expectTxGone(store, tx, leaseId);
      expect(await store.receive("sink", { max: 10 })).toEqual([]);
      // The ack was discarded with it: the lease is still live.
      expect(await store.queueStats("source")).toMatchObject({ inFlight: 1 });
      await store.ack(leaseId);
    });

    it("the default transaction timeout is policy.transactionTimeoutMs", async () => {
      const store = await open({ transactionTimeoutMs: 100 });
      const tx = await store.beginTransaction();
      await store.enqueue("sink", msg(), { tx });
      expect(await store.receive("sink", { waitMs: 300 })).toEqual([]);
      await expectBmnError(() => store.commit(tx), "TX_NOT_FOUND");
      expect(await store.receive("sink", { max: 10 })).toEqual([]);
    });

    it("an unknown transaction id throws TX_NOT_FOUND everywhere", async () => {
      const { store, leaseId } = await withLease();
      await expectTxGone(store, UNKNOWN_TX, leaseId);
      expect(await store.queueStats("source")).toMatchObject({ inFlight: 1 });
      expect(await store.receive("tx-target", { max: 10 })).toEqual([]);
    });

    it("publish with an unknown transaction throws TX_NOT_FOUND even when no agent subscribes", async () => {
      const store = await open();
      await expectBmnError(() => store.publish("nobody.listens", msg(), { tx: UNKNOWN_TX }), "TX_NOT_FOUND");
      const tx = await store.beginTransaction();
      await store.commit(tx);
      await expectBmnError(() => store.publish("nobody.listens", msg(), { tx }), "TX_NOT_FOUND");
    });

    it("a malformed transaction id throws TX_NOT_FOUND", async () => {
      const { store, leaseId } = await withLease();
      for (const bad of [
        "garbage",
        "tx-",
        "tx-zzzz",
        "' OR 1=1 --",
        "tx-0190a6f2-3c1d-7b6e-8a4f-1234567890ab\n",
      ]) {
        await expectTxGone(store, bad, leaseId);
      }
      await expectBmnError(() => store.commit(""), "TX_NOT_FOUND");
      await expectBmnError(() => store.rollback(""), "TX_NOT_FOUND");
      expect(await store.queueStats("source")).toMatchObject({ inFlight: 1 });
      expect(await store.receive("tx-target", { max: 10 })).toEqual([]);
    });

    it("a committed transaction is finished: using it again throws TX_NOT_FOUND", async () => {
      const { store, leaseId } = await withLease();
      const tx = await store.beginTransaction();
      await store.enqueue("sink", msg(), { tx });
      await store.commit(tx);
      await expectTxGone(store, tx, leaseId);
      expect(await receiveAll(store, "sink")).toHaveLength(1);
      expect(await store.queueStats("source")).toMatchObject({ inFlight: 1 });
    });

    it("a rolled-back transaction is finished: using it again throws TX_NOT_FOUND", async () => {
      const { store, leaseId } = await withLease();
      const tx = await store.beginTransaction();
      await store.enqueue("sink", msg(), { tx });
      await store.rollback(tx);
      await expectTxGone(store, tx, leaseId);
      expect(await store.receive("sink", { max: 10 })).toEqual([]);
      expect(await store.queueStats("source")).toMatchObject({ inFlight: 1 });
    });

    it("an empty transaction commits", async () => {
      const store = await open();
      const tx = await store.beginTransaction();
      await store.commit(tx);
      await expectBmnError(() => store.commit(tx), "TX_NOT_FOUND");
    });

    it("two open transactions stay independent", async () => {
      const store = await open();
      const kept = msg();
      const dropped = msg();
      const t1 = await store.beginTransaction();
      const t2 = await store.beginTransaction();
      await store.enqueue("sink", kept, { tx: t1 });
      await store.enqueue("sink", dropped, { tx: t2 });
      await store.rollback(t2);
      await store.commit(t1);
      expect(idsOf(await receiveAll(store, "sink"))).toEqual([kept.id]);
    });
  });
}
