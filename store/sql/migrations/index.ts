import { initialSchema } from "./001-initial.js";
import { analyticsSchema } from "./002-analytics.js";
import { outboxQueuesSchema } from "./003-outbox-queues.js";
import { pageIndexesSchema } from "./004-page-indexes.js";
import { a2aTasksSchema } from "./005-a2a-tasks.js";
import { a2aRemoteLinksSchema } from "./006-a2a-remote-links.js";
import type { Migration } from "./migration.js";

/** Every migration, in order. Append new ones; never edit or remove a released one. */
export const MIGRATIONS: readonly Migration[] = [
  initialSchema,
  analyticsSchema,
  outboxQueuesSchema,
  pageIndexesSchema,
  a2aTasksSchema,
  a2aRemoteLinksSchema,
];

export type { Migration, MigrationContext } from "./migration.js";
