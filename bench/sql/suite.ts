import { execFileSync } from "node:child_process";
import { performance } from "node:perf_hooks";
import { createConnection, type Connection } from "mysql2/promise";
import { SqlStore } from "../../store/sql/sql-store.js";
import { startMariaDb } from "../../test/harness/mariadb-server.js";
import { withPrivateRedis } from "../shared/private-redis.js";
import { printSqlBatch, runSqlBatch, type SqlBatchSettings } from "./batch.js";
import {
  printSqlLatency,
  runSqlLatency,
  type SqlLatencyCase,
  type SqlLatencyResult,
  type SqlLatencySettings,
} from "./latency.js";
import { connectSqlQueue, freshTablePrefix } from "./queue.js";
import {
  printSqlThroughput,
  runSqlThroughput,
  SQL_THROUGHPUT_TARGET,
  sqlThroughputRatio,
  type SqlSide,
  type SqlThroughputResult,
} from "./throughput.js";
import { median } from "../shared/stats.js";
import { verdict, type SummaryRow } from "../shared/summary.js";
import { fixed, percent } from "../shared/table.js";
import { StoreQueue } from "../store/store-queue.js";
import type { Level } from "../store/throughput.js";

/**
 * SqlStore measured on MariaDB 10.11 (no TiDB server was available): every SQL figure is the TiDB store's SQL
 * code on MariaDB, never TiDB itself.
 */
export const SQL_LABEL = "MariaDB (TiDB's SQL store code)";

export interface SqlSuiteSettings {
  levels: Level[];
  rounds: number;
  batch: SqlBatchSettings;
  latency: SqlLatencySettings;
}

export const SQL_SUITE_SETTINGS: SqlSuiteSettings = {
  levels: [
    { concurrency: 1, messages: 600, warmup: 150 },
    { concurrency: 16, messages: 2_400, warmup: 400 },
  ],
  // Three, so the median is a middle round: the ratio of two rounds moved by 5 points on a quiet machine.
  rounds: 3,
  batch: { size: 100, batches: 10, rounds: 3 },
  latency: { rate: 200, durationMs: 4_000 },
};

/** `--quick`: a tenth of the messages (and 1 s of latency load); checks the harness, not figures to quote. */
export function sqlSuiteSettings(quick: boolean): SqlSuiteSettings {
  if (!quick) return SQL_SUITE_SETTINGS;
  const tenth = (count: number): number => Math.ceil(count / 10);
  return {
    levels: SQL_SUITE_SETTINGS.levels.map((level) => ({
      ...level,
      messages: tenth(level.messages),
      warmup: tenth(level.warmup),
    })),
    rounds: 2,
    batch: { ...SQL_SUITE_SETTINGS.batch, batches: 2, rounds: 2 },
    latency: { ...SQL_SUITE_SETTINGS.latency, durationMs: 1_000 },
  };
}

/** Redis store vs SqlStore on a private MariaDB, both on loopback servers of their own. */
export async function runSqlSuite(settings: SqlSuiteSettings = SQL_SUITE_SETTINGS): Promise<SummaryRow[]> {
  const begin = performance.now();
  console.log(`mariadb: ${execFileSync("mariadbd", ["--version"], { encoding: "utf8" }).trim()}`);
  console.log(`SQL figures are ${SQL_LABEL}; TiDB itself is not measured.`);
  // Durable as in production (redo log flushed at every commit); sides switch it per case where noted.
  const mariadb = await startMariaDb({ durable: true });
  let admin: Connection | undefined;
  let rows: SummaryRow[] = [];
  try {
    admin = await createConnection({ host: mariadb.host, port: mariadb.port, user: "root" });
    admin.on("error", () => undefined);
    const sqlAdmin = admin;
    const flushAtCommit = async (value: 1 | 2): Promise<void> => {
      await sqlAdmin.query(`SET GLOBAL innodb_flush_log_at_trx_commit = ${value}`);
    };
    const sqlStore = (tablePrefix = freshTablePrefix()): Promise<SqlStore> =>
      SqlStore.connect(mariadb.url, { tablePrefix, policy: { traceRetentionMs: 0 } });

    await withPrivateRedis(async (redisUrl, redisAdmin) => {
      const flushRedis = async (): Promise<void> => {
        await redisAdmin.flushall("SYNC");
      };

      console.log("\n[1/3] SQL store throughput vs Redis store");
      const sides: SqlSide[] = [
        {
          label: "redis store",
          peer: true,
          prepare: flushRedis,
          connect: () => StoreQueue.connect(redisUrl, false),
        },
        {
          label: "sql store, flush at commit",
          peer: false,
          prepare: () => flushAtCommit(1),
          connect: () => connectSqlQueue(mariadb.url, "sql store, flush at commit"),
        },
        {
          label: "sql store, flush ~1/s",
          peer: false,
          prepare: () => flushAtCommit(2),
          connect: () => connectSqlQueue(mariadb.url, "sql store, flush ~1/s"),
        },
      ];
      const throughput = await runSqlThroughput(sides, settings.levels, settings.rounds);

      console.log("\n[2/3] SQL store batched inserts (flush at commit)");
      await flushAtCommit(1);
      const batch = await runSqlBatch(() => sqlStore(), settings.batch);

      console.log("\n[3/3] send → receive latency under a long-polling receiver");
      const cases: SqlLatencyCase[] = [
        {
          label: "redis store, one store",
          sql: false,
          prepare: flushRedis,
          connect: async () => {
            const store = (await StoreQueue.connect(redisUrl, false)).store;
            return { sender: store, receiver: store };
          },
        },
        {
          label: "sql store, one store",
          sql: true,
          prepare: () => flushAtCommit(1),
          connect: async () => {
            const store = await sqlStore();
            return { sender: store, receiver: store };
          },
        },
        {
          label: "redis store, two stores",
          sql: false,
          prepare: flushRedis,
          connect: async () => ({
            sender: (await StoreQueue.connect(redisUrl, false)).store,
            receiver: (await StoreQueue.connect(redisUrl, false)).store,
          }),
        },
        {
          label: "sql store, two stores",
          sql: true,
          prepare: () => flushAtCommit(1),
          connect: async () => {
            const prefix = freshTablePrefix();
            return { sender: await sqlStore(prefix), receiver: await sqlStore(prefix) };
          },
        },
      ];
      const latency = await runSqlLatency(cases, settings.latency);

      console.log(`\nAll "sql store" rows: ${SQL_LABEL}. TiDB targets are untested on TiDB.`);
      printSqlThroughput(throughput);
      printSqlBatch(batch);
      printSqlLatency(latency, settings.latency);
      rows = sqlRows(throughput, latency);
    });
  } finally {
    admin?.destroy();
    await mariadb.cleanup();
  }
  console.log(`\nSQL suite: ${((performance.now() - begin) / 1000).toFixed(0)} s`);
  return rows;
}

/** Issue #12: a write in one sidecar wakes a long-poll in another within this p99. */
export const SQL_WAKEUP_TARGET_MS = 50;

function sqlRows(throughput: SqlThroughputResult[], latency: SqlLatencyResult[]): SummaryRow[] {
  const rows: SummaryRow[] = [];
  const top = Math.max(...throughput.map((result) => result.concurrency));
  const redis = throughput.find((result) => result.peer && result.concurrency === top);
  const sql = throughput.find(
    (result) => result.side === "sql store, flush at commit" && result.concurrency === top,
  );
  if (redis !== undefined && sql !== undefined) {
    const share = sqlThroughputRatio(throughput, sql);
    rows.push({
      measure: "SQL store throughput, 16 in flight",
      value: `${fixed(median(sql.rounds))} msg/s (MariaDB, durable)`,
      peer: `Redis store ${fixed(median(redis.rounds))} msg/s`,
      ratio: percent(share),
      target: `≥ ${percent(SQL_THROUGHPUT_TARGET)} of the Redis store`,
      verdict: verdict(share >= SQL_THROUGHPUT_TARGET),
    });
  }
  const sqlTwo = latency.find((result) => result.sql && result.label.includes("two stores"));
  const redisTwo = latency.find((result) => !result.sql && result.label.includes("two stores"));
  if (sqlTwo !== undefined) {
    rows.push({
      measure: "SQL wake-up across sidecars, p99",
      value: `${fixed(sqlTwo.p99, 1)} ms (p50 ${fixed(sqlTwo.p50, 1)} ms)`,
      peer: redisTwo === undefined ? "–" : `Redis store ${fixed(redisTwo.p99, 1)} ms`,
      ratio: "–",
      target: `p99 ≤ ${SQL_WAKEUP_TARGET_MS} ms`,
      verdict: verdict(sqlTwo.p99 <= SQL_WAKEUP_TARGET_MS),
    });
  }
  return rows;
}
