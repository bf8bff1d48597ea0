import { Gauge, type Registry } from "prom-client";
import type { MessageStore } from "../../store/store.js";

export const LEASES_HELD_METRIC = "bmn_sidecar_leases_held";

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

/**
 * `bmn_sidecar_leases_held`: the leases this sidecar's agent holds now. Registered again for each server built on
 * the same registry (tests build several), so it always reads the newest ledger.
 */
export function leasesHeldGauge(registry: Registry, ledger: LeaseLedger): void {
  registry.removeSingleMetric(LEASES_HELD_METRIC);
  new Gauge({
    name: LEASES_HELD_METRIC,
    help: "Leases this sidecar handed out over HTTP that its agent has not acked or nacked yet",
    registers: [registry],
    collect() {
      this.set(ledger.size);
    },
  });
}
