import type { MessageId } from "../../core/ids.js";
import type { QueueName } from "../../core/names.js";
import { LeaseError } from "../../core/errors.js";
import type { LeaseBatch, NackOutcome, NackRequest } from "../backend-types.js";
import { attemptsExhausted } from "../attempt-limit.js";
import { fullJitterBackoffMs } from "../../runtime/resilience/backoff.js";
import { formatLeaseId, type LeaseRef } from "../lease-id.js";
import type { AttemptRecord, DeadLetterReason, DeliveryPolicy } from "../store.js";
import { NOW_MS, type SqlParam, type SqlSession } from "./sql-client.js";
import { WriteConflict } from "./sql-errors.js";
import type { SqlTables } from "./sql-tables.js";
import {
  bigText,
  marks,
  num,
  numOrUndefined,
  padded,
  pow2Chunks,
  text,
  textOrUndefined,
  tuples,
} from "./sql-util.js";

/** What the lease and write code needs to know about the store it works for. */
export interface SqlContext {
  readonly tables: SqlTables;
  /** The locking clause for claim selects (see SqlClient.lockClause). */
  readonly lockClause: string;
  readonly policy: DeliveryPolicy;
}

/** How many due rows one lease call settles at most, so a huge backlog never makes one transaction slow. */
const SCAN_LIMIT = 500;
/** A waiter whose next due time is already past (a row another transaction holds) looks again after this. */
const MIN_RECHECK_MS = 20;
/** The largest token a BIGINT holds; longer digit strings were never issued. */
const MAX_TOKEN = 2n ** 63n - 1n;

export type LeaseProblem = "LEASE_NOT_FOUND" | "LEASE_EXPIRED";

/** The lease-relevant columns of one message row. */
export interface LeaseRow {
  state: string;
  token: string | undefined;
  nackedToken: string | undefined;
  dueAt: number | undefined;
}

/** A token as the store issues it: a decimal BIGINT without leading zeros. Anything else was never issued. */
export function isIssuableToken(token: string): boolean {
  return /^(0|[1-9]\d{0,18})$/.test(token) && BigInt(token) <= MAX_TOKEN;
}

/**
 * Why `token` no longer holds its message, or undefined when it does. Mirrors the memory and Redis stores: a row
 * that is gone (acked, dead-lettered) or a token given back by nack is LEASE_NOT_FOUND, as is a token newer than
 * any issued for the row; an older token (superseded by a redelivery) or a lapsed lease is LEASE_EXPIRED.
 */
export function leaseProblem(
  row: LeaseRow | undefined,
  token: string,
  now: number,
): LeaseProblem | undefined {
  if (row === undefined || !isIssuableToken(token)) return "LEASE_NOT_FOUND";
  if (row.nackedToken === token) return "LEASE_NOT_FOUND";
  if (row.state === "leased" && row.token === token && row.dueAt !== undefined && row.dueAt > now)
    return undefined;
  if (row.token === undefined || BigInt(token) > BigInt(row.token)) return "LEASE_NOT_FOUND";
  return "LEASE_EXPIRED";
}

export function leaseRowOf(row: Record<string, unknown>): LeaseRow {
  return {
    state: text(row.state),
    token: bigText(row.token),
    nackedToken: bigText(row.nacked_token),
    dueAt: numOrUndefined(row.due_at),
  };
}

export function parseHistory(value: unknown): AttemptRecord[] {
  const raw = textOrUndefined(value);
  return raw === undefined || raw === "" ? [] : (JSON.parse(raw) as AttemptRecord[]);
}

export function lastErrorOf(history: readonly AttemptRecord[]): string | undefined {
  return [...history].reverse().find((attempt) => attempt.reason !== undefined)?.reason;
}

/** A cheap look at one queue outside any transaction: is anything ready or due, and when is the next due time. */
export interface QueueProbe {
  now: number;
  hasReady: boolean;
  delayedDue: number | undefined;
  leasedDue: number | undefined;
  /** The earliest expiry of a message that is not leased (those wait for their lease to settle). */
  ttlDue: number | undefined;
  /** The earliest expiry still in the future, leased or not. */
  ttlNext: number | undefined;
}

export async function probeQueue(
  session: SqlSession,
  ctx: SqlContext,
  agent: QueueName,
): Promise<QueueProbe> {
  const m = ctx.tables.messages;
  const [row] = await session.rows(
    `SELECT ${NOW_MS} AS now,
      EXISTS (SELECT 1 FROM ${m} WHERE queue = ? AND state = 'ready') AS has_ready,
      (SELECT MIN(due_at) FROM ${m} WHERE queue = ? AND state = 'delayed') AS delayed_due,
      (SELECT MIN(due_at) FROM ${m} WHERE queue = ? AND state = 'leased') AS leased_due,
      (SELECT MIN(expires_at) FROM ${m} WHERE queue = ? AND expires_at IS NOT NULL AND state <> 'leased') AS ttl_due,
      (SELECT MIN(expires_at) FROM ${m} WHERE queue = ? AND expires_at > ${NOW_MS}) AS ttl_next`,
    [agent, agent, agent, agent, agent],
  );
  if (row === undefined) throw new Error("the queue probe answered no row");
  return {
    now: num(row.now),
    hasReady: num(row.has_ready) === 1,
    delayedDue: numOrUndefined(row.delayed_due),
    leasedDue: numOrUndefined(row.leased_due),
    ttlDue: numOrUndefined(row.ttl_due),
    ttlNext: numOrUndefined(row.ttl_next),
  };
}

/** The next time something in the queue becomes visible or expires, as the lease batch reports it. */
export function nextDueOf(probe: QueueProbe): number | undefined {
  // Ready rows this call could not claim are held by another transaction that is about to take or free them.
  const ready = probe.hasReady ? probe.now : undefined;
  const times = [ready, probe.delayedDue, probe.leasedDue, probe.ttlNext].filter(
    (time) => time !== undefined,
  );
  if (times.length === 0) return undefined;
  return Math.max(Math.min(...times), probe.now + MIN_RECHECK_MS);
}

export interface DueWork {
  leases: boolean;
  ttl: boolean;
  delayed: boolean;
}

export function dueWorkOf(probe: QueueProbe): DueWork {
  const due = (time: number | undefined): boolean => time !== undefined && time <= probe.now;
  return { leases: due(probe.leasedDue), ttl: due(probe.ttlDue), delayed: due(probe.delayedDue) };
}

interface DeadLetterRow {
  id: string;
  body: string;
  reason: DeadLetterReason;
  history: AttemptRecord[];
}

/**
 * One lease call inside a transaction: settles what time made due (expired leases back to backoff or the DLQ,
 * expired TTLs to the DLQ, due delays to ready), then claims up to `max` ready messages in priority and enqueue
 * order. The claim select locks its rows (SKIP LOCKED on MariaDB, so competing consumers take different rows
 * without waiting; a plain FOR UPDATE on TiDB), and every update is guarded on the state it read, so a lost race
 * is a WriteConflict that retries the transaction rather than a double delivery.
 */
export async function leaseInTransaction(
  tx: SqlSession,
  ctx: SqlContext,
  agent: QueueName,
  max: number,
  leaseMs: number,
  due: DueWork,
): Promise<LeaseBatch> {
  const batch: LeaseBatch = {
    now: 0,
    deliveries: [],
    expiredLeases: [],
    deadLettered: [],
    nextDueAt: undefined,
  };
  // With nothing due, the claim reads the server's time itself: one statement less on the busy path.
  let now: number | undefined;
  if (due.leases || due.ttl || due.delayed) {
    const [nowRow] = await tx.rows(`SELECT ${NOW_MS} AS now`);
    now = num(nowRow?.now);
    const dead: DeadLetterRow[] = [];
    if (due.leases) await settleExpiredLeases(tx, ctx, agent, now, batch, dead);
    if (due.ttl) await settleExpiredTtl(tx, ctx, agent, now, dead);
    await deadLetterRows(tx, ctx.tables, agent, dead, now);
    for (const row of dead) batch.deadLettered.push({ id: row.id as MessageId, reason: row.reason });
    if (due.delayed) await promoteDue(tx, ctx, agent, now);
  }
  await claim(tx, ctx, agent, max, leaseMs, batch, now);
  return batch;
}

async function settleExpiredLeases(
  tx: SqlSession,
  ctx: SqlContext,
  agent: QueueName,
  now: number,
  batch: LeaseBatch,
  dead: DeadLetterRow[],
): Promise<void> {
  const { policy, tables } = ctx;
  const rows = await tx.rows(
    `SELECT id, token, attempts, expires_at, history, body FROM ${tables.messages}
      WHERE queue = ? AND state = 'leased' AND due_at <= ? ORDER BY due_at LIMIT ${SCAN_LIMIT} ${ctx.lockClause}`,
    [agent, now],
  );
  for (const row of rows) {
    const id = text(row.id);
    const attempts = num(row.attempts);
    const history = parseHistory(row.history);
    history.push({ attempt: attempts, outcome: "lease-expired", at: now });
    batch.expiredLeases.push({ id: id as MessageId, attempt: attempts });
    const expiresAt = numOrUndefined(row.expires_at);
    const exhausted = attemptsExhausted(agent, attempts, policy);
    if (exhausted || (expiresAt !== undefined && expiresAt <= now)) {
      const reason = exhausted ? "max-attempts" : "expired";
      dead.push({ id, body: text(row.body), reason, history });
      continue;
    }
    const delay = fullJitterBackoffMs(attempts, policy.backoffBaseMs, policy.backoffMaxMs);
    const result = await tx.run(
      `UPDATE ${tables.messages} SET state = ?, due_at = ?, history = ?
        WHERE queue = ? AND id = ? AND state = 'leased' AND token = CAST(? AS SIGNED)`,
      [
        delay === 0 ? "ready" : "delayed",
        delay === 0 ? null : now + delay,
        JSON.stringify(history),
        agent,
        id,
        bigText(row.token) ?? "0",
      ],
    );
    if (result.affectedRows !== 1)
      throw new WriteConflict(`lease of ${agent}/${id} changed while it expired`);
  }
}

async function settleExpiredTtl(
  tx: SqlSession,
  ctx: SqlContext,
  agent: QueueName,
  now: number,
  dead: DeadLetterRow[],
): Promise<void> {
  const taken = new Set(dead.map((row) => row.id));
  // A leased message keeps its lease; its TTL is checked when it is settled or the lease runs out.
  const rows = await tx.rows(
    `SELECT id, history, body FROM ${ctx.tables.messages}
      WHERE queue = ? AND expires_at <= ? AND state <> 'leased' ORDER BY expires_at LIMIT ${SCAN_LIMIT} ${ctx.lockClause}`,
    [agent, now],
  );
  for (const row of rows) {
    const id = text(row.id);
    if (taken.has(id)) continue;
    dead.push({ id, body: text(row.body), reason: "expired", history: parseHistory(row.history) });
  }
}

async function promoteDue(tx: SqlSession, ctx: SqlContext, agent: QueueName, now: number): Promise<void> {
  const m = ctx.tables.messages;
  const rows = await tx.rows(
    `SELECT id FROM ${m} WHERE queue = ? AND state = 'delayed' AND due_at <= ?
      ORDER BY due_at LIMIT ${SCAN_LIMIT} ${ctx.lockClause}`,
    [agent, now],
  );
  const ids = rows.map((row) => text(row.id));
  if (ids.length === 0) return;
  const list = padded(ids);
  const result = await tx.run(
    `UPDATE ${m} SET state = 'ready', due_at = NULL WHERE queue = ? AND state = 'delayed' AND id IN (${marks(list.length)})`,
    [agent, ...list],
  );
  if (result.affectedRows !== ids.length) throw new WriteConflict(`delayed messages of ${agent} changed`);
}

/** Claims up to `max` ready rows; `now` is the server time read earlier in the transaction, if it was. */
async function claim(
  tx: SqlSession,
  ctx: SqlContext,
  agent: QueueName,
  max: number,
  leaseMs: number,
  batch: LeaseBatch,
  readNow: number | undefined,
): Promise<void> {
  const m = ctx.tables.messages;
  // Each claimed row draws its lease token from the store's sequence, so tokens never repeat for a message.
  const rows = await tx.rows(
    `SELECT id, attempts, body, NEXTVAL(${ctx.tables.sequence}) AS token, ${NOW_MS} AS now FROM ${m}
      WHERE queue = ? AND state = 'ready' ORDER BY ord_pri, seq LIMIT ? ${ctx.lockClause}`,
    [agent, max],
  );
  let now = readNow;
  if (now === undefined) {
    const [nowRow] = rows.length > 0 ? rows : await tx.rows(`SELECT ${NOW_MS} AS now`);
    now = num(nowRow?.now);
  }
  batch.now = now;
  const leaseExpiresAt = now + leaseMs;
  if (rows.length === 0) return;
  const claimed = rows.map((row) => ({
    id: text(row.id),
    token: bigText(row.token) ?? "",
    attempt: num(row.attempts) + 1,
    body: text(row.body),
  }));
  const pairs = padded(claimed);
  const ids = pairs.map((row) => row.id);
  const result = await tx.run(
    `UPDATE ${m} SET state = 'leased', attempts = attempts + 1, due_at = ?,
      token = CASE id ${pairs.map(() => "WHEN ? THEN CAST(? AS SIGNED)").join(" ")} END
      WHERE queue = ? AND state = 'ready' AND id IN (${marks(ids.length)})`,
    [leaseExpiresAt, ...pairs.flatMap((row): SqlParam[] => [row.id, row.token]), agent, ...ids],
  );
  if (result.affectedRows !== claimed.length) throw new WriteConflict(`ready messages of ${agent} changed`);
  for (const row of claimed) {
    batch.deliveries.push({
      id: row.id as MessageId,
      token: row.token,
      attempt: row.attempt,
      leaseExpiresAt,
      json: row.body,
    });
  }
}

/** Moves message rows to the DLQ with their history (one upsert, one delete). */
export async function deadLetterRows(
  tx: SqlSession,
  tables: SqlTables,
  agent: QueueName,
  rows: readonly DeadLetterRow[],
  now: number,
): Promise<void> {
  if (rows.length === 0) return;
  await upsertDeadLetters(
    tx,
    tables,
    rows.map((row) => ({ agent, id: row.id, body: row.body, reason: row.reason, history: row.history })),
    now,
  );
  const ids = padded(rows.map((row) => row.id));
  await tx.run(`DELETE FROM ${tables.messages} WHERE queue = ? AND id IN (${marks(ids.length)})`, [
    agent,
    ...ids,
  ]);
}

export interface DeadLetterWrite {
  agent: QueueName;
  id: string;
  body: string;
  reason: DeadLetterReason;
  history: AttemptRecord[];
}

/** Writes dead letters, replacing an earlier record of the same message in the same queue. */
export async function upsertDeadLetters(
  tx: SqlSession,
  tables: SqlTables,
  letters: readonly DeadLetterWrite[],
  now: number,
): Promise<void> {
  for (const chunk of pow2Chunks(letters)) {
    await tx.run(
      `INSERT INTO ${tables.deadLetters} (queue, id, body, reason, dead_lettered_at, attempts, last_error)
        VALUES ${tuples(chunk.length, 7)}
        ON DUPLICATE KEY UPDATE body = VALUES(body), reason = VALUES(reason),
          dead_lettered_at = VALUES(dead_lettered_at), attempts = VALUES(attempts), last_error = VALUES(last_error)`,
      chunk.flatMap((letter): SqlParam[] => [
        letter.agent,
        letter.id,
        letter.body,
        letter.reason,
        now,
        JSON.stringify(letter.history),
        lastErrorOf(letter.history) ?? null,
      ]),
    );
  }
}

/**
 * Gives a lease back inside a transaction: redelivery after the delay or backoff (same place in the order), or
 * the DLQ when it was rejected, expired or out of attempts. Throws LeaseError, changing nothing, when the lease
 * no longer holds. `visible` tells whether the message is ready again at once.
 */
export async function nackInTransaction(
  tx: SqlSession,
  ctx: SqlContext,
  lease: LeaseRef,
  request: NackRequest,
): Promise<NackOutcome & { delayMs: number }> {
  const { policy, tables } = ctx;
  const [row] = await tx.rows(
    `SELECT ${NOW_MS} AS now, state, token, nacked_token, due_at, attempts, expires_at, history, body
      FROM ${tables.messages} WHERE queue = ? AND id = ? FOR UPDATE`,
    [lease.agent, lease.id],
  );
  const now = row === undefined ? 0 : num(row.now);
  const problem = leaseProblem(row === undefined ? undefined : leaseRowOf(row), lease.token, now);
  if (problem !== undefined || row === undefined) {
    throw new LeaseError(problem ?? "LEASE_NOT_FOUND", formatLeaseId(lease));
  }
  const attempts = num(row.attempts);
  const history = parseHistory(row.history);
  const record: AttemptRecord = { attempt: attempts, outcome: "nacked", at: now };
  if (request.reason !== undefined && request.reason !== "") record.reason = request.reason;
  history.push(record);
  const expiresAt = numOrUndefined(row.expires_at);
  const reason: DeadLetterReason | undefined =
    request.deadLetter ??
    (expiresAt !== undefined && expiresAt <= now
      ? "expired"
      : attemptsExhausted(lease.agent, attempts, policy)
        ? "max-attempts"
        : undefined);
  if (reason !== undefined) {
    await deadLetterRows(
      tx,
      tables,
      lease.agent,
      [{ id: lease.id, body: text(row.body), reason, history }],
      now,
    );
    return { outcome: "dead-lettered", reason, attempt: attempts, delayMs: 0 };
  }
  const delay = request.delayMs ?? fullJitterBackoffMs(attempts, policy.backoffBaseMs, policy.backoffMaxMs);
  await tx.run(
    `UPDATE ${tables.messages} SET state = ?, due_at = ?, nacked_token = token, history = ?
      WHERE queue = ? AND id = ?`,
    [
      delay === 0 ? "ready" : "delayed",
      delay === 0 ? null : now + delay,
      JSON.stringify(history),
      lease.agent,
      lease.id,
    ],
  );
  return { outcome: "retry", attempt: attempts, delayMs: delay };
}

/** Reads a lease's row to explain why a guarded statement matched nothing. */
export async function explainLease(
  session: SqlSession,
  tables: SqlTables,
  lease: LeaseRef,
): Promise<LeaseProblem> {
  const [row] = await session.rows(
    `SELECT ${NOW_MS} AS now, state, token, nacked_token, due_at FROM ${tables.messages} WHERE queue = ? AND id = ?`,
    [lease.agent, lease.id],
  );
  // The guarded statement failed, so the lease did not hold; a row that looks held now was re-leased with the
  // same token only in theory, and reports LEASE_EXPIRED.
  return (
    leaseProblem(
      row === undefined ? undefined : leaseRowOf(row),
      lease.token,
      row === undefined ? 0 : num(row.now),
    ) ?? "LEASE_EXPIRED"
  );
}
