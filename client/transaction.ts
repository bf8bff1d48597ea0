import type { HttpTransport } from "./http.js";
import type { MessageInput, SendResult } from "./types.js";

/** What a transaction needs of a ReceivedMessage (any payload type). */
export interface Settleable {
  readonly leaseId: string;
  /** @internal */
  markSettled(settled: boolean): void;
}

/**
 * A transaction on the sidecar: sends and acks made through it become visible together at commit, or not at all.
 * Get one from `client.transaction(fn)`; nest with `tx.transaction(fn)` (a savepoint).
 */
export class Transaction {
  /** Messages acked through this transaction, so a rollback can hand them back to their stream. */
  private readonly acked: Settleable[];

  /** @internal */
  constructor(
    private readonly http: HttpTransport,
    readonly id: string,
    acked: Settleable[] = [],
  ) {
    this.acked = acked;
  }

  async send(message: MessageInput): Promise<SendResult> {
    return this.http.call<SendResult>("POST", "/v1/messages", { query: { tx: this.id }, body: message });
  }

  async publish(topic: string, message: MessageInput): Promise<SendResult> {
    return this.send({ ...message, topic });
  }

  /** Acks a delivery at commit. Pass the ReceivedMessage itself so its stream knows it is taken care of. */
  async ack(lease: string | Settleable): Promise<void> {
    const leaseId = typeof lease === "string" ? lease : lease.leaseId;
    await this.http.call("POST", `/v1/deliveries/${encodeURIComponent(leaseId)}/ack`, {
      query: { tx: this.id },
    });
    if (typeof lease !== "string") {
      lease.markSettled(true);
      this.acked.push(lease);
    }
  }

  /**
   * A nested transaction: a savepoint. If `fn` throws, everything it did is rolled back to the savepoint and the
   * error is rethrown; the outer transaction carries on if you catch it.
   */
  async transaction<T>(fn: (tx: Transaction) => Promise<T>): Promise<T> {
    const { savepoint } = await this.http.call<{ savepoint: number | string }>(
      "POST",
      `/v1/transactions/${encodeURIComponent(this.id)}/savepoints`,
    );
    const mark = this.acked.length;
    try {
      return await fn(new Transaction(this.http, this.id, this.acked));
    } catch (error) {
      await this.http.call(
        "POST",
        `/v1/transactions/${encodeURIComponent(this.id)}/savepoints/${encodeURIComponent(String(savepoint))}/rollback`,
      );
      this.giveBack(mark);
      throw error;
    }
  }

  /** @internal */
  async commit(): Promise<void> {
    await this.http.call("POST", `/v1/transactions/${encodeURIComponent(this.id)}/commit`);
  }

  /** @internal */
  async rollback(): Promise<void> {
    try {
      await this.http.call("POST", `/v1/transactions/${encodeURIComponent(this.id)}/rollback`);
    } finally {
      this.giveBack(0);
    }
  }

  private giveBack(from: number): void {
    for (const received of this.acked.splice(from)) received.markSettled(false);
  }
}
