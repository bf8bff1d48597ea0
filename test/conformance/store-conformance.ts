import { describe } from "vitest";
import type { DeliveryPolicy, MessageStore } from "../../store/store.js";
import { describeAckMany } from "./ack-many.js";
import { describeBadInput } from "./bad-input.js";
import { describeConcurrency } from "./concurrency.js";
import { describeDedupe } from "./dedupe.js";
import { describeDelivery } from "./delivery.js";
import { describeDlq } from "./dlq.js";
import { describeLeases } from "./leases.js";
import { describeLongPoll } from "./long-poll.js";
import { describeOutbox } from "./outbox.js";
import { describePublish } from "./publish.js";
import { describeRegistry } from "./registry.js";
import { describeStats } from "./stats.js";
import { describeTrace } from "./trace.js";
import { describeTransactions } from "./transactions.js";

/**
 * The one conformance suite every `MessageStore` backend passes (docs/store-contract.md states what it checks).
 * A backend's test file calls `describeStoreConformance(name, factory)`.
 */
export interface StoreFactory {
  /** Creates a fresh, empty store (isolated from other tests, e.g. by a unique domain/key prefix) with the given policy overrides. */
  create(policy?: Partial<DeliveryPolicy>): Promise<MessageStore>;
}

export function describeStoreConformance(backendName: string, factory: StoreFactory): void {
  describe(`MessageStore conformance: ${backendName}`, () => {
    describeDelivery(factory);
    describeLongPoll(factory);
    describeLeases(factory);
    describeDedupe(factory);
    describePublish(factory);
    describeTransactions(factory);
    describeDlq(factory);
    describeTrace(factory);
    describeStats(factory);
    describeRegistry(factory);
    describeBadInput(factory);
    describeConcurrency(factory);
    describeOutbox(factory);
    describeAckMany(factory);
  });
}
