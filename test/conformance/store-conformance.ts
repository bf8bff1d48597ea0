import { describe } from "vitest";
import type { DeliveryPolicy, MessageStore } from "../../store/store.js";
import { describeA2aTaskRole } from "./a2a-task-role.js";
import { describeAcrossRoles } from "./cross-role.js";
import { describeDeadLetterRole } from "./dead-letter-role.js";
import { describeLifecycleRole } from "./lifecycle-role.js";
import { describeQueueRole } from "./queue-role.js";
import { describeRegistryRole } from "./registry-role.js";
import { describeTopicRole } from "./topic-role.js";
import { describeTraceRole } from "./trace-role.js";
import { describeTransactionRole } from "./transaction-role.js";

/**
 * The one conformance suite every `MessageStore` backend passes (docs/store-contract.md states what it checks).
 * One describe (and one file, `*-role.ts`) per role of store/roles; a backend's test file calls
 * `describeStoreConformance(name, factory)`.
 */
export interface StoreFactory {
  /** Creates a fresh, empty store (isolated from other tests, e.g. by a unique domain/key prefix) with the given policy overrides. */
  create(policy?: Partial<DeliveryPolicy>): Promise<MessageStore>;
}

export function describeStoreConformance(backendName: string, factory: StoreFactory): void {
  describe(`MessageStore conformance: ${backendName}`, () => {
    describeLifecycleRole(factory);
    describeQueueRole(factory);
    describeTopicRole(factory);
    describeTransactionRole(factory);
    describeDeadLetterRole(factory);
    describeTraceRole(factory);
    describeRegistryRole(factory);
    describeA2aTaskRole(factory);
    describeAcrossRoles(factory);
  });
}
