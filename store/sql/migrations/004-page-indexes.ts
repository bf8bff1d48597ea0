import type { Migration } from "./migration.js";

/**
 * Two indexes for reads that must cost O(page) or O(matches):
 *
 * A publish looks up the subscriptions whose pattern is exactly its topic, plus every wildcard one (capped per
 * agent), instead of reading them all: a `wildcard` flag and an index on (wildcard, pattern) serve both. The
 * UPDATE only sets the flag, so running it again changes nothing.
 */
export const pageIndexesSchema: Migration = {
  version: 4,
  name: "subscription-and-dlq-page-indexes",
  statements: ({ tables: t }) => [
    // A DLQ page of one queue walks (dead_lettered_at, id) from its cursor; by_queue puts reason in between.
    `CREATE INDEX IF NOT EXISTS by_queue_time ON ${t.deadLetters} (queue, dead_lettered_at, id)`,
    `ALTER TABLE ${t.subscriptions} ADD COLUMN IF NOT EXISTS wildcard TINYINT NOT NULL DEFAULT 0`,
    `UPDATE ${t.subscriptions} SET wildcard = 1
      WHERE pattern = '*' OR pattern = '#' OR pattern LIKE '*.%' OR pattern LIKE '#.%'
        OR pattern LIKE '%.*' OR pattern LIKE '%.#' OR pattern LIKE '%.*.%' OR pattern LIKE '%.#.%'`,
    `CREATE INDEX IF NOT EXISTS by_pattern ON ${t.subscriptions} (wildcard, pattern)`,
  ],
};
