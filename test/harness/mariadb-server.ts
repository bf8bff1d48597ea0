import { rmSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createConnection } from "mysql2/promise";
import { onProcessExit } from "./exit-hooks.js";
import { freePort } from "./free-port.js";
import { installDataDir, MariaDbStartError, spawnMariaDb } from "./mariadb-process.js";
import type { GroupChild } from "./process-group.js";
import { ChildProcessServer, type ServerHandle } from "./server-handle.js";

const HOST = "127.0.0.1";
// freePort() is racy (another test worker may grab the port first), so a lost race gets a fresh port.
const MAX_PORT_ATTEMPTS = 5;
/** The database the harness creates; stores isolate themselves further with table prefixes. */
const DATABASE = "bmn";

/** Temp dirs not yet removed by cleanup(). */
const tempDirs = new Set<string>();

// Registered after mariadb-process.ts's hook (import order), so the servers are already SIGKILLed here.
onProcessExit(() => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
});

export interface MariaDbServerOptions {
  /**
   * Durable settings as in production: the redo log is flushed at every commit
   * (`innodb_flush_log_at_trx_commit=1`) and doublewrite stays on. Default true; false flushes about once a
   * second, which is faster but may lose the last second on a crash of the server.
   */
  durable?: boolean;
}

export interface MariaDbServerHandle extends ServerHandle {
  /** The database the url names (created at start). */
  readonly database: string;
}

/**
 * Starts a private mariadbd (not the Debian service, whose config it never reads: --no-defaults) on a free
 * loopback port, with its own data dir and socket under a fresh temp dir, and creates the database `bmn`.
 * Tests run as root, hence --user=root.
 */
export async function startMariaDb(options: MariaDbServerOptions = {}): Promise<MariaDbServerHandle> {
  const dir = await mkdtemp(join(tmpdir(), "bmn-mariadb-"));
  tempDirs.add(dir);
  try {
    const dataDir = join(dir, "data");
    installDataDir(dataDir);
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      const args = serverArgs(dir, dataDir, port, options.durable ?? true);
      try {
        const child = await spawnMariaDb(args, port, dataDir);
        const server = new MariaDbServer(dir, dataDir, port, args, child);
        await server.createDatabase();
        return server;
      } catch (error) {
        const portTaken =
          error instanceof MariaDbStartError &&
          /Address already in use|Bind on TCP\/IP port/i.test(error.output);
        if (!portTaken || attempt >= MAX_PORT_ATTEMPTS) throw error;
      }
    }
  } catch (error) {
    await removeDir(dir);
    throw error;
  }
}

async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true, maxRetries: 3 });
  tempDirs.delete(dir);
}

function serverArgs(dir: string, dataDir: string, port: number, durable: boolean): string[] {
  return [
    // Must come first: ignore /etc/mysql and ~/.my.cnf entirely.
    "--no-defaults",
    `--datadir=${dataDir}`,
    `--port=${port}`,
    `--bind-address=${HOST}`,
    `--socket=${join(dir, "mysqld.sock")}`,
    `--pid-file=${join(dir, "mysqld.pid")}`,
    `--tmpdir=${dir}`,
    "--user=root",
    "--skip-name-resolve",
    "--skip-log-bin",
    "--performance-schema=OFF",
    "--max-connections=1000",
    "--innodb-buffer-pool-size=128M",
    "--innodb-log-file-size=64M",
    `--innodb-flush-log-at-trx-commit=${durable ? 1 : 2}`,
    `--innodb-doublewrite=${durable ? 1 : 0}`,
  ];
}

class MariaDbServer extends ChildProcessServer implements MariaDbServerHandle {
  readonly database = DATABASE;

  constructor(
    private readonly dir: string,
    dataDir: string,
    port: number,
    private readonly args: readonly string[],
    child: GroupChild,
  ) {
    super(port, dataDir, `mysql://root@${HOST}:${port}/${DATABASE}`, child);
  }

  async createDatabase(): Promise<void> {
    const connection = await createConnection({ host: HOST, port: this.port, user: "root" });
    connection.on("error", () => undefined);
    try {
      await connection.query(
        `CREATE DATABASE IF NOT EXISTS \`${DATABASE}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`,
      );
    } finally {
      connection.destroy();
    }
  }

  protected spawnAgain(): Promise<GroupChild> {
    return spawnMariaDb(this.args, this.port, this.dataDir);
  }

  protected removeFiles(): Promise<void> {
    return removeDir(this.dir);
  }
}
