import { describe, expect, it } from "vitest";
import { outboxQueueName, type DomainName } from "../../core/names.js";
import { DEAD_LETTER_REASONS, type MessageStore } from "../../store/store.js";
import {
  expectBmnError,
  FAST,
  idsOf,
  isoIn,
  msg,
  receiveAll,
  receiveOne,
  useStores,
  waitFor,
} from "./helpers.js";
import type { StoreFactory } from "./store-conformance.js";

/** The longest domain name there is (63 characters), so its outbox name is the longest queue name (71). */
const LONG_DOMAIN = `d${"x".repeat(61)}z` as DomainName;
const OUTBOX = outboxQueueName("other" as DomainName);
const LONG_OUTBOX = outboxQueueName(LONG_DOMAIN);

/** Outbox queues (`bmn.out.<domain>`) and `nack({ deadLetterReason })`, which gateways build on. */
export function describeOutbox(factory: StoreFactory): void {
  const open = useStores(factory);

  /** Queues one message for `bob@other` in the outbox and leases it, as a gateway's forwarder would. */
  async function leasedInOutbox(
    store: MessageStore,
    outbox: string = OUTBOX,
  ): Promise<{ id: string; leaseId: string }> {
    const message = msg({ to: "bob@other" });
    await store.enqueue(outbox, message);
    const delivery = await receiveOne(store, outbox);
    return { id: message.id, leaseId: delivery.leaseId };
  }

  describe("outbox queues", () => {
    it("enqueue, receive, extend and ack work on bmn.out.<domain>, the message unchanged", async () => {
      const store = await open();
      const message = msg({ to: "bob@other", priority: 7 });
      expect(await store.enqueue(OUTBOX, message)).toEqual({ id: message.id, duplicate: false });
      const delivery = await receiveOne(store, OUTBOX);
      expect(delivery).toMatchObject({ agent: OUTBOX, attempt: 1, message });
      expect(delivery.leaseId.startsWith(`${OUTBOX}.`)).toBe(true);
      const extended = await store.extendLease(delivery.leaseId, 60_000);
      expect(extended.leaseExpiresAt).toBeGreaterThan(Date.now() + 50_000);
      expect(await store.queueStats(OUTBOX)).toMatchObject({ agent: OUTBOX, inFlight: 1, depth: 0 });
      await store.ack(delivery.leaseId);
      await expectBmnError(() => store.ack(delivery.leaseId), "LEASE_NOT_FOUND");
      expect(await store.queueStats(OUTBOX)).toMatchObject({ depth: 0, inFlight: 0, deadLettered: 0 });
    });

    it("accepts the longest outbox name (a 63-character domain) everywhere a queue is taken", async () => {
      const store = await open({ maxAttempts: 1 });
      const message = msg({ to: `bob@${LONG_DOMAIN}` });
      await store.enqueue(LONG_OUTBOX, message);
      const delivery = await receiveOne(store, LONG_OUTBOX);
      expect(delivery.agent).toBe(LONG_OUTBOX);
      // As a gateway gives up after its retry.maxForwardAttempts (the store's own limit does not apply).
      await store.nack(delivery.leaseId, { deadLetterReason: "max-attempts", reason: "peer down" });
      const [letter] = await store.listDeadLetters({ agent: LONG_OUTBOX });
      expect(letter).toMatchObject({ agent: LONG_OUTBOX, reason: "max-attempts", lastError: "peer down" });
      expect(await store.listQueues()).toContain(LONG_OUTBOX);
      const events = await waitFor(async () => {
        const trace = await store.traceOf(message.id);
        return trace.some((event) => event.kind === "dead-lettered") ? trace : undefined;
      });
      expect(events.find((event) => event.kind === "enqueued")?.agent).toBe(LONG_OUTBOX);
    });

    it("listQueues lists outboxes beside agent queues; dedupe and order are per outbox", async () => {
      const store = await open();
      const first = msg({ to: "bob@other" });
      const urgent = msg({ to: "carol@other", priority: 9 });
      await store.enqueue("alice", msg());
      await store.enqueue(OUTBOX, first);
      await store.enqueue(OUTBOX, urgent);
      expect(await store.enqueue(OUTBOX, first)).toEqual({ id: first.id, duplicate: true });
      // The same id to another queue is not a duplicate there.
      expect(await store.enqueue("alice", first)).toEqual({ id: first.id, duplicate: false });
      expect(await store.listQueues()).toEqual(["alice", OUTBOX]);
      expect(idsOf(await receiveAll(store, OUTBOX))).toEqual([urgent.id, first.id]);
    });

    it("a nacked outbox message comes back with its attempt count", async () => {
      const store = await open(FAST);
      const { id, leaseId } = await leasedInOutbox(store);
      expect(await store.nack(leaseId, { delayMs: 0, reason: "peer unreachable" })).toMatchObject({
        outcome: "retry",
      });
      const again = await receiveOne(store, OUTBOX);
      expect(again).toMatchObject({ attempt: 2, message: { id } });
    });

    it("a long-polling receive on an outbox wakes when a message arrives", async () => {
      const store = await open();
      const waiting = store.receive(OUTBOX, { max: 5, waitMs: 5_000 });
      // Whichever comes first, the send or the receiver's watch, the waiting receive gets the message.
      const message = msg({ to: "bob@other" });
      await store.enqueue(OUTBOX, message);
      expect(idsOf(await waiting)).toEqual([message.id]);
    });

    it("an outbox entry sent in a transaction appears at commit, with the rest, and not after rollback", async () => {
      const store = await open();
      const local = msg();
      const remote = msg({ to: "bob@other" });
      const tx = await store.beginTransaction();
      await store.enqueue("alice", local, { tx });
      await store.enqueue(OUTBOX, remote, { tx });
      expect(await store.receive(OUTBOX)).toEqual([]);
      expect(await store.queueStats(OUTBOX)).toMatchObject({ depth: 0 });
      await store.commit(tx);
      expect(idsOf(await receiveAll(store, OUTBOX))).toEqual([remote.id]);
      expect(idsOf(await receiveAll(store, "alice"))).toEqual([local.id]);

      const dropped = await store.beginTransaction();
      await store.enqueue(OUTBOX, msg({ to: "bob@other" }), { tx: dropped });
      await store.enqueue("alice", msg(), { tx: dropped });
      await store.rollback(dropped);
      expect(await store.queueStats(OUTBOX)).toMatchObject({ depth: 0, ready: 0 });
      expect(await store.receive(OUTBOX)).toEqual([]);
      expect(await store.receive("alice")).toEqual([]);
    });

    it("an ack of an outbox lease commits atomically with sends in a transaction", async () => {
      const store = await open();
      const { leaseId } = await leasedInOutbox(store);
      const tx = await store.beginTransaction();
      const local = msg();
      await store.enqueue("alice", local, { tx });
      await store.ack(leaseId, { tx });
      expect(await store.queueStats(OUTBOX)).toMatchObject({ inFlight: 1 });
      await store.commit(tx);
      expect(await store.queueStats(OUTBOX)).toMatchObject({ inFlight: 0, depth: 0 });
      expect(idsOf(await receiveAll(store, "alice"))).toEqual([local.id]);
    });

    it("refuses malformed outbox names with INVALID_ADDRESS naming the argument", async () => {
      const store = await open();
      for (const bad of [
        "bmn.out.",
        "bmn.out.Other",
        "bmn.out.a.b",
        "bmn.out.-x",
        `bmn.out.${"x".repeat(64)}`,
        "bmn.in.other",
        "bmn.out",
        "out.other",
      ]) {
        await expectBmnError(() => store.enqueue(bad, msg()), "INVALID_ADDRESS", "agent", bad);
        await expectBmnError(() => store.receive(bad), "INVALID_ADDRESS", "agent", bad);
        await expectBmnError(() => store.queueStats(bad), "INVALID_ADDRESS", "agent", bad);
      }
      await expectBmnError(() => store.ack(`bmn.out..${msg().id}.1`), "LEASE_NOT_FOUND");
      await expectBmnError(() => store.ack(`bmn.out.Other.${msg().id}.1`), "LEASE_NOT_FOUND");
      expect(await store.listQueues()).toEqual([]);
    });

    it("subscriptions and the registry stay agent-only", async () => {
      const store = await open();
      await expectBmnError(() => store.subscribe(OUTBOX, "a.#"), "INVALID_ADDRESS", "agent");
      await expectBmnError(() => store.registerAgent({ name: OUTBOX }), "INVALID_ADDRESS", "name");
    });
  });

  describe("outbox queues and the delivery attempt limit", () => {
    it("lease expiries beyond maxAttempts do not dead-letter an outbox message; the attempt count still rises", async () => {
      const store = await open({ ...FAST, maxAttempts: 2 });
      const message = msg({ to: "bob@other" });
      await store.enqueue(OUTBOX, message);
      // A gateway that crashes while holding the message, four times over: each lease runs out unsettled.
      for (let attempt = 1; attempt <= 4; attempt++) {
        const delivery = await receiveOne(store, OUTBOX, { waitMs: 3_000, leaseMs: 50 });
        expect(delivery).toMatchObject({ attempt, message: { id: message.id } });
      }
      const last = await receiveOne(store, OUTBOX, { waitMs: 3_000, leaseMs: 60_000 });
      expect(last.attempt).toBe(5);
      expect(await store.listDeadLetters()).toEqual([]);
      expect(await store.queueStats(OUTBOX)).toMatchObject({ inFlight: 1, deadLettered: 0 });
      await store.ack(last.leaseId);

      // The same policy still applies to an agent's queue in the same store.
      const local = msg();
      await store.enqueue("alice", local);
      await receiveOne(store, "alice", { leaseMs: 50 });
      await receiveOne(store, "alice", { waitMs: 3_000, leaseMs: 50 });
      const letter = await waitFor(async () => {
        expect(await store.receive("alice", { max: 10, waitMs: 20 })).toEqual([]);
        return store.getDeadLetter("alice", local.id);
      });
      expect(letter.reason).toBe("max-attempts");
    });

    it("nacks beyond maxAttempts retry an outbox message until the gateway dead-letters it itself", async () => {
      const store = await open({ ...FAST, maxAttempts: 2 });
      const message = msg({ to: "bob@other" });
      await store.enqueue(OUTBOX, message);
      for (let attempt = 1; attempt <= 3; attempt++) {
        const delivery = await receiveOne(store, OUTBOX, { waitMs: 3_000 });
        expect(delivery.attempt).toBe(attempt);
        expect(
          await store.nack(delivery.leaseId, { delayMs: 0, reason: `peer down ${attempt}` }),
        ).toMatchObject({ outcome: "retry" });
      }
      const fourth = await receiveOne(store, OUTBOX, { waitMs: 3_000 });
      expect(fourth.attempt).toBe(4);
      expect(
        await store.nack(fourth.leaseId, { deadLetterReason: "max-attempts", reason: "4 forward attempts" }),
      ).toEqual({ outcome: "dead-lettered", reason: "max-attempts" });
      const letter = await store.getDeadLetter(OUTBOX, message.id);
      expect(letter).toMatchObject({ reason: "max-attempts", lastError: "4 forward attempts" });
      expect(letter?.attempts.map(({ attempt, outcome }) => ({ attempt, outcome }))).toEqual([
        { attempt: 1, outcome: "nacked" },
        { attempt: 2, outcome: "nacked" },
        { attempt: 3, outcome: "nacked" },
        { attempt: 4, outcome: "nacked" },
      ]);
    });

    it("the TTL still applies: an outbox message whose lease ran out after its expiresat is dead-lettered expired", async () => {
      const store = await open({ ...FAST, maxAttempts: 1 });
      const expiresat = isoIn(500);
      const message = msg({ to: "bob@other", expiresat });
      await store.enqueue(OUTBOX, message);
      const delivery = await receiveOne(store, OUTBOX, { leaseMs: 50 });
      expect(delivery.attempt).toBe(1);
      // Nothing receives until the TTL has passed (a clock condition), so no redelivery can come in between.
      await waitFor(() => Date.now() > Date.parse(expiresat) + 10, 3_000, "the TTL to pass");
      const letter = await waitFor(async () => {
        expect(await store.receive(OUTBOX, { max: 10, waitMs: 20 })).toEqual([]);
        return store.getDeadLetter(OUTBOX, message.id);
      });
      expect(letter).toMatchObject({
        reason: "expired",
        attempts: [{ attempt: 1, outcome: "lease-expired" }],
      });

      // And a nack after the TTL passed dead-letters expired, not max-attempts.
      const later = msg({ to: "bob@other", expiresat: isoIn(300) });
      await store.enqueue(OUTBOX, later);
      const held = await receiveOne(store, OUTBOX, { leaseMs: 60_000 });
      await waitFor(() => Date.now() > Date.parse(later.expiresat ?? "") + 10, 3_000, "the TTL to pass");
      expect(await store.nack(held.leaseId, { delayMs: 0 })).toEqual({
        outcome: "dead-lettered",
        reason: "expired",
      });
    });
  });

  describe("nack with deadLetterReason", () => {
    it("dead-letters now with that reason; the free-text reason is the detail", async () => {
      const store = await open({ maxAttempts: 5 });
      const { id, leaseId } = await leasedInOutbox(store);
      const result = await store.nack(leaseId, {
        deadLetterReason: "forbidden",
        reason: "type secret.* may not enter domain other",
      });
      expect(result).toEqual({ outcome: "dead-lettered", reason: "forbidden" });
      const letter = await store.getDeadLetter(OUTBOX, id);
      expect(letter).toMatchObject({
        agent: OUTBOX,
        reason: "forbidden",
        lastError: "type secret.* may not enter domain other",
        attempts: [{ attempt: 1, outcome: "nacked", reason: "type secret.* may not enter domain other" }],
        message: { id, to: "bob@other" },
      });
      expect(await store.listDeadLetters({ reason: "forbidden" })).toHaveLength(1);
      expect(await store.listDeadLetters({ agent: OUTBOX, reason: "forbidden" })).toHaveLength(1);
      expect(await store.queueStats(OUTBOX)).toMatchObject({ depth: 0, inFlight: 0, deadLettered: 1 });
      await expectBmnError(() => store.ack(leaseId), "LEASE_NOT_FOUND");
    });

    it("keeps the earlier attempts, works on agent queues, and without a detail leaves lastError unset", async () => {
      const store = await open({ ...FAST, maxAttempts: 5 });
      const message = msg();
      await store.enqueue("alice", message);
      const first = await receiveOne(store, "alice");
      await store.nack(first.leaseId, { delayMs: 0, reason: "busy" });
      const second = await receiveOne(store, "alice");
      expect(second.attempt).toBe(2);
      expect(await store.nack(second.leaseId, { deadLetterReason: "unroutable" })).toEqual({
        outcome: "dead-lettered",
        reason: "unroutable",
      });
      const letter = await store.getDeadLetter("alice", message.id);
      expect(letter?.reason).toBe("unroutable");
      expect(letter?.attempts.map(({ attempt, outcome }) => ({ attempt, outcome }))).toEqual([
        { attempt: 1, outcome: "nacked" },
        { attempt: 2, outcome: "nacked" },
      ]);
      expect(letter?.attempts[0]?.reason).toBe("busy");
      expect(letter?.attempts[1]?.reason).toBeUndefined();
      expect(letter?.lastError).toBe("busy");

      // Every reason a gateway may give is stored as given.
      for (const reason of DEAD_LETTER_REASONS) {
        const other = msg();
        await store.enqueue("bob", other);
        const delivery = await receiveOne(store, "bob");
        await store.nack(delivery.leaseId, { deadLetterReason: reason, reason: `because ${reason}` });
        expect(await store.getDeadLetter("bob", other.id)).toMatchObject({
          reason,
          lastError: `because ${reason}`,
        });
      }
    });

    it("takes precedence over deadLetter: true and over a delay", async () => {
      const store = await open();
      const { leaseId } = await leasedInOutbox(store);
      expect(
        await store.nack(leaseId, { deadLetter: true, deadLetterReason: "expired", delayMs: 10_000 }),
      ).toMatchObject({ outcome: "dead-lettered", reason: "expired" });
    });

    it("refuses an unknown reason with INVALID_ARGUMENT and changes nothing", async () => {
      const store = await open();
      const { leaseId } = await leasedInOutbox(store);
      await expectBmnError(
        // @ts-expect-error: not a DeadLetterReason, as an untyped caller could pass.
        () => store.nack(leaseId, { deadLetterReason: "nope" }),
        "INVALID_ARGUMENT",
        "deadLetterReason",
      );
      expect(await store.queueStats(OUTBOX)).toMatchObject({ inFlight: 1, deadLettered: 0 });
      await store.ack(leaseId);
    });

    it("a dead-lettered outbox entry can be replayed back into its outbox", async () => {
      const store = await open();
      const { id, leaseId } = await leasedInOutbox(store);
      await store.nack(leaseId, { deadLetterReason: "forbidden", reason: "policy" });
      expect(await store.replayDeadLetters({ agent: OUTBOX })).toBe(1);
      expect(await store.listDeadLetters()).toEqual([]);
      expect(await receiveOne(store, OUTBOX)).toMatchObject({ attempt: 1, message: { id } });
    });
  });
}
