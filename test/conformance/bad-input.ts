import { describe, expect, it } from "vitest";
import type { Message } from "../../core/envelope.js";
import { BmnError } from "../../core/errors.js";
import type { MessageStore } from "../../store/store.js";
import {
  expectBmnError,
  idsOf,
  isoIn,
  msg,
  receiveAll,
  receiveOne,
  rejectOne,
  useStores,
} from "./helpers.js";
import type { StoreFactory } from "./store-conformance.js";

/**
 * Data laid down before the bad calls. `verify` checks that every piece survived untouched and that the store
 * still works; it settles the held lease, so call it once, at the end.
 */
interface Canary {
  verify(): Promise<void>;
}

async function seedCanary(store: MessageStore): Promise<Canary> {
  await store.subscribe("canary", "canary.#");
  await store.registerAgent({ name: "canary", capabilities: ["canary-cap"], ttlMs: 60_000 });
  const [m1, m2, m3] = [msg({ priority: 6 }), msg(), msg({ dedupekey: "canary-key" })];
  const rejected = await rejectOne(store, "canary");
  for (const message of [m1, m2, m3]) await store.enqueue("canary", message);
  const held = await receiveOne(store, "canary", { leaseMs: 60_000 });
  expect(held.message.id).toBe(m1.id);
  const delayed = msg({ notbefore: isoIn(600_000) });
  await store.enqueue("canary", delayed);

  return {
    async verify() {
      expect(await store.queueStats("canary")).toEqual({
        agent: "canary",
        depth: 3,
        ready: 2,
        delayed: 1,
        inFlight: 1,
        deadLettered: 1,
      });
      expect((await store.listSubscriptions("canary")).map((s) => s.pattern)).toEqual(["canary.#"]);
      expect((await store.listAgents({ capability: "canary-cap" })).map((a) => a.name)).toEqual(["canary"]);
      const dead = await store.getDeadLetter("canary", rejected.id);
      expect(dead?.reason).toBe("rejected");
      expect(dead?.message).toEqual(rejected);
      expect((await store.enqueue("canary", m3)).duplicate).toBe(true);

      await store.ack(held.leaseId);
      const rest = await receiveAll(store, "canary");
      expect(idsOf(rest)).toEqual([m2.id, m3.id]);
      expect(rest.map((d) => d.attempt)).toEqual([1, 1]);
      expect(rest[0]?.message).toEqual(m2);
      for (const delivery of rest) await store.ack(delivery.leaseId);

      const fresh = msg();
      expect((await store.publish("canary.ping", fresh)).recipients).toEqual(["canary"]);
      expect(idsOf(await receiveAll(store, "canary"))).toEqual([fresh.id]);
    },
  };
}

/** [label, value]; every one must be refused as an agent name. */
const BAD_AGENT_NAMES: [string, unknown][] = [
  ["with *", "agent*"],
  ["only *", "*"],
  ["with {", "agent{x"],
  ["with }", "agent}x"],
  ["redis hash tag", "{agent}"],
  ["with :", "beast:mailbox"],
  ["with newline", "agent\nother"],
  ["trailing newline", "agent\n"],
  ["with CR LF", "agent\r\n"],
  ["uppercase", "Agent"],
  ["empty", ""],
  ["64 characters", "a".repeat(64)],
  ["with space", "my agent"],
  ["with dot", "my.agent"],
  ["with slash", "a/b"],
  ["leading hyphen", "-agent"],
  ["trailing hyphen", "agent-"],
  ["underscore", "my_agent"],
  ["SQL injection", "x'; DROP TABLE messages; --"],
  ["Lua injection", "x\"]) redis.call('FLUSHALL') --"],
  ["unicode", "agënt"],
  ["NUL byte", "agent\u0000"],
  ["number", 42],
];

const BAD_TOPICS: [string, string][] = [
  ["empty", ""],
  ["empty segment", "orders..created"],
  ["leading dot", ".orders"],
  ["trailing dot", "orders."],
  ["wildcard *", "orders.*"],
  ["wildcard #", "orders.#"],
  ["space", "orders created"],
  ["slash", "orders/created"],
  ["colon", "orders:created"],
  ["braces", "{orders}"],
  ["newline", "orders\ncreated"],
  ["unicode", "ördérs"],
  ["segment over 64", "a".repeat(65)],
  ["over 255 in total", Array.from({ length: 30 }, () => "abcdefghi").join(".")],
];

const BAD_PATTERNS: [string, string][] = [
  ["empty", ""],
  ["empty segment", "orders..*"],
  ["partial *", "orders.creat*"],
  ["partial #", "orders.#x"],
  ["* inside a segment", "a*b"],
  ["trailing dot", "orders.#."],
  ["space", "orders. *"],
  ["colon", "orders:*"],
  ["braces", "{orders}.*"],
  ["newline", "orders.*\n"],
  ["over 255 in total", Array.from({ length: 30 }, () => "abcdefghi").join(".")],
];

/** Values no count or duration accepts. */
const BAD_NUMBERS: [string, unknown][] = [
  ["negative", -1],
  ["fraction", 1.5],
  ["NaN", Number.NaN],
  ["Infinity", Number.POSITIVE_INFINITY],
  ["string", "10"],
];

export function describeBadInput(factory: StoreFactory): void {
  const open = useStores(factory);

  describe("bad input", () => {
    describe("agent names", () => {
      it("accepts a 63-character name and names with digits and inner hyphens", async () => {
        const store = await open();
        for (const name of ["a".repeat(63), "0", "a-1-b", "9lives"]) {
          const message = msg();
          expect((await store.enqueue(name, message)).duplicate).toBe(false);
          expect(idsOf(await store.receive(name))).toEqual([message.id]);
        }
      });

      for (const [label, value] of BAD_AGENT_NAMES) {
        it(`rejects an agent name ${label} with INVALID_ADDRESS in every call`, async () => {
          const store = await open();
          const canary = await seedCanary(store);
          const name = value as string;
          const tx = await store.beginTransaction();
          const calls: [string, () => Promise<unknown>, string | undefined][] = [
            ["enqueue", () => store.enqueue(name, msg()), "agent"],
            ["enqueue in a transaction", () => store.enqueue(name, msg(), { tx }), "agent"],
            ["receive", () => store.receive(name), "agent"],
            ["receive with waitMs", () => store.receive(name, { waitMs: 10_000 }), "agent"],
            ["subscribe", () => store.subscribe(name, "canary.#"), "agent"],
            ["unsubscribe", () => store.unsubscribe(name, "canary.#"), "agent"],
            ["listSubscriptions", () => store.listSubscriptions(name), "agent"],
            ["queueStats", () => store.queueStats(name), "agent"],
            ["getDeadLetter", () => store.getDeadLetter(name, msg().id), "agent"],
            ["listDeadLetters", () => store.listDeadLetters({ agent: name }), "agent"],
            ["replayDeadLetters filter", () => store.replayDeadLetters({ agent: name }), "agent"],
            ["purgeDeadLetters filter", () => store.purgeDeadLetters({ agent: name }), "agent"],
            ["replayDeadLetters to", () => store.replayDeadLetters({}, { to: name }), "to"],
            ["heartbeat", () => store.heartbeat(name), "agent"],
            ["deregisterAgent", () => store.deregisterAgent(name), "agent"],
            ["registerAgent", () => store.registerAgent({ name, capabilities: ["x"] }), undefined],
          ];
          for (const [method, call, field] of calls) {
            await expectBmnError(call, "INVALID_ADDRESS", field, method);
          }
          await store.commit(tx);
          await canary.verify();
        });
      }
    });

    describe("topics and patterns", () => {
      it("rejects bad topics on publish with INVALID_ARGUMENT (field topic)", async () => {
        const store = await open();
        const canary = await seedCanary(store);
        for (const [label, topic] of BAD_TOPICS) {
          await expectBmnError(() => store.publish(topic, msg()), "INVALID_ARGUMENT", "topic", label);
        }
        await canary.verify();
      });

      it("rejects bad patterns on subscribe and unsubscribe with INVALID_ARGUMENT (field pattern)", async () => {
        const store = await open();
        const canary = await seedCanary(store);
        for (const [label, pattern] of BAD_PATTERNS) {
          await expectBmnError(
            () => store.subscribe("canary", pattern),
            "INVALID_ARGUMENT",
            "pattern",
            label,
          );
          await expectBmnError(
            () => store.unsubscribe("canary", pattern),
            "INVALID_ARGUMENT",
            "pattern",
            label,
          );
        }
        await canary.verify();
      });

      it("accepts topics and patterns at the edges of the grammar", async () => {
        const store = await open();
        for (const pattern of ["#", "*", "a.*.#", "#.z", "A_b-9.*", "x".repeat(64)]) {
          await store.subscribe("edge", pattern);
        }
        expect(await store.listSubscriptions("edge")).toHaveLength(6);
        expect((await store.publish("x".repeat(64), msg())).recipients).toEqual(["edge"]);
        expect((await store.publish("A_b-9.q", msg())).recipients).toEqual(["edge"]);
      });
    });

    describe("numbers", () => {
      it("rejects bad max, leaseMs and waitMs on receive with INVALID_ARGUMENT naming the field", async () => {
        const store = await open();
        const canary = await seedCanary(store);
        const asNumber = (value: unknown) => value as number;
        await expectBmnError(() => store.receive("canary", { max: 0 }), "INVALID_ARGUMENT", "max", "zero");
        for (const [label, value] of BAD_NUMBERS) {
          await expectBmnError(
            () => store.receive("canary", { max: asNumber(value) }),
            "INVALID_ARGUMENT",
            "max",
            label,
          );
          await expectBmnError(
            () => store.receive("canary", { leaseMs: asNumber(value) }),
            "INVALID_ARGUMENT",
            "leaseMs",
            label,
          );
          await expectBmnError(
            () => store.receive("canary", { waitMs: asNumber(value) }),
            "INVALID_ARGUMENT",
            "waitMs",
            label,
          );
        }
        await canary.verify();
      });

      it("rejects bad delayMs on nack and bad leaseMs on extendLease, leaving the lease intact", async () => {
        const store = await open();
        const canary = await seedCanary(store);
        const message = msg();
        await store.enqueue("worker", message);
        const delivery = await receiveOne(store, "worker", { leaseMs: 60_000 });
        for (const [label, value] of BAD_NUMBERS) {
          await expectBmnError(
            () => store.nack(delivery.leaseId, { delayMs: value as number }),
            "INVALID_ARGUMENT",
            "delayMs",
            label,
          );
          await expectBmnError(
            () => store.extendLease(delivery.leaseId, value as number),
            "INVALID_ARGUMENT",
            "leaseMs",
            label,
          );
        }
        expect(await store.queueStats("worker")).toMatchObject({ inFlight: 1, depth: 0 });
        expect((await store.nack(delivery.leaseId, { delayMs: 0 })).outcome).toBe("retry");
        expect(await receiveOne(store, "worker", { waitMs: 1_000 })).toMatchObject({
          attempt: 2,
          message: { id: message.id },
        });
        await canary.verify();
      });

      it("rejects bad ttlMs on registerAgent and heartbeat, and bad timeoutMs on beginTransaction", async () => {
        const store = await open();
        const canary = await seedCanary(store);
        for (const [label, value] of BAD_NUMBERS) {
          await expectBmnError(
            () => store.registerAgent({ name: "newcomer", ttlMs: value as number }),
            "INVALID_ARGUMENT",
            "ttlMs",
            label,
          );
          await expectBmnError(
            () => store.heartbeat("canary", value as number),
            "INVALID_ARGUMENT",
            "ttlMs",
            label,
          );
          await expectBmnError(
            () => store.beginTransaction({ timeoutMs: value as number }),
            "INVALID_ARGUMENT",
            undefined,
            label,
          );
        }
        expect((await store.listAgents()).map((a) => a.name)).toEqual(["canary"]);
        await canary.verify();
      });

      it("rejects a bad limit on listDeadLetters", async () => {
        const store = await open();
        const canary = await seedCanary(store);
        for (const value of [-1, 1.5, Number.NaN]) {
          await expectBmnError(() => store.listDeadLetters({ limit: value }), "INVALID_ARGUMENT");
        }
        await canary.verify();
      });
    });

    describe("leases", () => {
      it("an unknown or malformed lease id throws LEASE_NOT_FOUND for ack, nack and extendLease", async () => {
        const store = await open();
        const canary = await seedCanary(store);
        const message = msg();
        await store.enqueue("worker", message);
        const real = (await receiveOne(store, "worker")).leaseId;
        const bad = [
          // The same shape, but naming a message that does not exist (when the id embeds the message id).
          real.split(message.id).join(msg().id),
          "nope",
          "",
          " ",
          "x".repeat(10_000),
          "'; DROP TABLE leases; --",
          "{lease}:*",
          "lease\nid",
          `${real}\n`,
          `${real}x`,
          `x${real}`,
        ].filter((id) => id !== real);
        for (const leaseId of bad) {
          const label = JSON.stringify(leaseId.slice(0, 80));
          await expectBmnError(() => store.ack(leaseId), "LEASE_NOT_FOUND", undefined, label);
          await expectBmnError(() => store.nack(leaseId), "LEASE_NOT_FOUND", undefined, label);
          await expectBmnError(
            () => store.nack(leaseId, { deadLetter: true }),
            "LEASE_NOT_FOUND",
            undefined,
            label,
          );
          await expectBmnError(() => store.extendLease(leaseId, 1_000), "LEASE_NOT_FOUND", undefined, label);
        }
        expect(await store.queueStats("worker")).toMatchObject({ inFlight: 1, deadLettered: 0 });
        await store.ack(real);
        await canary.verify();
      });

      it("a tampered lease id (one character changed) is refused and changes nothing", async () => {
        const store = await open();
        const canary = await seedCanary(store);
        await store.enqueue("worker", msg());
        const real = (await receiveOne(store, "worker")).leaseId;
        const tampered = new Set<string>();
        for (const index of [0, Math.floor(real.length / 2), real.length - 1]) {
          const char = real[index] ?? "";
          const swapped = char === "0" ? "1" : char === "a" ? "b" : "0";
          tampered.add(real.slice(0, index) + swapped + real.slice(index + 1));
        }
        tampered.delete(real);
        for (const leaseId of tampered) {
          // A store cannot always tell a forged token from one superseded by redelivery, so either code is fine.
          for (const call of [
            () => store.ack(leaseId),
            () => store.nack(leaseId, { deadLetter: true }),
            () => store.extendLease(leaseId, 1),
          ]) {
            const error = await call().then(
              () => undefined,
              (caught: unknown) => caught,
            );
            expect(error, leaseId).toBeInstanceOf(BmnError);
            expect(["LEASE_NOT_FOUND", "LEASE_EXPIRED"], leaseId).toContain((error as BmnError).code);
          }
        }
        expect(await store.queueStats("worker")).toMatchObject({ inFlight: 1, deadLettered: 0 });
        await store.ack(real);
        await canary.verify();
      });

      it("a double ack throws LEASE_NOT_FOUND and changes nothing", async () => {
        const store = await open();
        const canary = await seedCanary(store);
        await store.enqueue("worker", msg());
        const next = msg();
        await store.enqueue("worker", next);
        const delivery = await receiveOne(store, "worker");
        await store.ack(delivery.leaseId);
        await expectBmnError(() => store.ack(delivery.leaseId), "LEASE_NOT_FOUND");
        expect(await store.queueStats("worker")).toMatchObject({ ready: 1, inFlight: 0 });
        expect(idsOf(await receiveAll(store, "worker"))).toEqual([next.id]);
        await canary.verify();
      });

      it("nack or extendLease after ack throws LEASE_NOT_FOUND", async () => {
        const store = await open();
        const canary = await seedCanary(store);
        await store.enqueue("worker", msg());
        const delivery = await receiveOne(store, "worker");
        await store.ack(delivery.leaseId);
        await expectBmnError(() => store.nack(delivery.leaseId), "LEASE_NOT_FOUND");
        await expectBmnError(() => store.nack(delivery.leaseId, { deadLetter: true }), "LEASE_NOT_FOUND");
        await expectBmnError(() => store.extendLease(delivery.leaseId, 1_000), "LEASE_NOT_FOUND");
        expect(await store.queueStats("worker")).toMatchObject({ depth: 0, inFlight: 0, deadLettered: 0 });
        expect(await store.listDeadLetters({ agent: "worker" })).toEqual([]);
        await canary.verify();
      });

      it("ack, nack or extendLease after a nack throws LEASE_NOT_FOUND and the redelivery is unaffected", async () => {
        const store = await open();
        const canary = await seedCanary(store);
        const message = msg();
        await store.enqueue("worker", message);
        const delivery = await receiveOne(store, "worker");
        await store.nack(delivery.leaseId, { delayMs: 0 });
        await expectBmnError(() => store.ack(delivery.leaseId), "LEASE_NOT_FOUND");
        await expectBmnError(() => store.nack(delivery.leaseId), "LEASE_NOT_FOUND");
        await expectBmnError(() => store.extendLease(delivery.leaseId, 1_000), "LEASE_NOT_FOUND");
        const again = await receiveOne(store, "worker", { waitMs: 1_000 });
        expect(again).toMatchObject({ attempt: 2, message: { id: message.id } });
        await store.ack(again.leaseId);
        await canary.verify();
      });

      it("a lease id from a dead-lettered delivery throws LEASE_NOT_FOUND", async () => {
        const store = await open();
        const canary = await seedCanary(store);
        await store.enqueue("worker", msg());
        const delivery = await receiveOne(store, "worker");
        await store.nack(delivery.leaseId, { deadLetter: true });
        await expectBmnError(() => store.ack(delivery.leaseId), "LEASE_NOT_FOUND");
        expect(await store.queueStats("worker")).toMatchObject({ deadLettered: 1 });
        await canary.verify();
      });
    });

    describe("odd but valid values", () => {
      it("stores injection-like field values verbatim and keeps keys apart", async () => {
        const store = await open();
        const canary = await seedCanary(store);
        const weird: Message = msg({
          correlationid: "'; DROP TABLE messages; -- {tag}:* \" ]] redis.call('FLUSHALL')",
          dedupekey: "canary:key/../x",
          subject: "line1 \\n line2 \\u0000 end ]] {x}",
          // Control characters are refused in attributes, but data carries anything.
          data: {
            sql: "1' OR '1'='1",
            lua: "]]..redis.call('DEL', KEYS[1])..[[",
            key: "bmn:{canary}:q",
            text: "line1\nline2\r\n\u0000end",
          },
        });
        expect((await store.enqueue("worker", weird)).duplicate).toBe(false);
        const got = await receiveOne(store, "worker");
        expect(got.message).toEqual(weird);
        const trace = await store.traceByCorrelation(weird.correlationid ?? "");
        expect(trace.map((e) => e.messageId)).toContain(weird.id);
        await store.ack(got.leaseId);
        // Keys that are prefixes of one another do not collide.
        expect((await store.enqueue("worker", msg({ dedupekey: "canary:key" }))).duplicate).toBe(false);
        expect((await store.enqueue("worker", msg({ dedupekey: "canary" }))).duplicate).toBe(false);
        await canary.verify();
      });

      it("traceOf and getDeadLetter with odd ids answer nothing or a clear error, never harm", async () => {
        const store = await open();
        const canary = await seedCanary(store);
        for (const id of ["*", "{x}", "a b", "'; --", "\n", "x".repeat(5_000)]) {
          for (const call of [() => store.traceOf(id), () => store.getDeadLetter("canary", id)]) {
            try {
              const result = await call();
              expect(result === undefined || (Array.isArray(result) && result.length === 0)).toBe(true);
            } catch (error) {
              expect(error).toBeInstanceOf(BmnError);
              expect((error as BmnError).code).toBe("INVALID_ARGUMENT");
            }
          }
        }
        await canary.verify();
      });
    });
  });
}
