import { describe } from "vitest";
import type { StoreFactory } from "./store-conformance.js";
import { describeTransactions } from "./transactions.js";

/** The TransactionStore role: begin, savepoint, rollback to savepoint, commit and rollback. */
export function describeTransactionRole(factory: StoreFactory): void {
  describe("role: transactions", () => {
    describeTransactions(factory);
  });
}
