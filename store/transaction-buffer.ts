import { TransactionError } from "../core/errors.js";
import { newTransactionId, type TransactionId } from "../core/ids.js";
import type { WriteOp } from "./backend-types.js";

interface OpenTransaction {
  ops: WriteOp[];
  savepoints: number[];
  timer: NodeJS.Timeout;
}

/**
 * Open transactions live in the process that began them, as a list of buffered writes. Commit hands the list to
 * the backend to apply atomically; a crash before commit therefore loses only uncommitted work, which is rollback.
 */
export class TransactionBuffer {
  private readonly open = new Map<TransactionId, OpenTransaction>();

  constructor(
    private readonly defaultTimeoutMs: number,
    private readonly limits: { maxOpen: number; maxOps: number } = { maxOpen: Infinity, maxOps: Infinity },
  ) {}

  begin(timeoutMs: number = this.defaultTimeoutMs): TransactionId {
    if (this.open.size >= this.limits.maxOpen)
      throw new TransactionError(
        "TOO_MANY_TRANSACTIONS",
        `${this.limits.maxOpen} transactions are open already; commit or roll one back first`,
      );
    const id = newTransactionId();
    const timer = setTimeout(() => this.open.delete(id), timeoutMs);
    timer.unref();
    this.open.set(id, { ops: [], savepoints: [], timer });
    return id;
  }

  /** Throws TX_NOT_FOUND unless the transaction is open; answers the id for chaining. */
  check(id: TransactionId): TransactionId {
    this.get(id);
    return id;
  }

  add(id: TransactionId, op: WriteOp): void {
    this.addAll(id, [op]);
  }

  /** Adds all or, when they would not fit, none. */
  addAll(id: TransactionId, ops: readonly WriteOp[]): void {
    const tx = this.get(id);
    if (tx.ops.length + ops.length > this.limits.maxOps)
      throw new TransactionError(
        "TX_TOO_LARGE",
        `transaction ${id} holds ${this.limits.maxOps} writes already, the most one transaction may hold`,
        { field: "tx" },
      );
    tx.ops.push(...ops);
  }

  savepoint(id: TransactionId): number {
    const tx = this.get(id);
    tx.savepoints.push(tx.ops.length);
    return tx.savepoints.length - 1;
  }

  rollbackTo(id: TransactionId, savepoint: number): void {
    const tx = this.get(id);
    const mark = tx.savepoints[savepoint];
    if (mark === undefined) {
      throw new TransactionError("TX_NOT_FOUND", `savepoint ${savepoint} is not part of transaction ${id}`);
    }
    tx.ops.length = mark;
    // Like SQL, rolling back to a savepoint keeps it and drops the ones made after it.
    tx.savepoints.length = savepoint + 1;
  }

  /** Ends the transaction and hands over its writes (for commit) or drops them (for rollback). */
  take(id: TransactionId): WriteOp[] {
    const tx = this.get(id);
    clearTimeout(tx.timer);
    this.open.delete(id);
    return tx.ops;
  }

  close(): void {
    for (const tx of this.open.values()) clearTimeout(tx.timer);
    this.open.clear();
  }

  private get(id: TransactionId): OpenTransaction {
    const tx = this.open.get(id);
    if (tx === undefined) {
      throw new TransactionError("TX_NOT_FOUND", `transaction ${id} is unknown, finished or timed out`);
    }
    return tx;
  }
}
