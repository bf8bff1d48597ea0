import type { Migration } from "./migration.js";

/**
 * A2A tasks (store/roles/a2a-tasks.ts): one row per task with its current form and the seq of its last event,
 * its events (unique per task by seq and by event id, which makes a retried append count once), and its push
 * configs. `expires_at` is the end of retention; the janitor and every read honour it.
 */
export const a2aTasksSchema: Migration = {
  version: 5,
  name: "a2a-tasks",
  statements: ({ tables: t }) => {
    const table = "ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin";
    return [
      `CREATE TABLE IF NOT EXISTS ${t.a2aTasks} (
        id VARCHAR(128) NOT NULL,
        seq INT NOT NULL,
        body LONGTEXT NOT NULL,
        expires_at BIGINT NOT NULL,
        PRIMARY KEY (id),
        KEY by_expiry (expires_at)
      ) ${table}`,
      `CREATE TABLE IF NOT EXISTS ${t.a2aEvents} (
        task_id VARCHAR(128) NOT NULL,
        seq INT NOT NULL,
        event_id VARCHAR(128) NOT NULL,
        body MEDIUMTEXT NOT NULL,
        PRIMARY KEY (task_id, seq),
        UNIQUE KEY by_event (task_id, event_id)
      ) ${table}`,
      `CREATE TABLE IF NOT EXISTS ${t.a2aPush} (
        task_id VARCHAR(128) NOT NULL,
        id VARCHAR(128) NOT NULL,
        body TEXT NOT NULL,
        PRIMARY KEY (task_id, id)
      ) ${table}`,
    ];
  },
};
