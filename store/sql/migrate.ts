import { BmnError, StoreUnavailableError } from "../../core/errors.js";
import { MIGRATIONS, type Migration, type MigrationContext } from "./migrations/index.js";
import { NOW_MS, type SqlRunner, type SqlSession } from "./sql-client.js";
import { MIGRATIONS_TABLE, type SqlTables } from "./sql-tables.js";

/** The schema version this code writes and reads. */
export const SCHEMA_VERSION = MIGRATIONS.at(-1)?.version ?? 0;

/** How long a store waits for another process that is migrating the same tables. */
const LOCK_WAIT_S = 60;
/** DDL on TiDB is asynchronous and can take seconds per statement. */
const DDL_TIMEOUT_MS = 120_000;

/** The database holds a schema written by a newer BMN than this one; running against it could corrupt it. */
export class SchemaVersionError extends BmnError {
  constructor(
    readonly prefix: string,
    readonly databaseVersion: number,
    readonly codeVersion: number,
  ) {
    super(
      "INTERNAL",
      `the SQL schema for table prefix ${prefix} is at version ${databaseVersion}, newer than this BMN knows ` +
        `(${codeVersion}); upgrade BMN, or use another database or tablePrefix`,
    );
  }
}

export interface MigrationReport {
  /** Versions this call applied (empty when the schema was already current). */
  applied: number[];
  version: number;
}

/**
 * Brings the tables of `tables.prefix` up to the newest migration, forward only. Runs under the advisory lock
 * `GET_LOCK('bmn_migrate:<prefix>')` (MariaDB and TiDB both have it), so concurrent sidecars starting together
 * migrate once; the others wait and then find nothing to do. Refuses a schema newer than the code.
 */
export async function migrate(
  client: SqlRunner,
  tables: SqlTables,
  migrations: readonly Migration[] = MIGRATIONS,
): Promise<MigrationReport> {
  checkSequence(migrations);
  const latest = migrations.at(-1)?.version ?? 0;
  return client.withDedicatedSession(DDL_TIMEOUT_MS, async (session) => {
    await session.run(
      `CREATE TABLE IF NOT EXISTS ${MIGRATIONS_TABLE} (
        table_prefix VARCHAR(64) NOT NULL,
        version INT NOT NULL,
        name VARCHAR(128) NOT NULL,
        applied_at BIGINT NOT NULL,
        PRIMARY KEY (table_prefix, version)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
    );
    const lockName = `bmn_migrate:${tables.prefix}`;
    const [lock] = await session.rows("SELECT GET_LOCK(?, ?) AS got", [lockName, LOCK_WAIT_S]);
    if (Number(lock?.got) !== 1) {
      throw new StoreUnavailableError(
        `another process has held the migration lock ${lockName} for over ${LOCK_WAIT_S} s`,
      );
    }
    try {
      return await applyPending(session, { dialect: client.dialect, tables }, migrations, latest);
    } finally {
      await session.rows("SELECT RELEASE_LOCK(?) AS released", [lockName]).catch(() => undefined);
    }
  });
}

async function applyPending(
  session: SqlSession,
  context: MigrationContext,
  migrations: readonly Migration[],
  latest: number,
): Promise<MigrationReport> {
  const { tables } = context;
  const rows = await session.rows(`SELECT version FROM ${MIGRATIONS_TABLE} WHERE table_prefix = ?`, [
    tables.prefix,
  ]);
  const done = new Set(rows.map((row) => Number(row.version)));
  const newest = Math.max(0, ...done);
  if (newest > latest) throw new SchemaVersionError(tables.prefix, newest, latest);
  const applied: number[] = [];
  for (const migration of migrations) {
    if (done.has(migration.version)) continue;
    for (const statement of migration.statements(context)) {
      await session.run(statement);
    }
    await session.run(
      `INSERT INTO ${MIGRATIONS_TABLE} (table_prefix, version, name, applied_at) VALUES (?, ?, ?, ${NOW_MS})`,
      [tables.prefix, migration.version, migration.name],
    );
    applied.push(migration.version);
  }
  return { applied, version: latest };
}

function checkSequence(migrations: readonly Migration[]): void {
  migrations.forEach((migration, index) => {
    if (migration.version !== index + 1) {
      throw new BmnError(
        "INTERNAL",
        `migration ${migration.name} has version ${migration.version}, not ${index + 1}`,
      );
    }
  });
}
