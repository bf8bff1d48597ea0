import { describe, expect, it } from "vitest";
import { LeaseLedger } from "../../sidecar/server/lease-ledger.js";
import type { MessageStore } from "../../store/store.js";

/** Records the nacks the ledger sends, at most how many were in flight at once. */
function recordingStore(): { store: MessageStore; nacked: string[]; maxInFlight: () => number } {
  const nacked: string[] = [];
  let inFlight = 0;
  let max = 0;
  const store = {
    async nack(leaseId: string) {
      inFlight++;
      max = Math.max(max, inFlight);
      await Promise.resolve();
      nacked.push(leaseId);
      inFlight--;
      return { outcome: "requeued" as const };
    },
  } as unknown as MessageStore; // only nack is reached
  return { store, nacked, maxInFlight: () => max };
}

describe("the lease ledger", () => {
  it("counts a lease from grant until it is settled or expires; an extension moves the expiry", () => {
    let now = 1_000;
    const ledger = new LeaseLedger(() => now);
    ledger.granted([
      { leaseId: "a", leaseExpiresAt: 2_000 },
      { leaseId: "b", leaseExpiresAt: 3_000 },
      { leaseId: "c", leaseExpiresAt: 3_000 },
    ]);
    expect(ledger.size).toBe(3);
    ledger.settled("c");
    expect(ledger.size).toBe(2);
    ledger.extended("a", 5_000);
    ledger.extended("gone", 9_000);
    now = 3_000;
    expect(ledger.size).toBe(1);
    now = 5_000;
    expect(ledger.size).toBe(0);
  });

  it("gives back only leases still held, a bounded number at a time", async () => {
    const now = 1_000;
    const ledger = new LeaseLedger(() => now);
    const held = Array.from({ length: 100 }, (_, index) => ({ leaseId: `l${index}`, leaseExpiresAt: 9_000 }));
    ledger.granted([...held, { leaseId: "expired", leaseExpiresAt: 500 }]);
    const { store, nacked, maxInFlight } = recordingStore();
    expect(await ledger.releaseAll(store)).toBe(100);
    expect(nacked.sort()).toEqual(held.map((lease) => lease.leaseId).sort());
    expect(maxInFlight()).toBeLessThanOrEqual(32);
    expect(ledger.size).toBe(0);
  });
});
