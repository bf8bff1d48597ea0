import type { Migration } from "./migration.js";

/**
 * A publish looks up the subscriptions whose pattern is exactly its topic, plus every wildcard one (capped per
 * agent), instead of reading them all: a `wildcard` flag and an index on (wildcard, pattern) serve both. The
 * UPDATE only sets the flag, so running it again changes nothing.
 */
export const subscriptionIndexSchema: Migration = {
  version: 4,
  name: "subscription-index",
  statements: ({ tables: t }) => [
    `ALTER TABLE ${t.subscriptions} ADD COLUMN IF NOT EXISTS wildcard TINYINT NOT NULL DEFAULT 0`,
    `UPDATE ${t.subscriptions} SET wildcard = 1
      WHERE pattern = '*' OR pattern = '#' OR pattern LIKE '*.%' OR pattern LIKE '#.%'
        OR pattern LIKE '%.*' OR pattern LIKE '%.#' OR pattern LIKE '%.*.%' OR pattern LIKE '%.#.%'`,
    `CREATE INDEX IF NOT EXISTS by_pattern ON ${t.subscriptions} (wildcard, pattern)`,
  ],
};
