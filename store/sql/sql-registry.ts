import type { AgentName, QueueName } from "../../core/names.js";
import type { RegistryBackend } from "../base/registry-role.js";
import type { AgentRecord } from "../store.js";
import type { EndpointPool } from "./endpoint-pool.js";
import type { SqlTables } from "./sql-tables.js";
import { JANITOR_BATCH, text } from "./sql-util.js";

/** The agent registry in the SQL agents table: one row per agent, lapsed rows removed when the list is read. */
export class SqlRegistry implements RegistryBackend {
  constructor(
    private readonly client: EndpointPool,
    private readonly tables: SqlTables,
  ) {}

  async writeAgent(record: AgentRecord): Promise<void> {
    await this.client.run(
      `INSERT INTO ${this.tables.agents} (name, body, expires_at) VALUES (?, ?, ?)
        ON DUPLICATE KEY UPDATE body = VALUES(body), expires_at = VALUES(expires_at)`,
      [record.name, JSON.stringify(record), record.expiresAt],
      { idempotent: true },
    );
  }

  async readAgent(name: AgentName): Promise<AgentRecord | undefined> {
    const [row] = await this.client.rows(`SELECT body FROM ${this.tables.agents} WHERE name = ?`, [name]);
    return row === undefined ? undefined : (JSON.parse(text(row.body)) as AgentRecord);
  }

  async readAgents(): Promise<AgentRecord[]> {
    const rows = await this.client.rows(`SELECT body FROM ${this.tables.agents}`);
    const now = Date.now();
    const records = rows.map((row) => JSON.parse(text(row.body)) as AgentRecord);
    const lapsed = records.filter((record) => record.expiresAt <= now);
    if (lapsed.length > 0) {
      // Guarded on the expiry, so a registration renewed meanwhile by another process survives.
      await this.client.run(
        `DELETE FROM ${this.tables.agents} WHERE expires_at <= ? LIMIT ${JANITOR_BATCH}`,
        [now],
      );
    }
    return records.filter((record) => record.expiresAt > now);
  }

  async deleteAgent(name: QueueName): Promise<boolean> {
    const result = await this.client.run(`DELETE FROM ${this.tables.agents} WHERE name = ?`, [name]);
    return result.affectedRows === 1;
  }
}
