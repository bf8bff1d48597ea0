import { LeaseError } from "../../core/errors.js";
import type { QueueName } from "../../core/names.js";
import type { AckOp, EnqueueOp, WriteOp, WriteOutcome } from "../backend-types.js";
import { formatLeaseId, type LeaseRef } from "../lease-id.js";
import { NOW_MS, type SqlParam, type SqlSession } from "./sql-client.js";
import { WriteConflict } from "./sql-errors.js";
import type { EndpointPool } from "./endpoint-pool.js";
import {
  isIssuableToken,
  leaseProblem,
  leaseRowOf,
  type LeaseProblem,
  type LeaseRow,
  upsertDeadLetters,
  type DeadLetterWrite,
  type SqlContext,
} from "./sql-leases.js";
import type { SqlTables } from "./sql-tables.js";
import { bigText, num, padded, pow2Chunks, text, tuples } from "./sql-util.js";

/** A queue and a key within it, joined for Map keys (agent names cannot contain NUL). */
function pairKey(agent: string, key: string): string {
  return `${agent}\u0000${key}`;
}

type DedupeMode = "insert" | "update-expired" | "upsert";

interface DedupeWrite {
  agent: QueueName;
  key: string;
  until: number;
  mode: DedupeMode;
}

interface MessageInsert {
  op: EnqueueOp;
  state: "ready" | "delayed";
  dueAt: number | null;
}

export interface AppliedWrites {
  outcomes: WriteOutcome[];
  /** Queues that got a message (visible now or later), whose waiters should look again. */
  touched: Set<QueueName>;
}

/**
 * Applies a batch of writes (one send, one ack, or a whole transaction) inside one SQL transaction, in a fixed
 * number of statements whatever the batch size:
 * 1. one probe reads the server time, the dedupe keys and the message ids the batch touches (a plain read);
 * 2. acks lock their rows and are checked, so one lapsed lease fails the whole batch before anything is written;
 * 3. the enqueues are decided here in op order (dedupe, expiry, replay), exactly as the Redis script does;
 * 4. the result is written with multi-row statements.
 * Races with concurrent writers surface as duplicate keys or guarded updates that match nothing; the transaction
 * then runs again (see SqlClient.transaction) and the probe sees the winner's row.
 */
export async function applyWriteOps(
  tx: SqlSession,
  ctx: SqlContext,
  ops: readonly WriteOp[],
): Promise<AppliedWrites> {
  const tables = ctx.tables;
  const enqueues = ops.filter((op): op is EnqueueOp => op.kind === "enqueue");
  const acks = ops.filter((op): op is AckOp => op.kind === "ack");
  const probe = await probeWrites(tx, tables, enqueues);
  const now = probe.now;
  if (acks.length > 0) await applyAcks(tx, tables, acks, now);

  const dedupe = probe.dedupe;
  const present = probe.present;
  const dedupeWrites = new Map<string, DedupeWrite>();
  const deadLetters = new Map<string, DeadLetterWrite | "delete">();
  const inserts: MessageInsert[] = [];
  const touched = new Set<QueueName>();
  const windowMs = ctx.policy.dedupeWindowMs;

  const touchDedupe = (op: EnqueueOp): void => {
    const key = pairKey(op.agent, op.dedupeKey);
    const until = now + windowMs;
    const planned = dedupeWrites.get(key);
    if (planned !== undefined) planned.until = until;
    else {
      const probed = probe.dedupe.get(key);
      const mode: DedupeMode = op.replay ? "upsert" : probed === undefined ? "insert" : "update-expired";
      dedupeWrites.set(key, { agent: op.agent, key: op.dedupeKey, until, mode });
    }
    dedupe.set(key, until);
  };

  const outcomes = ops.map((op): WriteOutcome => {
    if (op.kind === "ack") return { duplicate: false };
    const messageKey = pairKey(op.agent, op.message.id);
    if (op.replay) deadLetters.set(messageKey, "delete");
    else {
      const until = dedupe.get(pairKey(op.agent, op.dedupeKey));
      if (until !== undefined && until > now) return { duplicate: true };
    }
    if (op.expiresAt !== undefined && op.expiresAt <= now) {
      if (present.has(messageKey)) return { duplicate: true };
      touchDedupe(op);
      deadLetters.set(messageKey, {
        agent: op.agent,
        id: op.message.id,
        body: op.json,
        reason: "expired",
        history: [],
      });
      return { duplicate: false, deadLettered: "expired" };
    }
    if (present.has(messageKey)) return { duplicate: true };
    touchDedupe(op);
    present.add(messageKey);
    const delayed = op.notBefore !== undefined && op.notBefore > now;
    inserts.push({
      op,
      state: delayed ? "delayed" : "ready",
      dueAt: delayed ? (op.notBefore ?? null) : null,
    });
    touched.add(op.agent);
    return { duplicate: false };
  });

  await writeDeadLetters(tx, tables, deadLetters, now);
  await writeDedupe(tx, tables, [...dedupeWrites.values()], now);
  await insertMessages(tx, tables, inserts);
  return { outcomes, touched };
}

interface WriteProbe {
  now: number;
  /** Dedupe window ends of the keys the batch uses. */
  dedupe: Map<string, number>;
  /** Message ids already queued (or delayed or leased) in their queue. */
  present: Set<string>;
}

async function probeWrites(
  tx: SqlSession,
  tables: SqlTables,
  enqueues: readonly EnqueueOp[],
): Promise<WriteProbe> {
  const probe: WriteProbe = { now: 0, dedupe: new Map(), present: new Set() };
  const parts = [`SELECT 'n' AS k, NULL AS queue, NULL AS v, ${NOW_MS} AS n`];
  const params: SqlParam[] = [];
  if (enqueues.length > 0) {
    const keys = padded(enqueues.map((op) => [op.agent, op.dedupeKey]));
    const ids = padded(enqueues.map((op) => [op.agent, op.message.id]));
    parts.push(
      `SELECT 'd', queue, dedupe_key, until_at FROM ${tables.dedupe} WHERE (queue, dedupe_key) IN (${tuples(keys.length, 2)})`,
      `SELECT 'm', queue, id, NULL FROM ${tables.messages} WHERE (queue, id) IN (${tuples(ids.length, 2)})`,
    );
    params.push(...keys.flat(), ...ids.flat());
  }
  for (const row of await tx.rows(parts.join(" UNION ALL "), params)) {
    const kind = text(row.k);
    if (kind === "n") probe.now = num(row.n);
    else if (kind === "d") probe.dedupe.set(pairKey(text(row.queue), text(row.v)), num(row.n));
    else probe.present.add(pairKey(text(row.queue), text(row.v)));
  }
  return probe;
}

/** Locks and checks every acked lease, then deletes the messages; any lease that no longer holds fails them all. */
async function applyAcks(
  tx: SqlSession,
  tables: SqlTables,
  acks: readonly AckOp[],
  now: number,
): Promise<void> {
  const targets = new Map<string, AckOp>();
  for (const op of acks) targets.set(pairKey(op.lease.agent, op.lease.id), op);
  const pairs = padded([...targets.values()].map((op) => [op.lease.agent, op.lease.id]));
  const { byKey } = await readLeaseRows(
    tx,
    tables,
    acks.map((op) => op.lease),
    "FOR UPDATE",
  );
  for (const op of acks) {
    const problem = leaseProblem(byKey.get(pairKey(op.lease.agent, op.lease.id)), op.lease.token, now);
    if (problem !== undefined) throw new LeaseError(problem, formatLeaseId(op.lease));
  }
  const result = await tx.run(
    `DELETE FROM ${tables.messages} WHERE (queue, id) IN (${tuples(pairs.length, 2)})`,
    pairs.flat(),
  );
  if (result.affectedRows !== targets.size) throw new WriteConflict("acked messages changed");
}

/**
 * Acks many leases in one transaction, each as a single ack would in list order: one locking read of their rows
 * (with the server time), one DELETE of those whose lease holds. A lease that does not hold changes nothing.
 */
export async function ackLeasesInTransaction(
  tx: SqlSession,
  tables: SqlTables,
  leases: readonly LeaseRef[],
): Promise<(LeaseProblem | undefined)[]> {
  const { now, byKey } = await readLeaseRows(tx, tables, leases, "FOR UPDATE");
  const acked = new Set<string>();
  const outcomes = leases.map((lease): LeaseProblem | undefined => {
    const key = pairKey(lease.agent, lease.id);
    // Acked earlier in this list: its row is gone, as a second single ack would find.
    const problem = acked.has(key) ? "LEASE_NOT_FOUND" : leaseProblem(byKey.get(key), lease.token, now);
    if (problem === undefined) acked.add(key);
    return problem;
  });
  if (acked.size > 0) {
    const deletes = padded([...acked]);
    const result = await tx.run(
      `DELETE FROM ${tables.messages} WHERE (queue, id) IN (${tuples(deletes.length, 2)})`,
      deletes.flatMap((key) => key.split("\u0000")),
    );
    if (result.affectedRows !== acked.size) throw new WriteConflict("acked messages changed");
  }
  return outcomes;
}

/**
 * MariaDB: settles many leases in one autocommit `DELETE ... RETURNING`, guarded like a single ack, so a group of
 * acks costs one statement; only when some were refused does one more read tell each of those why. The result is
 * what `ackLeasesInTransaction` answers: in list order, a lease given twice is LEASE_NOT_FOUND the second time.
 */
export async function ackLeasesReturning(
  pool: EndpointPool,
  tables: SqlTables,
  leases: readonly LeaseRef[],
): Promise<(LeaseProblem | undefined)[]> {
  const issuable = padded(leases.filter((lease) => isIssuableToken(lease.token)));
  const deleted = new Set<string>();
  if (issuable.length > 0) {
    const rows = await pool.writeReturning(
      `DELETE FROM ${tables.messages}
        WHERE (queue, id, token) IN (${issuable.map(() => "(?, ?, CAST(? AS SIGNED))").join(", ")})
        AND state = 'leased' AND due_at > ${NOW_MS} RETURNING queue, id, token`,
      issuable.flatMap((lease): SqlParam[] => [lease.agent, lease.id, lease.token]),
    );
    for (const row of rows) deleted.add(leaseKey(text(row.queue), text(row.id), bigText(row.token) ?? ""));
  }
  const acked = new Set<string>();
  const granted = leases.map((lease) => {
    const key = pairKey(lease.agent, lease.id);
    if (acked.has(key) || !deleted.has(leaseKey(lease.agent, lease.id, lease.token))) return false;
    acked.add(key);
    return true;
  });
  const refused = leases.filter((_, index) => granted[index] !== true);
  if (refused.length === 0) return leases.map(() => undefined);
  const { now, byKey } = await readLeaseRows(pool, tables, refused, "");
  return leases.map((lease, index) => {
    if (granted[index] === true) return undefined;
    const key = pairKey(lease.agent, lease.id);
    // Acked earlier in this list, as a second single ack would find; otherwise the guard refused it, so a row that
    // looks held now still reports LEASE_EXPIRED (as explainLease does).
    if (acked.has(key)) return "LEASE_NOT_FOUND";
    return leaseProblem(byKey.get(key), lease.token, now) ?? "LEASE_EXPIRED";
  });
}

/** The lease columns of these leases' message rows by queue and id, and the server time of the read. */
async function readLeaseRows(
  reader: Pick<SqlSession, "rows">,
  tables: SqlTables,
  leases: readonly LeaseRef[],
  lock: "FOR UPDATE" | "",
): Promise<{ now: number; byKey: Map<string, LeaseRow> }> {
  const pairs = padded([...new Set(leases.map((lease) => pairKey(lease.agent, lease.id)))]);
  const rows = await reader.rows(
    `SELECT ${NOW_MS} AS now, queue, id, state, token, nacked_token, due_at FROM ${tables.messages}
      WHERE (queue, id) IN (${tuples(pairs.length, 2)}) ${lock}`,
    pairs.flatMap((key) => key.split("\u0000")),
  );
  return {
    now: rows[0] === undefined ? 0 : num(rows[0].now),
    byKey: new Map(rows.map((row) => [pairKey(text(row.queue), text(row.id)), leaseRowOf(row)])),
  };
}

function leaseKey(agent: string, id: string, token: string): string {
  return `${pairKey(agent, id)}\u0000${token}`;
}

async function writeDeadLetters(
  tx: SqlSession,
  tables: SqlTables,
  planned: ReadonlyMap<string, DeadLetterWrite | "delete">,
  now: number,
): Promise<void> {
  const deletes: string[][] = [];
  const upserts: DeadLetterWrite[] = [];
  for (const [key, plan] of planned) {
    if (plan === "delete") deletes.push(key.split("\u0000"));
    else upserts.push(plan);
  }
  if (deletes.length > 0) {
    const pairs = padded(deletes);
    await tx.run(
      `DELETE FROM ${tables.deadLetters} WHERE (queue, id) IN (${tuples(pairs.length, 2)})`,
      pairs.flat(),
    );
  }
  await upsertDeadLetters(tx, tables, upserts, now);
}

async function writeDedupe(
  tx: SqlSession,
  tables: SqlTables,
  writes: readonly DedupeWrite[],
  now: number,
): Promise<void> {
  const inserts = writes.filter((write) => write.mode === "insert");
  const upserts = writes.filter((write) => write.mode === "upsert");
  // A plain INSERT: a concurrent send of the same key makes it fail with a duplicate key, and the retry sees it.
  for (const chunk of pow2Chunks(inserts)) {
    await tx.run(
      `INSERT INTO ${tables.dedupe} (queue, dedupe_key, until_at) VALUES ${tuples(chunk.length, 3)}`,
      chunk.flatMap((write): SqlParam[] => [write.agent, write.key, write.until]),
    );
  }
  for (const chunk of pow2Chunks(upserts)) {
    await tx.run(
      `INSERT INTO ${tables.dedupe} (queue, dedupe_key, until_at) VALUES ${tuples(chunk.length, 3)}
        ON DUPLICATE KEY UPDATE until_at = VALUES(until_at)`,
      chunk.flatMap((write): SqlParam[] => [write.agent, write.key, write.until]),
    );
  }
  for (const write of writes.filter((candidate) => candidate.mode === "update-expired")) {
    // Guarded on the window having passed: if a concurrent send renewed it first, this matches nothing.
    const result = await tx.run(
      `UPDATE ${tables.dedupe} SET until_at = ? WHERE queue = ? AND dedupe_key = ? AND until_at <= ?`,
      [write.until, write.agent, write.key, now],
    );
    if (result.affectedRows !== 1)
      throw new WriteConflict(`dedupe key of ${write.agent} renewed concurrently`);
  }
}

async function insertMessages(
  tx: SqlSession,
  tables: SqlTables,
  inserts: readonly MessageInsert[],
): Promise<void> {
  // NEXTVAL numbers the rows in statement order, which is op order: the enqueue order within each priority.
  for (const chunk of pow2Chunks(inserts)) {
    await tx.run(
      `INSERT INTO ${tables.messages}
        (queue, id, body, priority, ord_pri, seq, state, due_at, attempts, expires_at)
        VALUES ${chunk.map(() => `(?, ?, ?, ?, ?, NEXTVAL(${tables.sequence}), ?, ?, 0, ?)`).join(", ")}`,
      chunk.flatMap(({ op, state, dueAt }): SqlParam[] => [
        op.agent,
        op.message.id,
        op.json,
        op.priority,
        9 - op.priority,
        state,
        dueAt,
        op.expiresAt ?? null,
      ]),
    );
  }
}
