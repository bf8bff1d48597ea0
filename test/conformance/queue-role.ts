import { describe } from "vitest";
import { describeAckMany, describeEnqueueMany } from "./ack-many.js";
import { describeBrowse } from "./browse.js";
import { describeDedupe } from "./dedupe.js";
import { describeDelivery } from "./delivery.js";
import { describeLeases } from "./leases.js";
import { describeLongPoll } from "./long-poll.js";
import { describeOutbox } from "./outbox.js";
import { describeStats } from "./stats.js";
import type { StoreFactory } from "./store-conformance.js";

/** The QueueStore role: enqueue, enqueueMany, receive, ack, ackMany, nack, extendLease, queue stats, listing and deletion. */
export function describeQueueRole(factory: StoreFactory): void {
  describe("role: queues and leases", () => {
    describeDelivery(factory);
    describeLongPoll(factory);
    describeLeases(factory);
    describeDedupe(factory);
    describeAckMany(factory);
    describeEnqueueMany(factory);
    describeOutbox(factory);
    describeStats(factory);
    describeBrowse(factory);
  });
}
