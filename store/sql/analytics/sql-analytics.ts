import { NotFoundError } from "../../../core/errors.js";
import {
  NOW_MS,
  type Row,
  type SqlClient,
  type SqlParam,
  type SqlRunner,
  type SqlSession,
} from "../sql-client.js";
import type { SqlTables } from "../sql-tables.js";
import { num, text, textOrUndefined } from "../sql-util.js";
import {
  ANALYTICS_QUERIES,
  isAnalyticsQuery,
  parseAnalyticsParams,
  type AnalyticsParams,
  type AnalyticsQueryName,
} from "./analytics-params.js";
import { percentile } from "./percentile.js";

export interface ThroughputRow {
  /** Start of the bucket, epoch ms (buckets are aligned to the epoch, UTC). */
  bucket: number;
  agent: string;
  accepted: number;
  enqueued: number;
}

export interface LatencyRow {
  agent: string;
  /** Messages enqueued in the window and acked since. */
  count: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
}

export interface DeadLetterCountRow {
  bucket: number;
  reason: string;
  agent: string;
  count: number;
}

export interface TopTalkerRow {
  agent: string;
  /** Distinct messages this agent sent (accepted with it as the actor). */
  sent: number;
  /** Messages queued for this agent. */
  received: number;
  total: number;
}

export interface StuckLeaseRow {
  agent: string;
  id: string;
  attempts: number;
  /** When the current lease was taken (from the trace), or null when the trace does not have it. */
  leasedAt: number | null;
  leaseExpiresAt: number;
  /** The lease ran out but no receive has settled it yet. */
  expired: boolean;
}

export interface AnalyticsResultMap {
  throughput: ThroughputRow[];
  latency: LatencyRow[];
  deadLetters: DeadLetterCountRow[];
  topTalkers: TopTalkerRow[];
  stuckLeases: StuckLeaseRow[];
}

export interface AnalyticsResult<Q extends AnalyticsQueryName = AnalyticsQueryName> {
  query: Q;
  rows: AnalyticsResultMap[Q];
  /** latency only: more enqueue→ack pairs matched than it reads; narrow the window or name an agent. */
  truncated?: boolean;
}

export interface TiFlashReplica {
  table: string;
  replicaCount: number;
  available: boolean;
  progress: number;
}

export interface AnalyticsInfo {
  dialect: SqlClient["dialect"];
  serverVersion: string;
  queries: readonly AnalyticsQueryName[];
  /** Whether the analytics session reports a read-only transaction mode. */
  readOnly: boolean;
  /** TiDB only (null on MariaDB): the TiFlash replicas of this store's tables. */
  tiflash: { replicas: TiFlashReplica[] } | null;
}

/** Enqueue→ack pairs `latency` reads at most; percentiles are computed in TS (TiDB has no PERCENTILE_CONT). */
export const LATENCY_MAX_PAIRS = 100_000;
/** Each analytics statement may run this long (they scan more than the hot path does). */
const STATEMENT_TIMEOUT_MS = 30_000;
/** TiDB answers 1235 (ER_NOT_SUPPORTED_YET) for read-only mode when its noop functions are off. */
const NOT_SUPPORTED_YET = 1235;

/**
 * Read-only, named, parameterised queries over one SQL store's tables. Every query is a fixed SQL text whose
 * only identifiers are the store's table names (checked against a strict pattern when the store was opened); every
 * value is a validated parameter bound by the server (prepared statements), so no caller text is ever parsed as
 * SQL. Each call runs on a connection of its own, outside the store's pool, in `READ ONLY` transaction mode.
 */
export class SqlAnalytics {
  constructor(
    private readonly client: SqlRunner,
    private readonly tables: SqlTables,
    /** Waits for this process's buffered trace writes, so a query sees them. */
    private readonly flushTrace: () => Promise<void> = () => Promise.resolve(),
  ) {}

  readonly queries = ANALYTICS_QUERIES;

  /** Runs a named query with raw parameters (a query string); unknown names are NOT_FOUND, bad params 400. */
  async run(name: string, rawParams: unknown = {}): Promise<AnalyticsResult> {
    if (!isAnalyticsQuery(name)) {
      throw new NotFoundError(
        `no analytics query ${JSON.stringify(name)}; the queries are ${ANALYTICS_QUERIES.join(", ")}`,
        { field: "query" },
      );
    }
    const params = parseAnalyticsParams(rawParams);
    await this.flushTrace().catch(() => undefined);
    switch (name) {
      case "throughput":
        return { query: name, rows: await this.throughput(params) };
      case "latency":
        return { query: name, ...(await this.latency(params)) };
      case "deadLetters":
        return { query: name, rows: await this.deadLetters(params) };
      case "topTalkers":
        return { query: name, rows: await this.topTalkers(params) };
      case "stuckLeases":
        return { query: name, rows: await this.stuckLeases(params) };
    }
  }

  async throughput(p: AnalyticsParams): Promise<ThroughputRow[]> {
    const rows = await this.read(
      `SELECT bucket, agent, SUM(accepted) AS accepted, SUM(enqueued) AS enqueued FROM (
        SELECT at_ms - MOD(at_ms, ?) AS bucket, agent,
          CASE WHEN kind = 'accepted' THEN 1 ELSE 0 END AS accepted,
          CASE WHEN kind = 'enqueued' THEN 1 ELSE 0 END AS enqueued
        FROM ${this.tables.trace}
        WHERE kind IN ('accepted', 'enqueued') AND at_ms >= ? AND at_ms < ? AND (? IS NULL OR agent = ?)
      ) AS events GROUP BY bucket, agent ORDER BY bucket, agent LIMIT ?`,
      [bucketMs(p), p.from, p.to, p.agent, p.agent, p.limit],
    );
    return rows.map((row) => ({
      bucket: num(row.bucket),
      agent: text(row.agent),
      accepted: num(row.accepted),
      enqueued: num(row.enqueued),
    }));
  }

  async latency(p: AnalyticsParams): Promise<{ rows: LatencyRow[]; truncated?: boolean }> {
    const t = this.tables.trace;
    // The first enqueue of a message into a queue in the window, and the last ack of it there.
    const rows = await this.read(
      `SELECT e.agent AS agent, a.at_ms - e.at_ms AS ms FROM
        (SELECT message_id, agent, MIN(at_ms) AS at_ms FROM ${t}
          WHERE kind = 'enqueued' AND at_ms >= ? AND at_ms < ? AND (? IS NULL OR agent = ?)
          GROUP BY message_id, agent) AS e
        JOIN (SELECT message_id, agent, MAX(at_ms) AS at_ms FROM ${t}
          WHERE kind = 'acked' AND at_ms >= ? AND (? IS NULL OR agent = ?)
          GROUP BY message_id, agent) AS a
        ON a.message_id = e.message_id AND a.agent = e.agent
        ORDER BY agent, ms LIMIT ${LATENCY_MAX_PAIRS + 1}`,
      [p.from, p.to, p.agent, p.agent, p.from, p.agent, p.agent],
    );
    const truncated = rows.length > LATENCY_MAX_PAIRS;
    const byAgent = new Map<string, number[]>();
    for (const row of rows.slice(0, LATENCY_MAX_PAIRS)) {
      const agent = text(row.agent);
      let samples = byAgent.get(agent);
      if (samples === undefined) byAgent.set(agent, (samples = []));
      samples.push(Math.max(0, num(row.ms)));
    }
    // Rows arrive sorted by agent, then by latency: each agent's samples are already in order.
    const result = [...byAgent].slice(0, p.limit).map(([agent, samples]) => ({
      agent,
      count: samples.length,
      p50Ms: percentile(samples, 50),
      p90Ms: percentile(samples, 90),
      p99Ms: percentile(samples, 99),
      maxMs: samples.at(-1) ?? 0,
    }));
    return truncated ? { rows: result, truncated } : { rows: result };
  }

  async deadLetters(p: AnalyticsParams): Promise<DeadLetterCountRow[]> {
    const rows = await this.read(
      `SELECT bucket, reason, agent, COUNT(*) AS count FROM (
        SELECT dead_lettered_at - MOD(dead_lettered_at, ?) AS bucket, reason, queue AS agent
        FROM ${this.tables.deadLetters}
        WHERE dead_lettered_at >= ? AND dead_lettered_at < ? AND (? IS NULL OR queue = ?) AND (? IS NULL OR reason = ?)
      ) AS letters GROUP BY bucket, reason, agent ORDER BY bucket, reason, agent LIMIT ?`,
      [bucketMs(p), p.from, p.to, p.agent, p.agent, p.reason, p.reason, p.limit],
    );
    return rows.map((row) => ({
      bucket: num(row.bucket),
      reason: text(row.reason),
      agent: text(row.agent),
      count: num(row.count),
    }));
  }

  async topTalkers(p: AnalyticsParams): Promise<TopTalkerRow[]> {
    const t = this.tables.trace;
    const rows = await this.read(
      `SELECT agent, SUM(sent) AS sent, SUM(received) AS received, SUM(sent) + SUM(received) AS total FROM (
        SELECT actor AS agent, COUNT(DISTINCT message_id) AS sent, 0 AS received FROM ${t}
          WHERE kind = 'accepted' AND at_ms >= ? AND at_ms < ? AND actor IS NOT NULL GROUP BY actor
        UNION ALL
        SELECT agent, 0 AS sent, COUNT(*) AS received FROM ${t}
          WHERE kind = 'enqueued' AND at_ms >= ? AND at_ms < ? AND agent IS NOT NULL GROUP BY agent
      ) AS talk WHERE (? IS NULL OR agent = ?) GROUP BY agent ORDER BY total DESC, agent LIMIT ?`,
      [p.from, p.to, p.from, p.to, p.agent, p.agent, p.limit],
    );
    return rows.map((row) => ({
      agent: text(row.agent),
      sent: num(row.sent),
      received: num(row.received),
      total: num(row.total),
    }));
  }

  /** Leases past their expiry that no receive has settled yet, or held longer than `olderThan` seconds. */
  async stuckLeases(p: AnalyticsParams): Promise<StuckLeaseRow[]> {
    const rows = await this.read(
      `SELECT agent, id, attempts, lease_expires_at, leased_at, now_ms FROM (
        SELECT m.queue AS agent, m.id AS id, m.attempts AS attempts, m.due_at AS lease_expires_at,
          (SELECT MAX(t.at_ms) FROM ${this.tables.trace} AS t
            WHERE t.message_id = m.id AND t.kind = 'leased' AND t.agent = m.queue) AS leased_at,
          ${NOW_MS} AS now_ms
        FROM ${this.tables.messages} AS m WHERE m.state = 'leased' AND (? IS NULL OR m.queue = ?)
      ) AS leases WHERE lease_expires_at <= now_ms OR leased_at <= now_ms - ?
      ORDER BY COALESCE(leased_at, lease_expires_at), agent, id LIMIT ?`,
      [p.agent, p.agent, p.olderThanS * 1_000, p.limit],
    );
    return rows.map((row) => {
      const leasedAt = row.leased_at === null ? null : num(row.leased_at);
      const leaseExpiresAt = num(row.lease_expires_at);
      return {
        agent: text(row.agent),
        id: text(row.id),
        attempts: num(row.attempts),
        leasedAt,
        leaseExpiresAt,
        expired: leaseExpiresAt <= num(row.now_ms),
      };
    });
  }

  /** The server, whether the analytics session is read-only, and (TiDB only) the TiFlash replicas. */
  async info(): Promise<AnalyticsInfo> {
    return this.readOnlySession(async (session) => {
      const [mode] = await session.rows("SELECT @@tx_read_only AS ro");
      let tiflash: AnalyticsInfo["tiflash"] = null;
      if (this.client.dialect === "tidb") {
        const names = [this.tables.trace, this.tables.deadLetters, this.tables.messages].map(bare);
        const replicas = await session.rows(
          `SELECT TABLE_NAME AS name, REPLICA_COUNT AS replicas, AVAILABLE AS available, PROGRESS AS progress
            FROM information_schema.tiflash_replica WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME IN (?, ?, ?)
            ORDER BY TABLE_NAME`,
          names,
        );
        tiflash = { replicas: replicas.map(toReplica) };
      }
      return {
        dialect: this.client.dialect,
        serverVersion: this.client.serverVersion,
        queries: ANALYTICS_QUERIES,
        readOnly: num(mode?.ro ?? 0) === 1,
        tiflash,
      };
    });
  }

  /**
   * Runs `work` on a dedicated connection set to `READ ONLY` transaction mode, so a statement that writes fails
   * on the server (MariaDB: error 1792). Exposed for tests that prove it.
   */
  async readOnlySession<T>(work: (session: SqlSession) => Promise<T>): Promise<T> {
    return this.client.withDedicatedSession(STATEMENT_TIMEOUT_MS, async (session) => {
      try {
        await session.run("SET SESSION TRANSACTION READ ONLY");
      } catch (error) {
        // Some TiDB versions only accept it with tidb_enable_noop_functions; the fixed texts below write nothing.
        if (this.client.dialect !== "tidb" || errno(error) !== NOT_SUPPORTED_YET) throw error;
      }
      return work(session);
    });
  }

  private read(sql: string, params: readonly SqlParam[]): Promise<Row[]> {
    return this.readOnlySession((session) => session.rows(sql, params));
  }
}

function bucketMs(p: AnalyticsParams): number {
  return p.bucketMinutes * 60_000;
}

/** A table name without its quoting backticks (the name matched a strict pattern when the store opened). */
function bare(quoted: string): string {
  return quoted.replace(/`/g, "");
}

function toReplica(row: Row): TiFlashReplica {
  return {
    table: textOrUndefined(row.name) ?? "",
    replicaCount: num(row.replicas),
    available: num(row.available) === 1,
    progress: Number(row.progress ?? 0),
  };
}

function errno(error: unknown): number | undefined {
  const value = (error as { errno?: unknown } | null)?.errno;
  return typeof value === "number" ? value : undefined;
}
