import { LeaseError } from "../../core/errors.js";
import type { QueueName } from "../../core/names.js";
import { BaseStore, type BaseStoreOptions } from "../base-store.js";
import type {
  EnqueueOp,
  QueueScan,
  LeaseBatch,
  NackOutcome,
  NackRequest,
  QueuedEntry,
  WriteOp,
  WriteOutcome,
} from "../backend-types.js";
import { GroupCommit, KeyedGroupCommit, type GroupResult } from "../group-commit.js";
import { splitLeaseBatch } from "../split-lease-batch.js";
import { formatLeaseId, type LeaseRef } from "../lease-id.js";
import type { AckFailureCode, QueuedMessageState, QueueStats } from "../store.js";
import type { Waiter } from "../wakeup-hub.js";
import { SqlAnalytics } from "./analytics/sql-analytics.js";
import { migrate } from "./migrate.js";
import { EndpointPool, type EndpointHealth } from "./endpoint-pool.js";
import { NOW_MS, type SqlClient } from "./sql-client.js";
import {
  dueWorkOf,
  explainLease,
  isIssuableToken,
  leaseInTransaction,
  nackInTransaction,
  nextDueOf,
  probeQueue,
  type SqlContext,
} from "./sql-leases.js";
import { defaultTablePrefix, sqlTables, type SqlTables } from "./sql-tables.js";
import { chunks, JANITOR_BATCH, marks, num, padded, pow2Chunks, text, tuples } from "./sql-util.js";
import { SqlWatcher } from "./sql-watcher.js";
import { ackLeasesInTransaction, ackLeasesReturning, applyWriteOps } from "./sql-writes.js";
import { SqlDeadLetters } from "./sql-dead-letters.js";
import { SqlRegistry } from "./sql-registry.js";
import { SqlA2aTasks } from "./sql-a2a-tasks.js";
import type { A2aTaskStore } from "../roles/a2a-tasks.js";
import { SqlSubscriptions } from "./sql-subscriptions.js";
import { SqlTrace } from "./sql-trace.js";
import { isOutcomeUnknown } from "./sql-errors.js";

export interface SqlStoreOptions extends BaseStoreOptions {
  domain?: string | undefined;
  /** Prefix of every table of this store; defaults to `bmn_<domain>_` (hyphens as underscores). */
  tablePrefix?: string | undefined;
  /** A statement or connect without an answer within this fails with STORE_UNAVAILABLE (default 5 s). */
  commandTimeoutMs?: number | undefined;
  /** Connections in the pool (default 10). */
  poolSize?: number | undefined;
  /** TiDB only: pessimistic (default) or optimistic transactions. MariaDB always locks pessimistically. */
  txnMode?: "pessimistic" | "optimistic" | undefined;
  /**
   * How often waiting receivers check for messages written by other processes (default 25 ms: one indexed
   * statement per store per interval, only while someone waits; it bounds a cross-sidecar wake-up).
   */
  pollIntervalMs?: number | undefined;
  /** Attempts of a transaction that keeps hitting write conflicts before TX_CONFLICT (default 8). */
  maxTxAttempts?: number | undefined;
  /** How often expired dedupe keys, trace events and registrations are deleted (default 60 s). */
  janitorIntervalMs?: number | undefined;
  /** Longest wait between two probes of an unhealthy endpoint (default 5 s). */
  probeMaxMs?: number | undefined;
}

const DEFAULTS = {
  commandTimeoutMs: 5_000,
  poolSize: 10,
  pollIntervalMs: 25,
  maxTxAttempts: 8,
  janitorIntervalMs: 60_000,
  probeMaxMs: 5_000,
};
/** Queues per statement when reading or watching many at once. */
const QUEUE_CHUNK = 256;
/**
 * Group commit (store/group-commit.ts): sends, single acks and small receives that arrive while earlier ones run
 * share the next transaction, so concurrent callers pay one commit and a fixed number of statements together.
 */
/** One group of a kind at a time: on a small database, bigger groups beat groups in parallel (docs/sql-store.md). */
const GROUPS_IN_FLIGHT = 1;
const MAX_GROUPED_SENDS = 64;
const MAX_GROUPED_ACKS = 256;
/** Receives of more than this many messages already batch on their own and go alone. */
const MAX_GROUPED_RECEIVE = 16;
const MAX_GROUPED_RECEIVERS = 32;

interface LeaseRequest {
  agent: QueueName;
  max: number;
  leaseMs: number;
}

/**
 * The SQL backend for TiDB and MariaDB (config type `tidb`). Each state change of a queue is one SQL transaction;
 * time is the database server's clock; competing consumers claim rows with locking selects (SKIP LOCKED on
 * MariaDB). See docs/sql-store.md.
 */
export class SqlStore extends BaseStore {
  readonly kind = "sql" as const;
  readonly durable = true;
  readonly tables: SqlTables;
  private readonly ctx: SqlContext;
  private readonly watcher: SqlWatcher;
  private readonly knownQueues = new Set<string>();
  private readonly janitor: NodeJS.Timeout;
  protected readonly deadLetterPrimitives: SqlDeadLetters;
  /** Buffered and written in batches, so tracing costs no round trip per event; reads flush first. */
  protected readonly traceBackend: SqlTrace;
  protected readonly subscriptionBackend: SqlSubscriptions;
  protected readonly registryBackend: SqlRegistry;
  private analyticsLayer: SqlAnalytics | undefined;
  private readonly a2aTaskRole: SqlA2aTasks;
  private readonly sendGroups = new GroupCommit<EnqueueOp[], WriteOutcome[]>(
    (sends) => this.applySendGroup(sends),
    { maxInFlight: GROUPS_IN_FLIGHT, maxGroup: MAX_GROUPED_SENDS },
  );
  private readonly ackGroups = new GroupCommit<LeaseRef, undefined>((leases) => this.ackGroup(leases), {
    maxInFlight: GROUPS_IN_FLIGHT,
    maxGroup: MAX_GROUPED_ACKS,
  });
  /** Per queue and lease length; one at a time per queue, as competing claims on one queue only contend. */
  private readonly receiveGroups = new KeyedGroupCommit<LeaseRequest, LeaseBatch>(
    (_, requests) => this.leaseGroup(requests),
    { maxInFlight: 1, maxGroup: MAX_GROUPED_RECEIVERS },
  );

  private constructor(
    readonly client: EndpointPool,
    tables: SqlTables,
    options: SqlStoreOptions,
  ) {
    super(options);
    this.tables = tables;
    this.ctx = { tables, lockClause: client.lockClause, policy: this.policy };
    this.deadLetterPrimitives = new SqlDeadLetters(client, tables);
    this.subscriptionBackend = new SqlSubscriptions(client, tables);
    this.registryBackend = new SqlRegistry(client, tables);
    this.a2aTaskRole = new SqlA2aTasks(client, tables);
    this.traceBackend = new SqlTrace(client, tables, this.policy.traceRetentionMs);
    this.watcher = new SqlWatcher(
      (agents) => this.queuesWithVisibleWork(agents),
      options.pollIntervalMs ?? DEFAULTS.pollIntervalMs,
    );
    this.janitor = setInterval(
      () => void this.cleanUp(),
      options.janitorIntervalMs ?? DEFAULTS.janitorIntervalMs,
    );
    this.janitor.unref();
  }

  /**
   * Connects to `mysql://user:password@host:port/database`, creating the database if needed, and migrates.
   * Several URLs are endpoints of one database (TiDB servers of one cluster): see `EndpointPool`.
   */
  static async connect(urls: string | readonly string[], options: SqlStoreOptions = {}): Promise<SqlStore> {
    const tables = sqlTables(options.tablePrefix ?? defaultTablePrefix(options.domain ?? "local"));
    const client = await EndpointPool.open(typeof urls === "string" ? [urls] : urls, {
      probeMaxMs: options.probeMaxMs ?? DEFAULTS.probeMaxMs,
      poolSize: options.poolSize ?? DEFAULTS.poolSize,
      commandTimeoutMs: options.commandTimeoutMs ?? DEFAULTS.commandTimeoutMs,
      txnMode: options.txnMode ?? "pessimistic",
      maxTxAttempts: options.maxTxAttempts ?? DEFAULTS.maxTxAttempts,
    });
    try {
      await migrate(client, tables);
    } catch (error) {
      await client.close();
      throw error;
    }
    return new SqlStore(client, tables, options);
  }

  get dialect(): SqlClient["dialect"] {
    return this.client.dialect;
  }

  /** Each endpoint and whether it takes calls now (see docs/sql-store.md, "Endpoints and failover"). */
  endpoints(): EndpointHealth[] {
    return this.client.health();
  }

  /** The read-only named queries over this store's tables (see docs/sql-store.md, "Analytics"). */
  analytics(): SqlAnalytics {
    this.analyticsLayer ??= new SqlAnalytics(this.client, this.tables, () =>
      this.traceBackend.settledTrace(),
    );
    return this.analyticsLayer;
  }

  // ---- writes --------------------------------------------------------------------------------------------
  protected async applyWrites(ops: WriteOp[]): Promise<WriteOutcome[]> {
    const first = ops[0];
    if (ops.length === 1 && first?.kind === "ack") {
      await this.ackGroups.submit(first.lease);
      return [{ duplicate: false }];
    }
    const sends = ops.filter((op) => op.kind === "enqueue");
    if (sends.length === ops.length) return this.sendGroups.submit(sends);
    return this.applyInTransaction(ops);
  }

  /**
   * Several callers' sends in one transaction, each caller's outcomes in its own slice. They are decided in order,
   * as one caller's would be, so of two callers sending one id the first stores it and the second sees a duplicate.
   */
  private async applySendGroup(sends: EnqueueOp[][]): Promise<GroupResult<WriteOutcome[]>[]> {
    const [alone] = sends;
    if (sends.length === 1 && alone !== undefined) return [{ value: await this.applyInTransaction(alone) }];
    let outcomes: WriteOutcome[];
    try {
      outcomes = await this.applyInTransaction(sends.flat());
    } catch (error) {
      // A commit without an answer may have stored them all: no caller may be told anything but that.
      if (isOutcomeUnknown(error)) throw error;
      // One caller's send may be what failed the group: each runs alone, so the others are not refused for it.
      return Promise.all(
        sends.map(async (ops): Promise<GroupResult<WriteOutcome[]>> => {
          try {
            return { value: await this.applyInTransaction(ops) };
          } catch (alone) {
            return { error: alone };
          }
        }),
      );
    }
    let offset = 0;
    return sends.map((ops) => {
      const value = outcomes.slice(offset, offset + ops.length);
      offset += ops.length;
      return { value };
    });
  }

  private async applyInTransaction(ops: WriteOp[]): Promise<WriteOutcome[]> {
    await this.rememberQueues(ops.flatMap((op) => (op.kind === "enqueue" ? [op.agent] : [])));
    const applied = await this.client.transaction((tx) => applyWriteOps(tx, this.ctx, ops));
    for (const agent of applied.touched) this.watcher.notify(agent);
    return applied.outcomes;
  }

  /** Acks that arrived together: one guarded DELETE for a lone one, one transaction for several. */
  private async ackGroup(leases: LeaseRef[]): Promise<GroupResult<undefined>[]> {
    const [alone] = leases;
    if (leases.length === 1 && alone !== undefined) {
      await this.ackOne(alone);
      return [{ value: undefined }];
    }
    const problems = await this.ackLeases(leases);
    return leases.map((lease, index) => {
      const problem = problems[index];
      return problem === undefined
        ? { value: undefined }
        : { error: new LeaseError(problem, formatLeaseId(lease)) };
    });
  }

  /** A single ack outside a transaction: one guarded DELETE; only a refusal costs a second look. */
  private async ackOne(lease: LeaseRef): Promise<void> {
    if (!isIssuableToken(lease.token)) throw new LeaseError("LEASE_NOT_FOUND", formatLeaseId(lease));
    const result = await this.client.run(
      `DELETE FROM ${this.tables.messages} WHERE queue = ? AND id = ? AND state = 'leased'
        AND token = CAST(? AS SIGNED) AND due_at > ${NOW_MS}`,
      [lease.agent, lease.id, lease.token],
    );
    if (result.affectedRows === 1) return;
    throw new LeaseError(
      await this.client.withConnection((session) => explainLease(session, this.tables, lease)),
      formatLeaseId(lease),
    );
  }

  /** One guarded DELETE ... RETURNING on MariaDB; elsewhere one transaction (a locking read, one DELETE). */
  protected async ackLeases(leases: readonly LeaseRef[]): Promise<(AckFailureCode | undefined)[]> {
    // TiDB has no DELETE ... RETURNING: there a locking read tells which leases hold, in one transaction.
    if (this.client.dialect === "mariadb") return ackLeasesReturning(this.client, this.tables, leases);
    return this.client.transaction((tx) => ackLeasesInTransaction(tx, this.tables, leases));
  }

  private async rememberQueues(agents: QueueName[]): Promise<void> {
    const unknown = [...new Set(agents)].filter((agent) => !this.knownQueues.has(agent));
    if (unknown.length === 0) return;
    for (const chunk of pow2Chunks(unknown)) {
      await this.client.run(
        `INSERT IGNORE INTO ${this.tables.queues} (queue) VALUES ${tuples(chunk.length, 1)}`,
        chunk,
        { idempotent: true },
      );
    }
    for (const agent of unknown) this.knownQueues.add(agent);
  }

  // ---- leases --------------------------------------------------------------------------------------------
  protected leaseMessages(agent: QueueName, max: number, leaseMs: number): Promise<LeaseBatch> {
    if (max < 1 || max > MAX_GROUPED_RECEIVE) return this.leaseAlone(agent, max, leaseMs);
    return this.receiveGroups.submit(`${agent}\u0000${String(leaseMs)}`, { agent, max, leaseMs });
  }

  /** Receives of one queue that arrived together: one lease call for all of them, shared out in order. */
  private async leaseGroup(requests: LeaseRequest[]): Promise<GroupResult<LeaseBatch>[]> {
    const [first] = requests;
    if (first === undefined) return [];
    const maxes = requests.map((request) => request.max);
    const total = maxes.reduce((sum, max) => sum + max, 0);
    const batch = await this.leaseAlone(first.agent, total, first.leaseMs);
    const shares = splitLeaseBatch(batch, maxes);
    if (batch.deliveries.length > 0 && shares.some((share) => share.deliveries.length === 0)) {
      // The queue ran dry under the others: those left empty learn when to look again, as a lone call would.
      const again = await this.client.withConnection((session) => probeQueue(session, this.ctx, first.agent));
      for (const share of shares) if (share.deliveries.length === 0) share.nextDueAt = nextDueOf(again);
    }
    return shares.map((value) => ({ value }));
  }

  private async leaseAlone(agent: QueueName, max: number, leaseMs: number): Promise<LeaseBatch> {
    // An idle queue costs one read and no transaction.
    const probe = await this.client.withConnection((session) => probeQueue(session, this.ctx, agent));
    const due = dueWorkOf(probe);
    if (!probe.hasReady && !due.leases && !due.ttl && !due.delayed) {
      return {
        now: probe.now,
        deliveries: [],
        expiredLeases: [],
        deadLettered: [],
        nextDueAt: nextDueOf(probe),
      };
    }
    const batch = await this.client.transaction((tx) =>
      leaseInTransaction(tx, this.ctx, agent, max, leaseMs, due),
    );
    // Only a caller that got nothing needs to know when to look again.
    if (batch.deliveries.length === 0) {
      const again = await this.client.withConnection((session) => probeQueue(session, this.ctx, agent));
      batch.nextDueAt = nextDueOf(again);
    }
    return batch;
  }

  protected async nackLease(lease: LeaseRef, request: NackRequest): Promise<NackOutcome> {
    if (!isIssuableToken(lease.token)) throw new LeaseError("LEASE_NOT_FOUND", formatLeaseId(lease));
    // Times are reported on this process's clock from before the call: never later than the server's.
    const before = Date.now();
    const outcome = await this.client.transaction((tx) => nackInTransaction(tx, this.ctx, lease, request));
    if (outcome.outcome === "dead-lettered") {
      const result: NackOutcome = { outcome: "dead-lettered", attempt: outcome.attempt };
      if (outcome.reason !== undefined) result.reason = outcome.reason;
      return result;
    }
    // Wakes waiting receivers either to take it now or to re-arm their timer for the new due time.
    this.watcher.notify(lease.agent);
    return { outcome: "retry", attempt: outcome.attempt, redeliverAt: before + outcome.delayMs };
  }

  protected async extendLeaseUntil(lease: LeaseRef, leaseMs: number): Promise<number> {
    if (!isIssuableToken(lease.token)) throw new LeaseError("LEASE_NOT_FOUND", formatLeaseId(lease));
    const before = Date.now();
    const result = await this.client.run(
      `UPDATE ${this.tables.messages} SET due_at = ${NOW_MS} + ?
        WHERE queue = ? AND id = ? AND state = 'leased' AND token = CAST(? AS SIGNED) AND due_at > ${NOW_MS}`,
      [leaseMs, lease.agent, lease.id, lease.token],
      { idempotent: true },
    );
    if (result.affectedRows !== 1) {
      throw new LeaseError(
        await this.client.withConnection((session) => explainLease(session, this.tables, lease)),
        formatLeaseId(lease),
      );
    }
    return before + leaseMs;
  }

  protected watch(agent: QueueName): Promise<Waiter> {
    return Promise.resolve(this.watcher.watch(agent));
  }

  /** Which of `agents` have a message ready, a delay that passed or a lease that lapsed (for the watcher). */
  private async queuesWithVisibleWork(agents: QueueName[]): Promise<QueueName[]> {
    const m = this.tables.messages;
    const found: QueueName[] = [];
    for (const chunk of chunks(agents, QUEUE_CHUNK)) {
      const list = padded(chunk);
      const rows = await this.client.rows(
        `SELECT queue FROM ${m} WHERE queue IN (${marks(list.length)}) AND state = 'ready'
          UNION
          SELECT queue FROM ${m} WHERE queue IN (${marks(list.length)}) AND state IN ('delayed', 'leased')
            AND due_at <= ${NOW_MS}`,
        [...list, ...list],
      );
      for (const row of rows) found.push(text(row.queue) as QueueName);
    }
    return found;
  }

  // ---- stats, subscriptions, registry --------------------------------------------------------------------
  protected async readQueueEntries(
    agent: QueueName,
    state: QueuedMessageState,
    offset: number,
    limit: number,
  ): Promise<QueuedEntry[]> {
    // Delivery order for ready messages (as a receive takes them), due time for the others; indexed both ways.
    const order = state === "ready" ? "ord_pri, seq" : "due_at, seq";
    const rows = await this.client.rows(
      `SELECT body, attempts, due_at FROM ${this.tables.messages}
        WHERE queue = ? AND state = ? ORDER BY ${order} LIMIT ? OFFSET ?`,
      [agent, state, limit, offset],
    );
    return rows.map((row) => ({
      json: text(row.body),
      attempts: num(row.attempts),
      dueAt: state === "ready" || row.due_at === null ? undefined : num(row.due_at),
    }));
  }

  protected async readQueueStats(agent: QueueName): Promise<QueueStats> {
    const m = this.tables.messages;
    // Counted as of the server's now, whether or not a receive has settled what time made due.
    const [row] = await this.client.rows(
      `SELECT
        (SELECT COUNT(*) FROM ${m} WHERE queue = ? AND state = 'ready') AS ready_now,
        (SELECT COUNT(*) FROM ${m} WHERE queue = ? AND state = 'delayed') AS delayed_all,
        (SELECT COUNT(*) FROM ${m} WHERE queue = ? AND state = 'delayed' AND due_at <= ${NOW_MS}) AS delayed_due,
        (SELECT COUNT(*) FROM ${m} WHERE queue = ? AND state = 'leased') AS leased_all,
        (SELECT COUNT(*) FROM ${m} WHERE queue = ? AND state = 'leased' AND due_at <= ${NOW_MS}) AS leased_lapsed,
        (SELECT COUNT(*) FROM ${this.tables.deadLetters} WHERE queue = ?) AS dead`,
      [agent, agent, agent, agent, agent, agent],
    );
    const count = (name: string): number => num(row?.[name] ?? 0);
    const ready = count("ready_now") + count("delayed_due");
    const delayed = count("delayed_all") - count("delayed_due") + count("leased_lapsed");
    return {
      agent,
      depth: ready + delayed,
      ready,
      delayed,
      inFlight: count("leased_all") - count("leased_lapsed"),
      deadLettered: count("dead"),
    };
  }

  protected async readQueuePage(after: string | undefined, limit: number): Promise<QueueScan> {
    const rows = await this.client.rows(
      `SELECT queue FROM ${this.tables.queues} ${after === undefined ? "" : "WHERE queue > ?"} ORDER BY queue LIMIT ?`,
      after === undefined ? [limit + 1] : [after, limit + 1],
    );
    const queues = rows.slice(0, limit).map((row) => text(row.queue) as QueueName);
    return { queues, next: rows.length > limit ? queues.at(-1) : undefined };
  }

  /** Table by table; each DELETE is idempotent, so a call cut short is finished by the next one. */
  protected async dropQueue(agent: QueueName): Promise<boolean> {
    let deleted = 0;
    for (const table of [
      this.tables.messages,
      this.tables.dedupe,
      this.tables.deadLetters,
      this.tables.queues,
    ])
      deleted += (await this.client.run(`DELETE FROM ${table} WHERE queue = ?`, [agent])).affectedRows;
    return deleted > 0;
  }

  protected async readQueues(): Promise<QueueName[]> {
    const rows = await this.client.rows(`SELECT queue FROM ${this.tables.queues}`);
    return rows.map((row) => text(row.queue) as QueueName);
  }

  /** The caps are checked, then the row inserted: two racing subscribes may pass a cap by one. */
  // ---- housekeeping --------------------------------------------------------------------------------------
  /** Deletes what only takes space: dedupe keys past their window, old trace events, lapsed registrations. */
  private async cleanUp(): Promise<void> {
    const now = Date.now();
    try {
      const [row] = await this.client.rows(`SELECT ${NOW_MS} AS now`);
      const serverNow = num(row?.now ?? now);
      await this.client.run(`DELETE FROM ${this.tables.dedupe} WHERE until_at <= ? LIMIT ${JANITOR_BATCH}`, [
        serverNow,
      ]);
      await this.client.run(`DELETE FROM ${this.tables.trace} WHERE expires_at <= ? LIMIT ${JANITOR_BATCH}`, [
        now,
      ]);
      await this.client.run(
        `DELETE FROM ${this.tables.agents} WHERE expires_at <= ? LIMIT ${JANITOR_BATCH}`,
        [now],
      );
      await this.a2aTaskRole.cleanUp(now);
    } catch {
      // Best effort: the next run tries again.
    }
  }

  /** The A2A task role (store/roles/a2a-tasks.ts). */
  a2aTasks(): A2aTaskStore {
    return this.a2aTaskRole;
  }

  async ping(): Promise<void> {
    await this.client.rows("SELECT 1 AS ok");
  }

  protected async closeBackend(): Promise<void> {
    clearInterval(this.janitor);
    this.watcher.close();
    await this.traceBackend.settledTrace();
    await this.client.close();
  }
}
