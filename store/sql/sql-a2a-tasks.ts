import type {
  A2aAppend,
  A2aAppendOutcome,
  A2aTaskStore,
  StoredA2aEvent,
  StoredA2aTask,
} from "../roles/a2a-tasks.js";
import type { EndpointPool } from "./endpoint-pool.js";
import type { SqlSession } from "./sql-client.js";
import type { SqlTables } from "./sql-tables.js";
import { marks, num, padded, text } from "./sql-util.js";

/** Expired tasks removed per janitor round. */
const EXPIRED_BATCH = 100;

/**
 * A2A tasks in SQL: the task row carries the seq of its last event, so an append is one transaction that bumps
 * it only where it still has the expected value (compare and set) and inserts the event; the unique event id per
 * task makes a retried append a duplicate. The row's `remote_link` is the bridge's link to a remote task. Rows past `expires_at` are not read and are removed by `cleanUp`.
 */
export class SqlA2aTasks implements A2aTaskStore {
  constructor(
    private readonly client: EndpointPool,
    private readonly tables: SqlTables,
  ) {}

  async createTask(id: string, taskJson: string, retentionMs: number): Promise<boolean> {
    const now = Date.now();
    return this.client.transaction(async (session) => {
      const [row] = await session.rows(
        `SELECT expires_at FROM ${this.tables.a2aTasks} WHERE id = ? FOR UPDATE`,
        [id],
      );
      if (row !== undefined && num(row.expires_at) > now) return false;
      if (row !== undefined) await this.removeTasks(session, [id]);
      await session.run(
        `INSERT INTO ${this.tables.a2aTasks} (id, seq, body, expires_at) VALUES (?, 0, ?, ?)`,
        [id, taskJson, now + retentionMs],
      );
      return true;
    });
  }

  async readTask(id: string): Promise<StoredA2aTask | undefined> {
    const [row] = await this.client.rows(
      `SELECT seq, body FROM ${this.tables.a2aTasks} WHERE id = ? AND expires_at > ?`,
      [id, Date.now()],
    );
    return row === undefined ? undefined : { json: text(row.body), seq: num(row.seq) };
  }

  async appendTaskEvent(id: string, append: A2aAppend): Promise<A2aAppendOutcome> {
    const now = Date.now();
    return this.client.transaction(async (session): Promise<A2aAppendOutcome> => {
      const [task] = await session.rows(
        `SELECT seq FROM ${this.tables.a2aTasks} WHERE id = ? AND expires_at > ? FOR UPDATE`,
        [id, now],
      );
      if (task === undefined) return { outcome: "missing" };
      const [seen] = await session.rows(
        `SELECT seq FROM ${this.tables.a2aEvents} WHERE task_id = ? AND event_id = ?`,
        [id, append.eventId],
      );
      if (seen !== undefined) return { outcome: "duplicate", seq: num(seen.seq) };
      const current = num(task.seq);
      if (current !== append.expectedSeq) return { outcome: "conflict" };
      if (current >= append.maxEvents) return { outcome: "full" };
      const seq = current + 1;
      await session.run(
        `INSERT INTO ${this.tables.a2aEvents} (task_id, seq, event_id, body) VALUES (?, ?, ?, ?)`,
        [id, seq, append.eventId, append.eventJson],
      );
      await session.run(`UPDATE ${this.tables.a2aTasks} SET seq = ?, body = ?, expires_at = ? WHERE id = ?`, [
        seq,
        append.taskJson,
        now + append.retentionMs,
        id,
      ]);
      return { outcome: "appended", seq };
    });
  }

  async readTaskEvents(id: string, afterSeq: number, limit: number): Promise<StoredA2aEvent[]> {
    const rows = await this.client.rows(
      `SELECT seq, body FROM ${this.tables.a2aEvents} WHERE task_id = ? AND seq > ? ORDER BY seq LIMIT ${Math.max(1, Math.floor(limit))}`,
      [id, afterSeq],
    );
    return rows.map((row) => ({ seq: num(row.seq), json: text(row.body) }));
  }

  async putPushConfig(
    taskId: string,
    configId: string,
    json: string,
    max: number,
  ): Promise<"stored" | "full"> {
    return this.client.transaction(async (session) => {
      const [task] = await session.rows(
        `SELECT id FROM ${this.tables.a2aTasks} WHERE id = ? AND expires_at > ? FOR UPDATE`,
        [taskId, Date.now()],
      );
      if (task === undefined) return "full";
      const [counted] = await session.rows(
        `SELECT COUNT(*) AS n, SUM(id = ?) AS mine FROM ${this.tables.a2aPush} WHERE task_id = ?`,
        [configId, taskId],
      );
      if (num(counted?.mine ?? 0) === 0 && num(counted?.n ?? 0) >= max) return "full";
      await session.run(
        `INSERT INTO ${this.tables.a2aPush} (task_id, id, body) VALUES (?, ?, ?)
          ON DUPLICATE KEY UPDATE body = VALUES(body)`,
        [taskId, configId, json],
      );
      return "stored";
    });
  }

  async readPushConfig(taskId: string, configId: string): Promise<string | undefined> {
    const [row] = await this.client.rows(
      `SELECT body FROM ${this.tables.a2aPush} WHERE task_id = ? AND id = ?`,
      [taskId, configId],
    );
    return row === undefined ? undefined : text(row.body);
  }

  async listPushConfigs(taskId: string): Promise<string[]> {
    const rows = await this.client.rows(
      `SELECT body FROM ${this.tables.a2aPush} WHERE task_id = ? ORDER BY id`,
      [taskId],
    );
    return rows.map((row) => text(row.body));
  }

  async deletePushConfig(taskId: string, configId: string): Promise<boolean> {
    const result = await this.client.run(`DELETE FROM ${this.tables.a2aPush} WHERE task_id = ? AND id = ?`, [
      taskId,
      configId,
    ]);
    return result.affectedRows === 1;
  }

  async linkRemoteTask(id: string, linkJson: string): Promise<string | undefined> {
    return this.client.transaction(async (session) => {
      const [row] = await session.rows(
        `SELECT remote_link FROM ${this.tables.a2aTasks} WHERE id = ? AND expires_at > ? FOR UPDATE`,
        [id, Date.now()],
      );
      if (row === undefined) return undefined;
      if (row.remote_link !== null && row.remote_link !== undefined) return text(row.remote_link);
      await session.run(`UPDATE ${this.tables.a2aTasks} SET remote_link = ? WHERE id = ?`, [linkJson, id]);
      return linkJson;
    });
  }

  async readRemoteLink(id: string): Promise<string | undefined> {
    const [row] = await this.client.rows(
      `SELECT remote_link FROM ${this.tables.a2aTasks} WHERE id = ? AND expires_at > ?`,
      [id, Date.now()],
    );
    return row?.remote_link === null || row?.remote_link === undefined ? undefined : text(row.remote_link);
  }

  /** Removes up to EXPIRED_BATCH tasks past retention, with their events and push configs (janitor). */
  async cleanUp(now: number): Promise<void> {
    const rows = await this.client.rows(
      `SELECT id FROM ${this.tables.a2aTasks} WHERE expires_at <= ? LIMIT ${EXPIRED_BATCH}`,
      [now],
    );
    if (rows.length === 0) return;
    await this.client.transaction((session) =>
      this.removeTasks(
        session,
        rows.map((row) => text(row.id)),
      ),
    );
  }

  private async removeTasks(session: SqlSession, ids: readonly string[]): Promise<void> {
    const values = padded(ids);
    const list = marks(values.length);
    await session.run(`DELETE FROM ${this.tables.a2aEvents} WHERE task_id IN (${list})`, values);
    await session.run(`DELETE FROM ${this.tables.a2aPush} WHERE task_id IN (${list})`, values);
    await session.run(`DELETE FROM ${this.tables.a2aTasks} WHERE id IN (${list})`, values);
  }
}
