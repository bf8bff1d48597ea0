import type { AgentName, Topic, TopicPattern } from "../../core/names.js";
import {
  isWildcardPattern,
  type SubscriptionBackend,
  type SubscriptionLimits,
} from "../base/subscription-role.js";
import type { Subscription } from "../store.js";
import type { EndpointPool } from "./endpoint-pool.js";
import type { SqlTables } from "./sql-tables.js";
import { num, text } from "./sql-util.js";

/** Subscriptions in the SQL subscriptions table, with a `wildcard` flag so a publish reads exact ones by topic. */
export class SqlSubscriptions implements SubscriptionBackend {
  constructor(
    private readonly client: EndpointPool,
    private readonly tables: SqlTables,
  ) {}

  async addSubscription(
    { agent, pattern }: Subscription,
    limits: SubscriptionLimits,
  ): Promise<"existed" | "added" | "limit" | "wildcard-limit"> {
    const [row] = await this.client.rows(
      `SELECT COUNT(*) AS total, COALESCE(SUM(wildcard), 0) AS wild,
        COALESCE(SUM(pattern = ?), 0) AS present FROM ${this.tables.subscriptions} WHERE agent = ?`,
      [pattern, agent],
    );
    if (num(row?.present ?? 0) > 0) return "existed";
    if (num(row?.total ?? 0) >= limits.max) return "limit";
    const wildcard = isWildcardPattern(pattern);
    if (wildcard && num(row?.wild ?? 0) >= limits.maxWildcard) return "wildcard-limit";
    const result = await this.client.run(
      `INSERT IGNORE INTO ${this.tables.subscriptions} (agent, pattern, wildcard) VALUES (?, ?, ?)`,
      [agent, pattern, wildcard ? 1 : 0],
    );
    return result.affectedRows === 0 ? "existed" : "added";
  }

  async removeSubscription({ agent, pattern }: Subscription): Promise<boolean> {
    const result = await this.client.run(
      `DELETE FROM ${this.tables.subscriptions} WHERE agent = ? AND pattern = ?`,
      [agent, pattern],
    );
    return result.affectedRows === 1;
  }

  async readSubscribers(topic: Topic): Promise<Subscription[]> {
    const rows = await this.client.rows(
      `SELECT agent, pattern FROM ${this.tables.subscriptions}
        WHERE (wildcard = 0 AND pattern = ?) OR wildcard = 1`,
      [topic],
    );
    return rows.map((row) => ({
      agent: text(row.agent) as AgentName,
      pattern: text(row.pattern) as TopicPattern,
    }));
  }

  async readSubscriptions(): Promise<Subscription[]> {
    const rows = await this.client.rows(`SELECT agent, pattern FROM ${this.tables.subscriptions}`);
    return rows.map((row) => ({
      agent: text(row.agent) as AgentName,
      pattern: text(row.pattern) as TopicPattern,
    }));
  }
}
