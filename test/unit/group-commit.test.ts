import { describe, expect, it, vi } from "vitest";
import { GroupCommit, KeyedGroupCommit, type GroupResult } from "../../store/group-commit.js";
import type { LeaseBatch } from "../../store/backend-types.js";
import type { MessageId } from "../../core/ids.js";
import { splitLeaseBatch } from "../../store/split-lease-batch.js";

/** A flush whose groups the test releases by hand, recording what each group held. */
function manualFlush<I>(): {
  groups: I[][];
  release: (index: number, results?: GroupResult<string>[]) => void;
  fail: (index: number, error: unknown) => void;
  flush: (items: I[]) => Promise<GroupResult<string>[]>;
} {
  const groups: I[][] = [];
  const pending: { resolve: (results: GroupResult<string>[]) => void; reject: (error: unknown) => void }[] =
    [];
  return {
    groups,
    flush: (items) => {
      groups.push(items);
      return new Promise((resolve, reject) => pending.push({ resolve, reject }));
    },
    release: (index, results) =>
      pending[index]?.resolve(
        results ?? (groups[index] ?? []).map((item) => ({ value: `done ${String(item)}` })),
      ),
    fail: (index, error) => pending[index]?.reject(error),
  };
}

describe("GroupCommit", () => {
  it("sends a lone call at once, and groups the calls made while the slots are busy", async () => {
    const manual = manualFlush<number>();
    const commit = new GroupCommit(manual.flush, { maxInFlight: 1, maxGroup: 10 });
    const first = commit.submit(1);
    expect(manual.groups).toEqual([[1]]);
    const rest = [2, 3, 4].map((item) => commit.submit(item));
    expect(manual.groups).toHaveLength(1);
    manual.release(0);
    expect(await first).toBe("done 1");
    expect(manual.groups).toEqual([[1], [2, 3, 4]]);
    manual.release(1);
    expect(await Promise.all(rest)).toEqual(["done 2", "done 3", "done 4"]);
    expect(commit.idle).toBe(true);
  });

  it("caps a group at maxGroup and runs up to maxInFlight groups at once", async () => {
    const manual = manualFlush<number>();
    const commit = new GroupCommit(manual.flush, { maxInFlight: 2, maxGroup: 2 });
    const all = [1, 2, 3, 4, 5, 6].map((item) => commit.submit(item));
    expect(manual.groups).toEqual([[1], [2]]);
    manual.release(0);
    await all[0];
    expect(manual.groups).toEqual([[1], [2], [3, 4]]);
    manual.release(1);
    manual.release(2);
    await Promise.all(all.slice(1, 4));
    expect(manual.groups.slice(3)).toEqual([[5, 6]]);
    manual.release(3);
    expect(await Promise.all(all)).toHaveLength(6);
  });

  it("gives each item its own error, and a thrown flush to every item of that group only", async () => {
    const manual = manualFlush<number>();
    const commit = new GroupCommit(manual.flush, { maxInFlight: 1, maxGroup: 10 });
    const first = commit.submit(1);
    const grouped = [2, 3].map((item) => commit.submit(item));
    manual.fail(0, new Error("store down"));
    await expect(first).rejects.toThrow("store down");
    manual.release(1, [{ error: new Error("refused 2") }, { value: "stored 3" }]);
    await expect(grouped[0]).rejects.toThrow("refused 2");
    expect(await grouped[1]).toBe("stored 3");
  });

  it("rejects an item the flush answered nothing for", async () => {
    const manual = manualFlush<number>();
    const commit = new GroupCommit(manual.flush, { maxInFlight: 1, maxGroup: 10 });
    const first = commit.submit(1);
    manual.release(0, []);
    await expect(first).rejects.toThrow("no result for item 0");
  });
});

describe("GroupCommit with collectMs", () => {
  it("holds a group for company until collectMs passes, maxGroup is reached, or flushNow is called", async () => {
    vi.useFakeTimers();
    try {
      const manual = manualFlush<number>();
      const commit = new GroupCommit(manual.flush, { maxInFlight: 1, maxGroup: 3, collectMs: 5 });
      const first = [commit.submit(1), commit.submit(2)];
      expect(manual.groups).toEqual([]);
      await vi.advanceTimersByTimeAsync(5);
      expect(manual.groups).toEqual([[1, 2]]);
      manual.release(0);
      await Promise.all(first);
      const full = [commit.submit(3), commit.submit(4), commit.submit(5)];
      expect(manual.groups.at(-1)).toEqual([3, 4, 5]);
      manual.release(1);
      await Promise.all(full);
      const read = commit.submit(6);
      commit.flushNow();
      expect(manual.groups.at(-1)).toEqual([6]);
      manual.release(2);
      expect(await read).toBe("done 6");
    } finally {
      vi.useRealTimers();
    }
  });
});

describe("KeyedGroupCommit", () => {
  it("groups per key and forgets a key once it is idle", async () => {
    const seen: [string, number[]][] = [];
    const releases: (() => void)[] = [];
    const keyed = new KeyedGroupCommit<number, number>(
      (key, items) =>
        new Promise((resolve) => {
          seen.push([key, items]);
          releases.push(() => {
            resolve(items.map((value) => ({ value })));
          });
        }),
      { maxInFlight: 1, maxGroup: 10 },
    );
    const calls = [keyed.submit("a", 1), keyed.submit("b", 2), keyed.submit("a", 3), keyed.submit("a", 4)];
    expect(seen).toEqual([
      ["a", [1]],
      ["b", [2]],
    ]);
    expect(keyed.size).toBe(2);
    releases[0]?.();
    releases[1]?.();
    await Promise.all([calls[0], calls[1]]);
    expect(seen[2]).toEqual(["a", [3, 4]]);
    releases[2]?.();
    expect(await Promise.all(calls)).toEqual([1, 2, 3, 4]);
    expect(keyed.size).toBe(0);
  });
});

describe("splitLeaseBatch", () => {
  const delivery = (n: number): LeaseBatch["deliveries"][number] => ({
    id: `m${String(n)}` as MessageId,
    token: String(n),
    attempt: 1,
    leaseExpiresAt: 1_000,
    json: "{}",
  });

  it("shares deliveries out in order up to each max, and reports settled work once", () => {
    const batch: LeaseBatch = {
      now: 5,
      deliveries: [1, 2, 3, 4].map(delivery),
      expiredLeases: [{ id: "x" as MessageId, attempt: 2 }],
      deadLettered: [{ id: "y" as MessageId, reason: "expired" }],
      nextDueAt: undefined,
    };
    const shares = splitLeaseBatch(batch, [1, 2, 3, 1]);
    expect(shares.map((share) => share.deliveries.map((d) => d.id))).toEqual([
      ["m1"],
      ["m2", "m3"],
      ["m4"],
      [],
    ]);
    expect(shares.map((share) => share.expiredLeases.length)).toEqual([1, 0, 0, 0]);
    expect(shares.map((share) => share.deadLettered.length)).toEqual([1, 0, 0, 0]);
    expect(shares.every((share) => share.now === 5)).toBe(true);
  });

  it("passes on when to look again only from a call that leased nothing", () => {
    const empty: LeaseBatch = { now: 5, deliveries: [], expiredLeases: [], deadLettered: [], nextDueAt: 40 };
    expect(splitLeaseBatch(empty, [1, 1]).map((share) => share.nextDueAt)).toEqual([40, 40]);
  });
});
