import type { LeaseBatch } from "./backend-types.js";

/**
 * Shares out one lease call made for several receivers of a queue: each takes up to its own `max` of the
 * deliveries, in order. What the call settled on the way (expired leases, dead letters) is reported once, with the
 * first receiver, so its trace events are recorded once. A receiver left with nothing gets `nextDueAt` only from
 * a call that leased nothing at all; the caller must find it out otherwise (the queue ran dry under the others).
 */
export function splitLeaseBatch(batch: LeaseBatch, maxes: readonly number[]): LeaseBatch[] {
  let taken = 0;
  return maxes.map((max, index) => {
    const deliveries = batch.deliveries.slice(taken, taken + Math.max(0, max));
    taken += deliveries.length;
    return {
      now: batch.now,
      deliveries,
      expiredLeases: index === 0 ? batch.expiredLeases : [],
      deadLettered: index === 0 ? batch.deadLettered : [],
      nextDueAt: deliveries.length > 0 ? undefined : batch.nextDueAt,
    };
  });
}
