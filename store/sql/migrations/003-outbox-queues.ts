import type { Migration } from "./migration.js";

/**
 * Queue names grow from an agent name (a DNS label, at most 63 characters) to an outbox of a remote domain,
 * `bmn.out.<domain>` (at most 71), so every column holding a queue name widens to VARCHAR(80). Widening a VARCHAR
 * loses nothing; TiDB does it in place, MariaDB may rebuild the table (the length prefix grows to two bytes).
 * MODIFY COLUMN to the same definition is a no-op, so the migration can run again after a crash half way through.
 */
export const outboxQueuesSchema: Migration = {
  version: 3,
  name: "outbox-queues",
  statements: ({ tables: t }) => [
    `ALTER TABLE ${t.messages} MODIFY COLUMN queue VARCHAR(80) NOT NULL`,
    `ALTER TABLE ${t.dedupe} MODIFY COLUMN queue VARCHAR(80) NOT NULL`,
    `ALTER TABLE ${t.deadLetters} MODIFY COLUMN queue VARCHAR(80) NOT NULL`,
    `ALTER TABLE ${t.queues} MODIFY COLUMN queue VARCHAR(80) NOT NULL`,
    `ALTER TABLE ${t.trace} MODIFY COLUMN agent VARCHAR(80) NULL`,
  ],
};
