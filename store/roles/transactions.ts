import type { TransactionId } from "../../core/ids.js";

/**
 * Transactions: writes (`enqueue`, `publish`, `ack`, `ackMany` with `tx`) are buffered in this process and
 * applied in one atomic step at `commit` (docs/store-contract.md).
 */
export interface TransactionStore {
  beginTransaction(options?: { timeoutMs?: number }): Promise<TransactionId>;
  /** Marks a point inside a transaction that `rollbackToSavepoint` can return to (nested transactions). */
  savepoint(tx: string): Promise<SavepointId>;
  rollbackToSavepoint(tx: string, savepoint: SavepointId): Promise<void>;
  commit(tx: string): Promise<void>;
  rollback(tx: string): Promise<void>;
}

export type SavepointId = number;
