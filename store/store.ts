import type { AgentRegistry } from "./roles/registry.js";
import type { DeadLetterStore } from "./roles/dead-letters.js";
import type { QueueStore } from "./roles/queues.js";
import type { StoreLifecycle } from "./roles/lifecycle.js";
import type { TopicStore } from "./roles/topics.js";
import type { TraceStore } from "./roles/trace.js";
import type { TransactionStore } from "./roles/transactions.js";

/**
 * The backend-neutral storage contract: the intersection of the role interfaces in `store/roles/`. Every backend
 * (memory, Redis, Redis Cluster, SQL) implements it and passes the conformance suite in test/conformance, one
 * describe per role. Code that needs one role takes that role (the gateway forwarder takes a QueueStore).
 * Arguments are validated in BaseStore, so a bad name or id is a typed ValidationError whatever the backend.
 */
export interface MessageStore
  extends
    StoreLifecycle,
    QueueStore,
    TopicStore,
    TransactionStore,
    DeadLetterStore,
    TraceStore,
    AgentRegistry {}

export type { TransactionId } from "../core/ids.js";
export type { Topic } from "../core/names.js";
export * from "./roles/analytics.js";
export * from "./roles/dead-letters.js";
export * from "./roles/delivery-policy.js";
export * from "./roles/lifecycle.js";
export * from "./roles/paging.js";
export * from "./roles/queues.js";
export * from "./roles/registry.js";
export * from "./roles/topics.js";
export * from "./roles/trace.js";
export * from "./roles/transactions.js";
