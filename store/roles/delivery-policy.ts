/** Delivery defaults of a domain. */
export interface DeliveryPolicy {
  maxAttempts: number;
  leaseMs: number;
  maxLeaseMs: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  dedupeWindowMs: number;
  /** How long trace events are kept; 0 turns tracing off. */
  traceRetentionMs: number;
  transactionTimeoutMs: number;
  /** Open transactions per process at most; more answer TOO_MANY_TRANSACTIONS (429). */
  maxOpenTransactions: number;
  /** Buffered writes per transaction at most; more answer TX_TOO_LARGE (409). */
  maxTransactionOps: number;
  /** Subscriptions per agent at most, and of those with `*` or `#`; more answer TOO_MANY_SUBSCRIPTIONS (409). */
  maxSubscriptionsPerAgent: number;
  maxWildcardSubscriptionsPerAgent: number;
  /** Upper bound on `max` for one receive. */
  maxBatch: number;
  /** Time to live of a message sent without `expiresat` (a MessageDomain's `delivery.ttlSeconds`); 0: none. */
  defaultTtlMs: number;
  /**
   * Dead letters older than this are purged (a MessageDomain's `dlq.retentionSeconds`), checked by every store
   * instance about every tenth of it (at most every minute); 0: kept until replayed or purged by hand.
   */
  dlqRetentionMs: number;
}

export const DEFAULT_DELIVERY_POLICY: DeliveryPolicy = {
  maxAttempts: 5,
  leaseMs: 30_000,
  maxLeaseMs: 12 * 60 * 60_000,
  backoffBaseMs: 1_000,
  backoffMaxMs: 5 * 60_000,
  dedupeWindowMs: 10 * 60_000,
  traceRetentionMs: 60 * 60_000,
  transactionTimeoutMs: 30_000,
  maxOpenTransactions: 1_000,
  maxTransactionOps: 1_000,
  maxSubscriptionsPerAgent: 256,
  maxWildcardSubscriptionsPerAgent: 32,
  maxBatch: 1_000,
  defaultTtlMs: 0,
  dlqRetentionMs: 0,
};
