import {
  createConnection,
  createPool,
  type Connection,
  type Pool,
  type PoolConnection,
  type ResultSetHeader,
} from "mysql2/promise";
import { BmnError, TransactionError } from "../../core/errors.js";
import {
  errnoOf,
  isConnectionError,
  isRetryable,
  markNotSent,
  markOutcomeUnknown,
  toStoreError,
} from "./sql-errors.js";

export type SqlDialect = "mariadb" | "tidb";
export type SqlParam = string | number | null;
export type Row = Record<string, unknown>;

/** The server's clock in epoch milliseconds (constant within one statement), so every sidecar agrees on time. */
export const NOW_MS = "CAST(UNIX_TIMESTAMP(NOW(3)) * 1000 AS SIGNED)";

export interface SqlClientOptions {
  /** Connections in the pool. */
  poolSize: number;
  /** A statement (or a connect) without an answer within this fails with STORE_UNAVAILABLE. */
  commandTimeoutMs: number;
  /** TiDB only: the transaction mode of every session. */
  txnMode: "pessimistic" | "optimistic";
  /** Attempts of one transaction that hits write conflicts or deadlocks before TX_CONFLICT. */
  maxTxAttempts: number;
}

/** What a transaction body (or any single session) runs statements on. */
export interface SqlSession {
  rows(sql: string, params?: readonly SqlParam[]): Promise<Row[]>;
  run(sql: string, params?: readonly SqlParam[]): Promise<ResultSetHeader>;
}

/** What the store runs its statements through: one `SqlClient`, or an `EndpointPool` of several. */
export type SqlRunner = Pick<
  SqlClient,
  | "dialect"
  | "serverVersion"
  | "lockClause"
  | "rows"
  | "run"
  | "withConnection"
  | "transaction"
  | "withDedicatedSession"
  | "close"
>;

/** Per-connection prepared statements kept by mysql2; MariaDB caps them server-wide (max_prepared_stmt_count). */
const PREPARED_PER_CONNECTION = 128;
const RETRY_BASE_MS = 5;
const RETRY_CAP_MS = 250;
/**
 * Row lock waits end before the command timeout (at about half of it, 1-2 s), so a lock held too long is a
 * retried conflict, not an outage. InnoDB and TiDB count this in whole seconds.
 */
function lockWaitTimeoutS(commandTimeoutMs: number): number {
  return Math.max(1, Math.min(2, Math.floor(commandTimeoutMs / 2_000)));
}

/**
 * A mysql2 pool with what every statement of the SQL store needs: session settings on each new connection (UTC,
 * READ COMMITTED on MariaDB, the TiDB transaction mode), server-side prepared statements for every statement with
 * values, a command timeout, error mapping to BMN errors, and transactions retried on write conflicts.
 */
export class SqlClient {
  private readonly initialized = new WeakSet<object>();

  private constructor(
    private readonly pool: Pool,
    private readonly url: string,
    readonly dialect: SqlDialect,
    readonly serverVersion: string,
    private readonly options: SqlClientOptions,
  ) {
    // Idle connections that the server closes are dropped by mysql2 itself; this only keeps errors handled.
    pool.on("connection", (connection) => {
      connection.on("error", () => undefined);
    });
  }

  /** Connects (creating the database named in the URL if it is missing) and detects MariaDB or TiDB. */
  static async open(url: string, options: SqlClientOptions): Promise<SqlClient> {
    const parsed = parseMysqlUrl(url);
    const probe = await connectCreatingDatabase(url, parsed.database, options.commandTimeoutMs);
    let version: string;
    let tidb: boolean;
    try {
      const timeout = options.commandTimeoutMs;
      const [rows] = await probe.query({ sql: "SELECT VERSION() AS version", timeout });
      const value = (rows as Row[])[0]?.version;
      version = typeof value === "string" ? value : "";
      // tidb_version() exists only on TiDB; elsewhere it is ER_SP_DOES_NOT_EXIST (1305).
      tidb = await probe.query({ sql: "SELECT tidb_version() AS v", timeout }).then(
        () => true,
        (error: unknown) => {
          if (errnoOf(error) === UNKNOWN_FUNCTION) return false;
          throw error;
        },
      );
    } catch (error) {
      throw toStoreError(error);
    } finally {
      probe.destroy();
    }
    const dialect = tidb ? "tidb" : detectDialect(version);
    const pool = createPool({
      uri: url,
      connectionLimit: options.poolSize,
      maxIdle: options.poolSize,
      waitForConnections: true,
      queueLimit: 0,
      connectTimeout: options.commandTimeoutMs,
      enableKeepAlive: true,
      supportBigNumbers: true,
      bigNumberStrings: false,
      dateStrings: true,
      charset: "utf8mb4_bin",
      multipleStatements: false,
      maxPreparedStatements: PREPARED_PER_CONNECTION,
    });
    return new SqlClient(pool, url, dialect, version, options);
  }

  /** `FOR UPDATE SKIP LOCKED` on MariaDB; plain `FOR UPDATE` on TiDB, which parses SKIP LOCKED but takes no lock. */
  get lockClause(): string {
    return this.dialect === "mariadb" ? "FOR UPDATE SKIP LOCKED" : "FOR UPDATE";
  }

  /** One statement in autocommit mode. */
  async rows(sql: string, params: readonly SqlParam[] = []): Promise<Row[]> {
    return this.withConnection((session) => session.rows(sql, params));
  }

  /**
   * One write in autocommit mode. A deadlock or lock wait rolls the statement back whole, so it is run again after
   * a short jittered backoff, like a transaction; when the attempts are used up the call fails with TX_CONFLICT.
   */
  async run(sql: string, params: readonly SqlParam[] = []): Promise<ResultSetHeader> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.withConnection((session) => session.run(sql, params));
      } catch (error) {
        const cause = error instanceof Error && error.cause !== undefined ? error.cause : error;
        if (!isRetryable(cause)) throw error;
        if (attempt >= this.options.maxTxAttempts) {
          throw new TransactionError(
            "TX_CONFLICT",
            `the SQL store kept hitting lock conflicts (${attempt} attempts): ${String(cause)}`,
            { cause },
          );
        }
      }
      const ceiling = Math.min(RETRY_CAP_MS, RETRY_BASE_MS * 2 ** attempt);
      await new Promise((resolve) => setTimeout(resolve, Math.random() * ceiling));
    }
  }

  /** Runs `work` on one pooled connection (outside any transaction). */
  async withConnection<T>(work: (session: SqlSession) => Promise<T>): Promise<T> {
    const connection = await this.acquire();
    let healthy = true;
    try {
      return await work(this.session(connection));
    } catch (error) {
      healthy = !isConnectionError(error);
      throw toStoreError(error);
    } finally {
      if (healthy) connection.release();
      else connection.destroy();
    }
  }

  /**
   * Runs `work` in one transaction and commits it. Deadlocks, lock wait timeouts, write conflicts and lost
   * insert races roll back and run `work` again after a short jittered backoff; when the attempts are used up the
   * call fails with TX_CONFLICT. `work` must therefore keep no state across calls. BMN errors thrown by `work`
   * (a lease that no longer holds) roll back and pass through.
   */
  async transaction<T>(work: (session: SqlSession) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const connection = await this.acquire();
      let healthy = true;
      let committing = false;
      try {
        await this.plain(connection, this.dialect === "tidb" ? this.tidbBegin() : "START TRANSACTION");
        const result = await work(this.session(connection));
        committing = true;
        await this.plain(connection, "COMMIT");
        return result;
      } catch (error) {
        healthy = !isConnectionError(error);
        // A COMMIT without an answer may or may not have been applied: never run again, anywhere.
        if (committing && !healthy) throw markOutcomeUnknown(toStoreError(error));
        if (healthy) healthy = await this.rollback(connection);
        if (!isRetryable(error)) throw toStoreError(error);
        if (attempt >= this.options.maxTxAttempts) {
          throw new TransactionError(
            "TX_CONFLICT",
            `the SQL store kept hitting write conflicts (${attempt} attempts): ${String(error)}`,
            { cause: error },
          );
        }
      } finally {
        if (healthy) connection.release();
        else connection.destroy();
      }
      const ceiling = Math.min(RETRY_CAP_MS, RETRY_BASE_MS * 2 ** attempt);
      await new Promise((resolve) => setTimeout(resolve, Math.random() * ceiling));
    }
  }

  /**
   * Runs `work` on a connection of its own, outside the pool, closed afterwards (for migrations and the lock
   * they hold). `timeoutMs` bounds each statement; DDL on TiDB can take seconds.
   */
  async withDedicatedSession<T>(timeoutMs: number, work: (session: SqlSession) => Promise<T>): Promise<T> {
    let connection: Connection;
    try {
      connection = await createConnection({
        uri: this.url,
        connectTimeout: this.options.commandTimeoutMs,
        supportBigNumbers: true,
        charset: "utf8mb4_bin",
      });
    } catch (error) {
      throw markNotSent(toStoreError(error));
    }
    connection.on("error", () => undefined);
    try {
      await connection.query({ sql: this.sessionSql(), timeout: this.options.commandTimeoutMs });
      return await work(this.session(connection, timeoutMs));
    } catch (error) {
      throw toStoreError(error);
    } finally {
      connection.destroy();
    }
  }

  async close(): Promise<void> {
    await this.pool.end().catch(() => undefined);
  }

  private tidbBegin(): string {
    return this.options.txnMode === "optimistic" ? "BEGIN OPTIMISTIC" : "BEGIN PESSIMISTIC";
  }

  private async acquire(): Promise<PoolConnection> {
    let connection: PoolConnection;
    try {
      connection = await this.pool.getConnection();
    } catch (error) {
      throw markNotSent(toStoreError(error));
    }
    if (this.initialized.has(connection.connection)) return connection;
    try {
      await this.plain(connection, this.sessionSql());
      this.initialized.add(connection.connection);
      return connection;
    } catch (error) {
      // Only the session settings went out, none of the caller's statements.
      connection.destroy();
      throw markNotSent(toStoreError(error));
    }
  }

  /** Session settings of every connection; the values are constants of this file, never input. */
  private sessionSql(): string {
    const common = `time_zone = '+00:00', innodb_lock_wait_timeout = ${lockWaitTimeoutS(this.options.commandTimeoutMs)}`;
    // Statements carry values only as bound parameters, but strip NO_BACKSLASH_ESCAPES anyway so that nothing
    // that formats a literal on the client could ever be misread by the server.
    const sqlMode = "sql_mode = REPLACE(@@sql_mode, 'NO_BACKSLASH_ESCAPES', '')";
    if (this.dialect === "tidb") {
      const mode = this.options.txnMode === "optimistic" ? "optimistic" : "pessimistic";
      return `SET ${common}, ${sqlMode}, tidb_txn_mode = '${mode}'`;
    }
    return `SET ${common}, ${sqlMode}, tx_isolation = 'READ-COMMITTED'`;
  }

  private async rollback(connection: PoolConnection): Promise<boolean> {
    try {
      await this.plain(connection, "ROLLBACK");
      return true;
    } catch {
      return false;
    }
  }

  private async plain(connection: Connection, sql: string): Promise<void> {
    await connection.query({ sql, timeout: this.options.commandTimeoutMs });
  }

  private session(connection: Connection, timeout = this.options.commandTimeoutMs): SqlSession {
    const execute = async (sql: string, params: readonly SqlParam[]): Promise<unknown> => {
      // Statements without values go over the text protocol (some, like DDL, cannot be prepared everywhere);
      // every value goes to the server as a bound parameter of a prepared statement.
      const [result] =
        params.length === 0
          ? await connection.query({ sql, timeout })
          : await connection.execute({ sql, timeout }, params as SqlParam[]);
      return result;
    };
    return {
      rows: async (sql, params = []) => (await execute(sql, params)) as Row[],
      run: async (sql, params = []) => (await execute(sql, params)) as ResultSetHeader,
    };
  }
}

function detectDialect(version: string): SqlDialect {
  const match = /^(\d+)\.(\d+)/.exec(version);
  const major = Number(match?.[1] ?? 0);
  const minor = Number(match?.[2] ?? 0);
  if (/mariadb/i.test(version) && (major > 10 || (major === 10 && minor >= 6))) return "mariadb";
  throw new BmnError(
    "INVALID_ARGUMENT",
    `the SQL store needs TiDB or MariaDB 10.6 or later (sequences and SKIP LOCKED); the server is ${version}`,
    { field: "store.sql.url" },
  );
}

interface ParsedUrl {
  database: string;
}

function parseMysqlUrl(url: string): ParsedUrl {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new BmnError("INVALID_ARGUMENT", "the SQL store URL is not a valid URL", {
      field: "store.sql.url",
    });
  }
  const database = decodeURIComponent(parsed.pathname.replace(/^\//, ""));
  if (parsed.protocol !== "mysql:" || !/^[A-Za-z0-9_$]{1,64}$/.test(database)) {
    throw new BmnError(
      "INVALID_ARGUMENT",
      "the SQL store URL must look like mysql://user:password@host:port/database (database: letters, digits, _ or $)",
      { field: "store.sql.url" },
    );
  }
  return { database };
}

/** ER_SP_DOES_NOT_EXIST: a function the server does not have. */
const UNKNOWN_FUNCTION = 1305;
/** ER_BAD_DB_ERROR: the database in the URL does not exist yet. */
const UNKNOWN_DATABASE = 1049;

async function connectCreatingDatabase(
  url: string,
  database: string,
  timeoutMs: number,
): Promise<Connection> {
  const options = { connectTimeout: timeoutMs, supportBigNumbers: true, charset: "utf8mb4_bin" };
  try {
    const connection = await createConnection({ uri: url, ...options });
    connection.on("error", () => undefined);
    return connection;
  } catch (error) {
    if (errnoOf(error) !== UNKNOWN_DATABASE) throw toStoreError(error);
  }
  const withoutDatabase = new URL(url);
  withoutDatabase.pathname = "/";
  try {
    const admin = await createConnection({ uri: withoutDatabase.toString(), ...options });
    admin.on("error", () => undefined);
    try {
      // The name matched a strict pattern in parseMysqlUrl; identifiers cannot be bound parameters.
      await admin.query({
        sql: `CREATE DATABASE IF NOT EXISTS \`${database}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`,
        timeout: timeoutMs,
      });
    } finally {
      admin.destroy();
    }
    const connection = await createConnection({ uri: url, ...options });
    connection.on("error", () => undefined);
    return connection;
  } catch (error) {
    throw toStoreError(error);
  }
}
