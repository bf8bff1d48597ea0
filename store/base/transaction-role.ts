import { LeaseError, TransactionError } from "../../core/errors.js";
import type { TransactionId } from "../../core/ids.js";
import type { WriteOp, WriteOutcome } from "../backend-types.js";
import type { DeliveryPolicy } from "../roles/delivery-policy.js";
import type { SavepointId, TransactionStore } from "../roles/transactions.js";
import { TransactionBuffer } from "../transaction-buffer.js";
import { toCount, toTransactionId } from "../validate.js";
import type { TraceRecorder } from "./trace-recorder.js";

/**
 * Transactions, the same for every backend: writes are buffered in this process (`buffer`) and handed to the
 * backend's `applyWrites` in one atomic step at commit.
 */
export class TransactionRole implements TransactionStore {
  readonly buffer: TransactionBuffer;

  constructor(
    private readonly applyWrites: (ops: WriteOp[]) => Promise<WriteOutcome[]>,
    private readonly trace: TraceRecorder,
    policy: Pick<DeliveryPolicy, "transactionTimeoutMs" | "maxOpenTransactions" | "maxTransactionOps">,
  ) {
    this.buffer = new TransactionBuffer(policy.transactionTimeoutMs, {
      maxOpen: policy.maxOpenTransactions,
      maxOps: policy.maxTransactionOps,
    });
  }

  beginTransaction(options: { timeoutMs?: number } = {}): Promise<TransactionId> {
    const timeoutMs = toCount(options.timeoutMs, "timeoutMs", 1);
    return Promise.resolve(this.buffer.begin(timeoutMs));
  }

  savepoint(tx: string): Promise<SavepointId> {
    return Promise.resolve(this.buffer.savepoint(toTransactionId(tx)));
  }

  rollbackToSavepoint(tx: string, savepoint: SavepointId): Promise<void> {
    this.buffer.rollbackTo(toTransactionId(tx), savepoint);
    return Promise.resolve();
  }

  async commit(tx: string): Promise<void> {
    const ops = this.buffer.take(toTransactionId(tx));
    if (ops.length === 0) return;
    let outcomes: WriteOutcome[];
    try {
      outcomes = await this.applyWrites(ops);
    } catch (error) {
      if (error instanceof LeaseError) {
        throw new TransactionError("TX_CONFLICT", `transaction ${tx} cannot commit: ${error.message}`, {
          cause: error,
        });
      }
      throw error;
    }
    this.trace.writes(ops, outcomes, undefined);
  }

  rollback(tx: string): Promise<void> {
    this.buffer.take(toTransactionId(tx));
    return Promise.resolve();
  }

  close(): void {
    this.buffer.close();
  }
}
