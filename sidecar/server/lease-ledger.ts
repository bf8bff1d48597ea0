import { Gauge, type Registry } from "prom-client";
import { mapBounded } from "../../runtime/resilience/map-bounded.js";
import type { MessageStore } from "../../store/store.js";

export const LEASES_HELD_METRIC = "bmn_sidecar_leases_held";

/** Leases remembered at most; past this the oldest are forgotten (they still expire and are redelivered). */
const MAX_TRACKED_LEASES = 100_000;

/** Nacks in flight at once when the leases are given back, so a full ledger cannot flood the store. */
const RELEASE_CONCURRENCY = 32;

export interface GrantedLease {
  readonly leaseId: string;
  /** Epoch ms, as the store answered. */
  readonly leaseExpiresAt: number;
}

/**
 * The leases this sidecar handed out over HTTP (`GET .../messages`) that no ack or nack has settled and that have
 * not expired. On shutdown the sidecar gives them back (a nack without delay), so another pod's agent gets those
 * messages at once instead of after the lease runs out; the count feeds the pod-deletion-cost on scale-down.
 * WebSocket streams release their own leases when they close.
 */
export class LeaseLedger {
  /** Lease id → when it expires (epoch ms). */
  private readonly open = new Map<string, number>();

  constructor(private readonly now: () => number = Date.now) {}

  granted(leases: readonly GrantedLease[]): void {
    for (const { leaseId, leaseExpiresAt } of leases) {
      this.open.set(leaseId, leaseExpiresAt);
      if (this.open.size > MAX_TRACKED_LEASES) {
        const oldest = this.open.keys().next().value;
        if (oldest !== undefined) this.open.delete(oldest);
      }
    }
  }

  /** A lease the agent extended: it is held until the new expiry. */
  extended(leaseId: string, leaseExpiresAt: number): void {
    if (this.open.has(leaseId)) this.open.set(leaseId, leaseExpiresAt);
  }

  settled(leaseId: string): void {
    this.open.delete(leaseId);
  }

  get size(): number {
    this.forgetExpired();
    return this.open.size;
  }

  /**
   * Nacks every open lease (`reason: "sidecar shutting down"`), a bounded number at a time, and forgets them; a
   * lease acked, nacked or expired meanwhile is refused by the store, which is fine. Returns how many were given
   * back.
   */
  async releaseAll(store: MessageStore): Promise<number> {
    this.forgetExpired();
    const leaseIds = [...this.open.keys()];
    this.open.clear();
    const given = await mapBounded(leaseIds, RELEASE_CONCURRENCY, (leaseId) =>
      store.nack(leaseId, { delayMs: 0, reason: "sidecar shutting down" }).then(
        () => true,
        () => false,
      ),
    );
    return given.filter(Boolean).length;
  }

  private forgetExpired(): void {
    const now = this.now();
    for (const [leaseId, expiresAt] of this.open) if (expiresAt <= now) this.open.delete(leaseId);
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
