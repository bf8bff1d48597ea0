/** The backend kinds. `sql` covers MariaDB, MySQL and TiDB (config also accepts the old name `tidb`). */
export type StoreKind = "memory" | "redis" | "sql";

/** What every backend has whatever its roles: what it is, whether it answers, and its end. */
export interface StoreLifecycle {
  readonly kind: StoreKind;
  /** True when an accepted message survives a crash of this process (false for memory). */
  readonly durable: boolean;
  /** How full the backend's memory is, where the backend has a limit (Redis); undefined elsewhere. */
  memoryStatus(): Promise<StoreMemoryStatus | undefined>;
  /** Resolves when the backend answers; throws STORE_UNAVAILABLE otherwise. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface StoreMemoryStatus {
  usedBytes: number;
  /** 0 when the backend has no limit. */
  maxBytes: number;
  /** The backend's eviction policy, e.g. Redis `noeviction`. */
  policy: string;
}
