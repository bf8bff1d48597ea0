import type { Migration } from "./migration.js";

/**
 * The first schema. Times are epoch milliseconds (BIGINT) from the server clock; message and dead-letter bodies
 * are the JSON text exactly as accepted. Text columns are utf8mb4_bin: ids, keys and topics are case-sensitive.
 *
 * TiDB-only syntax sits in executable comments that MariaDB ignores: the big tables get a NONCLUSTERED primary
 * key plus SHARD_ROW_ID_BITS, so rows of one hot queue spread over regions instead of piling onto one.
 */
export const initialSchema: Migration = {
  version: 1,
  name: "initial",
  statements: ({ dialect, tables: t }) => {
    const table = "ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin";
    const sharded = `${table} /*T! SHARD_ROW_ID_BITS=4 */`;
    const nonclustered = "/*T![clustered_index] NONCLUSTERED */";
    // TiDB caches sequence values per TiDB server; NOCACHE keeps them increasing across servers, which the
    // enqueue order relies on. A single MariaDB server hands out cached values in order anyway.
    const cache = dialect === "tidb" ? "NOCACHE" : "CACHE 1000";
    return [
      `CREATE SEQUENCE IF NOT EXISTS ${t.sequence} START WITH 1 INCREMENT BY 1 ${cache} NOCYCLE`,
      // state: 'ready' (visible now), 'delayed' (visible at due_at) or 'leased' (held until due_at).
      // ord_pri is 9 - priority, so one ascending index serves "higher priority first, then enqueue order".
      // token is the last lease token issued for the row; nacked_token the last one given back by nack.
      `CREATE TABLE IF NOT EXISTS ${t.messages} (
        queue VARCHAR(63) NOT NULL,
        id VARCHAR(128) NOT NULL,
        body MEDIUMTEXT NOT NULL,
        priority TINYINT NOT NULL,
        ord_pri TINYINT NOT NULL,
        seq BIGINT NOT NULL,
        state VARCHAR(8) NOT NULL,
        due_at BIGINT NULL,
        attempts INT NOT NULL DEFAULT 0,
        token BIGINT NULL,
        nacked_token BIGINT NULL,
        expires_at BIGINT NULL,
        history MEDIUMTEXT NULL,
        PRIMARY KEY (queue, id) ${nonclustered},
        KEY ready_order (queue, state, ord_pri, seq),
        KEY due_time (queue, state, due_at),
        KEY ttl_time (queue, expires_at, state)
      ) ${sharded}`,
      `CREATE TABLE IF NOT EXISTS ${t.dedupe} (
        queue VARCHAR(63) NOT NULL,
        dedupe_key VARCHAR(256) NOT NULL,
        until_at BIGINT NOT NULL,
        PRIMARY KEY (queue, dedupe_key) ${nonclustered},
        KEY by_expiry (until_at)
      ) ${sharded}`,
      `CREATE TABLE IF NOT EXISTS ${t.deadLetters} (
        queue VARCHAR(63) NOT NULL,
        id VARCHAR(128) NOT NULL,
        body MEDIUMTEXT NOT NULL,
        reason VARCHAR(16) NOT NULL,
        dead_lettered_at BIGINT NOT NULL,
        attempts MEDIUMTEXT NOT NULL,
        last_error TEXT NULL,
        PRIMARY KEY (queue, id) ${nonclustered},
        KEY by_time (dead_lettered_at),
        KEY by_queue (queue, reason, dead_lettered_at)
      ) ${sharded}`,
      `CREATE TABLE IF NOT EXISTS ${t.queues} (
        queue VARCHAR(63) NOT NULL,
        PRIMARY KEY (queue)
      ) ${table}`,
      `CREATE TABLE IF NOT EXISTS ${t.subscriptions} (
        agent VARCHAR(63) NOT NULL,
        pattern VARCHAR(255) NOT NULL,
        PRIMARY KEY (agent, pattern)
      ) ${table}`,
      `CREATE TABLE IF NOT EXISTS ${t.agents} (
        name VARCHAR(63) NOT NULL,
        body TEXT NOT NULL,
        expires_at BIGINT NOT NULL,
        PRIMARY KEY (name),
        KEY by_expiry (expires_at)
      ) ${table}`,
      // ord orders the events of one message recorded in the same millisecond by one process.
      `CREATE TABLE IF NOT EXISTS ${t.trace} (
        message_id VARCHAR(128) NOT NULL,
        at_ms BIGINT NOT NULL,
        ord BIGINT NOT NULL,
        correlation_id VARCHAR(256) NULL,
        expires_at BIGINT NOT NULL,
        body TEXT NOT NULL,
        PRIMARY KEY (message_id, at_ms, ord) ${nonclustered},
        KEY by_correlation (correlation_id),
        KEY by_expiry (expires_at)
      ) ${sharded}`,
    ];
  },
};
