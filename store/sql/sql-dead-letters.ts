import type { MessageId } from "../../core/ids.js";
import type { QueueName } from "../../core/names.js";
import {
  positionOf,
  type DeadLetterQuery,
  type DeadLetterRecord,
  type DeadLetterScan,
} from "../backend-types.js";
import type { DeadLetterReason } from "../store.js";
import type { EndpointPool } from "./endpoint-pool.js";
import type { Row, SqlParam } from "./sql-client.js";
import { parseHistory } from "./sql-leases.js";
import type { SqlTables } from "./sql-tables.js";
import { chunks, marks, num, padded, text, textOrUndefined } from "./sql-util.js";

/** Ids one DELETE names at most. */
const ID_CHUNK = 256;

/** The dead-letter primitives of the SQL backend: one table, read in (time, queue, id) order. */
export class SqlDeadLetters {
  constructor(
    private readonly client: EndpointPool,
    private readonly tables: SqlTables,
  ) {}

  async readDeadLetterPage(query: DeadLetterQuery): Promise<DeadLetterScan> {
    const where: string[] = [];
    const params: SqlParam[] = [];
    if (query.agent !== undefined) {
      where.push("queue = ?");
      params.push(query.agent);
    }
    if (query.reason !== undefined) {
      where.push("reason = ?");
      params.push(query.reason);
    }
    if (query.until !== undefined) {
      where.push("dead_lettered_at <= ?");
      params.push(query.until);
    }
    const after = query.after;
    if (after !== undefined) {
      // Spelled out rather than a row comparison, so the time index serves it.
      where.push(
        "(dead_lettered_at > ? OR (dead_lettered_at = ? AND (queue > ? OR (queue = ? AND id > ?))))",
      );
      params.push(after.at, after.at, after.agent, after.agent, after.id);
    }
    const rows = await this.client.rows(
      `SELECT queue, id, body, reason, dead_lettered_at, attempts, last_error FROM ${this.tables.deadLetters}
        ${where.length === 0 ? "" : `WHERE ${where.join(" AND ")}`}
        ORDER BY dead_lettered_at, queue, id LIMIT ?`,
      [...params, query.limit + 1],
    );
    const records = rows.slice(0, query.limit).map(toDeadLetterRecord);
    const last = records.at(-1);
    return { records, next: rows.length > query.limit && last !== undefined ? positionOf(last) : undefined };
  }

  async readDeadLetter(agent: QueueName, id: string): Promise<DeadLetterRecord | undefined> {
    const [row] = await this.client.rows(
      `SELECT queue, id, body, reason, dead_lettered_at, attempts, last_error FROM ${this.tables.deadLetters}
        WHERE queue = ? AND id = ?`,
      [agent, id],
    );
    return row === undefined ? undefined : toDeadLetterRecord(row);
  }

  async removeDeadLetters(agent: QueueName, ids: MessageId[]): Promise<number> {
    let removed = 0;
    for (const chunk of chunks(ids, ID_CHUNK)) {
      const list = padded(chunk);
      const result = await this.client.run(
        `DELETE FROM ${this.tables.deadLetters} WHERE queue = ? AND id IN (${marks(list.length)})`,
        [agent, ...list],
      );
      removed += result.affectedRows;
    }
    return removed;
  }
}

function toDeadLetterRecord(row: Row): DeadLetterRecord {
  const record: DeadLetterRecord = {
    agent: text(row.queue) as QueueName,
    id: text(row.id),
    json: text(row.body),
    reason: text(row.reason) as DeadLetterReason,
    deadLetteredAt: num(row.dead_lettered_at),
    attempts: parseHistory(row.attempts),
  };
  const lastError = textOrUndefined(row.last_error);
  if (lastError !== undefined) record.lastError = lastError;
  return record;
}
