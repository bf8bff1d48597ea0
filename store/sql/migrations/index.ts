import { initialSchema } from "./001-initial.js";
import { analyticsSchema } from "./002-analytics.js";
import { outboxQueuesSchema } from "./003-outbox-queues.js";
import { subscriptionIndexSchema } from "./004-subscription-index.js";
import type { Migration } from "./migration.js";

/** Every migration, in order. Append new ones; never edit or remove a released one. */
export const MIGRATIONS: readonly Migration[] = [
  initialSchema,
  analyticsSchema,
  outboxQueuesSchema,
  subscriptionIndexSchema,
];

export type { Migration, MigrationContext } from "./migration.js";
