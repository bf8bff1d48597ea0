import type { Migration } from "./migration.js";

/**
 * Columns of the trace table that the analytics group and filter on, extracted from the event when it is written
 * (`kind`, `agent`: the queue, `actor`: who acted, the sender of an `accepted`), and an index that serves every
 * windowed analytics query: one kind over a time range. Events written before this migration keep NULL there and
 * are not counted by the analytics (trace events expire after the trace retention anyway).
 *
 * `ADD COLUMN IF NOT EXISTS` and `CREATE INDEX IF NOT EXISTS` exist on MariaDB 10.6+ and on TiDB, so the migration
 * can run again after a crash half way through.
 */
export const analyticsSchema: Migration = {
  version: 2,
  name: "analytics",
  statements: ({ tables: t }) => [
    `ALTER TABLE ${t.trace} ADD COLUMN IF NOT EXISTS kind VARCHAR(16) NULL`,
    `ALTER TABLE ${t.trace} ADD COLUMN IF NOT EXISTS agent VARCHAR(63) NULL`,
    `ALTER TABLE ${t.trace} ADD COLUMN IF NOT EXISTS actor VARCHAR(255) NULL`,
    `CREATE INDEX IF NOT EXISTS by_kind_time ON ${t.trace} (kind, at_ms)`,
  ],
};
