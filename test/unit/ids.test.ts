import fc from "fast-check";
import { describe, expect, it, vi } from "vitest";
import {
  MESSAGE_ID_PATTERN,
  messageIdSchema,
  newMessageId,
  newTransactionId,
  transactionIdSchema,
  uuidv7,
  uuidv7Time,
} from "../../core/ids.js";

const UUIDV7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const MAX_48_BIT = 2 ** 48 - 1;

/** A fresh copy of core/ids.ts, so tests that pass explicit clocks do not disturb each other's counters. */
async function freshIds(): Promise<typeof import("../../core/ids.js")> {
  vi.resetModules();
  return import("../../core/ids.js");
}

/** The 128 bits of a UUID as a bigint. */
function uuidBits(id: string): bigint {
  return BigInt(`0x${id.replaceAll("-", "")}`);
}

describe("uuidv7", () => {
  it("has the RFC 9562 layout: version 7 and variant 10", () => {
    for (let i = 0; i < 2000; i++) {
      const id = uuidv7();
      expect(id).toMatch(UUIDV7);
      const bits = uuidBits(id);
      expect((bits >> 76n) & 0xfn).toBe(7n); // version nibble
      expect((bits >> 62n) & 0b11n).toBe(0b10n); // variant bits
    }
  });

  it("embeds the current Unix millisecond in the first 48 bits", () => {
    const before = Date.now();
    const id = uuidv7();
    const after = Date.now();
    const time = Number(uuidBits(id) >> 80n);
    expect(uuidv7Time(id)).toBe(time);
    expect(time).toBeGreaterThanOrEqual(before);
    expect(time).toBeLessThanOrEqual(after + 1); // a full per-millisecond counter may borrow the next ms
  });

  it("is strictly increasing for many ids made in a tight loop (within the same millisecond)", () => {
    const ids = Array.from({ length: 20_000 }, () => newMessageId());
    const times = new Set(ids.map((id) => uuidv7Time(id)));
    expect(times.size).toBeLessThan(ids.length); // many shared a millisecond
    for (let i = 1; i < ids.length; i++) {
      const previous = ids[i - 1] ?? "";
      const current = ids[i] ?? "";
      if (!(previous < current)) expect.fail(`id ${i} (${current}) does not sort after ${previous}`);
    }
    expect(new Set(ids).size).toBe(ids.length);
  });

  it("stays strictly increasing when the clock is stuck on one millisecond, borrowing the next on overflow", async () => {
    const ids = await freshIds();
    const now = Date.UTC(2030, 0, 1);
    const made = Array.from({ length: 5000 }, () => ids.uuidv7(now));
    for (let i = 1; i < made.length; i++) {
      const previous = made[i - 1] ?? "";
      const current = made[i] ?? "";
      if (!(previous < current)) expect.fail(`id ${i} (${current}) does not sort after ${previous}`);
    }
    // 12 counter bits give at most 4096 ids per millisecond; the rest move to the next one, no further.
    expect(ids.uuidv7Time(made[0] ?? "")).toBe(now);
    expect(ids.uuidv7Time(made.at(-1) ?? "")).toBe(now + 1);
    const perMillisecond = new Map<number | undefined, number>();
    for (const id of made) {
      const time = ids.uuidv7Time(id);
      perMillisecond.set(time, (perMillisecond.get(time) ?? 0) + 1);
    }
    expect([...perMillisecond.keys()]).toEqual([now, now + 1]);
    for (const count of perMillisecond.values()) expect(count).toBeLessThanOrEqual(4096);
  });

  it("stays strictly increasing whatever the clock does (property)", async () => {
    const ids = await freshIds();
    let previous = "";
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 2 ** 47 }), { minLength: 1, maxLength: 50 }),
        (clock) => {
          for (const now of clock) {
            const id = ids.uuidv7(now);
            expect(id).toMatch(UUIDV7);
            expect(id > previous).toBe(true);
            previous = id;
          }
        },
      ),
    );
  });

  it("round-trips the time through uuidv7Time (property)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(fc.integer({ min: 0, max: MAX_48_BIT }), { minLength: 1, maxLength: 20 }),
        async (times) => {
          const ids = await freshIds();
          for (const time of [...times].sort((a, b) => a - b)) {
            expect(ids.uuidv7Time(ids.uuidv7(time))).toBe(time);
          }
        },
      ),
      { numRuns: 50 },
    );
  });

  it("uuidv7Time returns undefined for ids that are not UUIDv7", () => {
    expect(uuidv7Time("0190a1b2-c3d4-4e5f-8a6b-7c8d9e0f1a2b")).toBeUndefined(); // version 4
    expect(uuidv7Time("0190a1b2-c3d4-7e5f-ca6b-7c8d9e0f1a2b")).toBeUndefined(); // wrong variant
    expect(uuidv7Time("0190A1B2-C3D4-7E5F-8A6B-7C8D9E0F1A2B")).toBeUndefined(); // uppercase
    expect(uuidv7Time("my-message-1")).toBeUndefined();
    expect(uuidv7Time("")).toBeUndefined();
    expect(uuidv7Time("0190a1b2-c3d4-7e5f-8a6b-7c8d9e0f1a2b")).toBe(0x0190a1b2c3d4);
  });

  it("newTransactionId is tx-<uuidv7> and passes transactionIdSchema", () => {
    const id = newTransactionId();
    expect(id).toMatch(/^tx-/);
    expect(id.slice(3)).toMatch(UUIDV7);
    expect(transactionIdSchema.safeParse(id).success).toBe(true);
    expect(transactionIdSchema.safeParse("tx-nope").success).toBe(false);
    expect(transactionIdSchema.safeParse(newMessageId()).success).toBe(false);
  });
});

describe("messageIdSchema", () => {
  const accepts = (value: unknown) => messageIdSchema.safeParse(value).success;

  it("accepts generated ids and ids of 1-128 safe characters", () => {
    expect(accepts(newMessageId())).toBe(true);
    expect(accepts("a")).toBe(true);
    expect(accepts("A-z_0.9~")).toBe(true);
    expect(accepts("x".repeat(128))).toBe(true);
    fc.assert(fc.property(fc.stringMatching(/^[A-Za-z0-9._~-]{1,128}$/), (id) => accepts(id)));
  });

  it.each(["{", "}", "*", ":", "\n", " ", "/", "@", "#", "%", "'", '"', "\\", "\0", "é"])(
    "rejects an id containing %j",
    (bad) => {
      expect(accepts(bad)).toBe(false);
      expect(accepts(`abc${bad}`)).toBe(false);
      expect(accepts(`${bad}abc`)).toBe(false);
      expect(accepts(`ab${bad}cd`)).toBe(false);
    },
  );

  it("rejects a trailing newline, the empty string, more than 128 characters and non-strings", () => {
    expect(accepts("abc\n")).toBe(false);
    expect(accepts("")).toBe(false);
    expect(accepts("x".repeat(129))).toBe(false);
    expect(accepts("x".repeat(10_000))).toBe(false);
    expect(accepts(42)).toBe(false);
    expect(accepts(null)).toBe(false);
  });

  it("rejects any string with a character outside letters, digits, '.', '_', '~', '-' (property)", () => {
    const safe = /^[A-Za-z0-9._~-]$/;
    fc.assert(
      fc.property(
        fc.stringMatching(/^[A-Za-z0-9._~-]{0,60}$/),
        fc.string({ unit: "binary", minLength: 1, maxLength: 1 }).filter((c) => !safe.test(c)),
        fc.stringMatching(/^[A-Za-z0-9._~-]{0,60}$/),
        (before, bad, after) => {
          expect(accepts(before + bad + after)).toBe(false);
        },
      ),
    );
  });

  it("MESSAGE_ID_PATTERN agrees with the schema", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 140 }), (value) => {
        expect(accepts(value)).toBe(MESSAGE_ID_PATTERN.test(value));
      }),
    );
  });
});
