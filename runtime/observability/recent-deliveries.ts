import type { SpanContext } from "@opentelemetry/api";

/** What an ack or nack span needs to know about the delivery it settles. */
export interface DeliveryRecord {
  context: SpanContext;
  messageId: string;
  agent: string;
  attempt: number;
}

/**
 * The `bmn.deliver` span of each recent lease, so its ack or nack span can be tied to it. Bounded: past `capacity`
 * the oldest leases are forgotten (a lease that expires unsettled is never taken), and their acks are then traced
 * only when the request carries a `traceparent`. A lease settled through another sidecar is not known here either.
 */
export class RecentDeliveries {
  private readonly byLease = new Map<string, DeliveryRecord>();

  constructor(private readonly capacity = 10_000) {}

  get size(): number {
    return this.byLease.size;
  }

  remember(leaseId: string, record: DeliveryRecord): void {
    if (this.byLease.size >= this.capacity) {
      // Maps iterate in insertion order, so the first key is the oldest lease.
      const oldest = this.byLease.keys().next();
      if (oldest.done !== true) this.byLease.delete(oldest.value);
    }
    this.byLease.set(leaseId, record);
  }

  /** The delivery of `leaseId`, forgotten as it is returned: a lease is settled once. */
  take(leaseId: string): DeliveryRecord | undefined {
    const record = this.byLease.get(leaseId);
    if (record !== undefined) this.byLease.delete(leaseId);
    return record;
  }
}
