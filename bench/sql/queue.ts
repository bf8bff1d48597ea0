import { SqlStore } from "../../store/sql/sql-store.js";
import { StoreQueue } from "../store/store-queue.js";

/** Tables of one case get a prefix of their own, so every case starts from empty tables (like FLUSHALL). */
let prefixes = 0;
export function freshTablePrefix(): string {
  prefixes++;
  return `bench${prefixes}_`;
}

/**
 * SqlStore (run here on MariaDB) with traces off, behind the benchmark's queue shape. Two queues given the same
 * prefix share tables, like two sidecars on one database.
 */
export async function connectSqlQueue(
  url: string,
  label: string,
  tablePrefix = freshTablePrefix(),
): Promise<StoreQueue<SqlStore>> {
  const store = await SqlStore.connect(url, { tablePrefix, policy: { traceRetentionMs: 0 } });
  return new StoreQueue(label, store);
}
