import type { SqlDialect } from "../sql-client.js";
import type { SqlTables } from "../sql-tables.js";

/**
 * One forward-only schema step. Versions are consecutive from 1 and never change once released; a change to the
 * schema is a new file with the next number. Statements are DDL, which MariaDB and TiDB commit one by one, so each
 * must be safe to run again (IF NOT EXISTS) in case a process died half way through a migration.
 */
export interface Migration {
  readonly version: number;
  readonly name: string;
  statements(context: MigrationContext): string[];
}

export interface MigrationContext {
  dialect: SqlDialect;
  tables: SqlTables;
}
