/**
 * Whether a MessageDomain's store answers: Redis `PING`, or `SELECT 1` over the MySQL protocol (TiDB, MySQL or
 * MariaDB; with several comma-separated URLs, any one answering is enough). Kept behind an interface so
 * reconciler logic can be tested without a store.
 */
import { Redis } from "ioredis";
import { createConnection } from "mysql2/promise";
import { raceTimeout } from "../../core/race-timeout.js";

export type ProbedStoreType = "redis" | "sql";

export interface StoreProbe {
  /** Resolves when the store answers within the timeout; rejects with the reason otherwise. */
  check(type: ProbedStoreType, url: string): Promise<void>;
}

const DEFAULT_TIMEOUT_MS = 3_000;

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return raceTimeout(promise, ms, () => new Error(`${what} did not answer within ${ms} ms`));
}

async function pingRedis(url: string, timeoutMs: number): Promise<void> {
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    // One attempt: the reconciler decides when to try again.
    retryStrategy: () => null,
  });
  // connect() rejects with a bare "Connection is closed."; the cause (e.g. ECONNREFUSED) comes as an event.
  let cause: unknown;
  client.on("error", (error: unknown) => {
    cause ??= error;
  });
  try {
    await withTimeout(
      (async () => {
        await client.connect();
        await client.ping();
      })(),
      timeoutMs,
      "redis",
    );
  } catch (error) {
    throw cause ?? error;
  } finally {
    client.disconnect();
  }
}

async function selectOne(url: string, timeoutMs: number): Promise<void> {
  const connection = await withTimeout(
    createConnection({ uri: url, connectTimeout: timeoutMs }),
    timeoutMs,
    "the SQL store",
  );
  try {
    await withTimeout(connection.query("SELECT 1"), timeoutMs, "the SQL store");
  } finally {
    connection.destroy();
  }
}

/** The real probe: one short-lived connection per check. */
export function connectingStoreProbe(options: { timeoutMs?: number } = {}): StoreProbe {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  return {
    async check(type, url) {
      if (type === "redis") {
        await pingRedis(url.trim(), timeoutMs);
        return;
      }
      const urls = url
        .split(",")
        .map((part) => part.trim())
        .filter((part) => part !== "");
      if (urls.length === 0) throw new Error("no store URL");
      await Promise.any(urls.map((one) => selectOne(one, timeoutMs))).catch((error: unknown) => {
        throw error instanceof AggregateError && error.errors.length > 0 ? error.errors[0] : error;
      });
    },
  };
}
