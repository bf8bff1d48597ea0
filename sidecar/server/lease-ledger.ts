import type { MessageStore } from "../../store/store.js";

/** Leases remembered at most; past this the oldest are forgotten (they still expire and are redelivered). */
const MAX_TRACKED_LEASES = 100_000;

/**
 * The leases this sidecar handed out over HTTP (`GET .../messages`) and that no ack or nack has settled yet.
 * On shutdown the sidecar gives them back (a nack without delay), so another pod's agent gets those messages at
 * once instead of after the lease runs out. WebSocket streams release their own leases when they close.
 */
export class LeaseLedger {
  private readonly open = new Set<string>();

  granted(leaseIds: readonly string[]): void {
    for (const leaseId of leaseIds) {
      this.open.add(leaseId);
      if (this.open.size > MAX_TRACKED_LEASES) {
        const oldest = this.open.values().next().value;
        if (oldest !== undefined) this.open.delete(oldest);
      }
    }
  }

  settled(leaseId: string): void {
    this.open.delete(leaseId);
  }

  get size(): number {
    return this.open.size;
  }

  /**
   * Nacks every open lease (`reason: "sidecar shutting down"`) and forgets them; a lease acked, nacked or expired
   * meanwhile is refused by the store, which is fine. Returns how many were given back.
   */
  async releaseAll(store: MessageStore): Promise<number> {
    const leaseIds = [...this.open];
    this.open.clear();
    const results = await Promise.allSettled(
      leaseIds.map((leaseId) => store.nack(leaseId, { delayMs: 0, reason: "sidecar shutting down" })),
    );
    return results.filter((result) => result.status === "fulfilled").length;
  }
}
