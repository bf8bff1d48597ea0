import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { createConnection } from "mysql2/promise";
import { GroupChild } from "./process-group.js";

const READY_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 20_000;
/** Paces the readiness poll; the condition waited for is a successful `SELECT 1`. */
const POLL_PAUSE_MS = 50;

/** Raised when mariadbd exits or does not answer before it is ready; carries its log for diagnosis. */
export class MariaDbStartError extends Error {
  constructor(
    message: string,
    readonly output: string,
  ) {
    super(`${message}\n--- mariadbd output ---\n${output}`);
    this.name = "MariaDbStartError";
  }
}

function findExecutable(candidates: readonly string[], what: string): string {
  for (const candidate of candidates) {
    if (candidate.includes("/")) {
      if (existsSync(candidate)) return candidate;
      continue;
    }
    const found = spawnSync("sh", ["-c", `command -v ${candidate}`], { encoding: "utf8" });
    const path = found.stdout.trim();
    if (found.status === 0 && path !== "") return path;
  }
  throw new Error(`${what} not found (tried ${candidates.join(", ")}); install the mariadb-server package`);
}

/** The server binary: Debian's mariadb-server installs /usr/sbin/mariadbd (and a mysqld link). */
export function mariadbdPath(): string {
  return findExecutable(["/usr/sbin/mariadbd", "/usr/sbin/mysqld", "mariadbd", "mysqld"], "mariadbd");
}

/** Creates the system tables in an empty data dir, with root@127.0.0.1 and no password. */
export function installDataDir(dataDir: string): void {
  const installer = findExecutable(
    ["mariadb-install-db", "mysql_install_db", "/usr/bin/mariadb-install-db", "/usr/bin/mysql_install_db"],
    "mariadb-install-db",
  );
  const result = spawnSync(
    installer,
    [
      "--no-defaults",
      `--datadir=${dataDir}`,
      "--auth-root-authentication-method=normal",
      "--user=root",
      "--skip-test-db",
    ],
    { encoding: "utf8", timeout: READY_TIMEOUT_MS },
  );
  if (result.status !== 0) {
    throw new MariaDbStartError(
      `${installer} failed with status ${String(result.status)}`,
      `${result.stdout}\n${result.stderr}`,
    );
  }
}

/**
 * Spawns mariadbd and resolves once it answers over TCP as root. The answer must come from this server (its
 * data dir), not from some other process that already listened on the port.
 */
export async function spawnMariaDb(
  args: readonly string[],
  port: number,
  dataDir: string,
): Promise<GroupChild> {
  const child = GroupChild.spawn({
    label: "mariadbd",
    command: mariadbdPath(),
    args,
    stopTimeoutMs: STOP_TIMEOUT_MS,
  });

  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (!child.alive) {
      throw new MariaDbStartError(
        `mariadbd exited before it was ready (${child.describeExit()})`,
        child.output(),
      );
    }
    if (await answers(port, dataDir)) break;
    if (Date.now() > deadline) {
      await child.kill();
      throw new MariaDbStartError(`mariadbd was not ready within ${READY_TIMEOUT_MS} ms`, child.output());
    }
    await Promise.race([child.exited, new Promise((resolve) => setTimeout(resolve, POLL_PAUSE_MS))]);
  }

  return child;
}

/** True when our server (serving `dataDir`) accepts a root login on the loopback port and runs a statement. */
async function answers(port: number, dataDir: string): Promise<boolean> {
  try {
    const connection = await createConnection({
      host: "127.0.0.1",
      port,
      user: "root",
      connectTimeout: 1_000,
    });
    connection.on("error", () => undefined);
    try {
      const [rows] = await connection.query("SELECT @@datadir AS datadir");
      const datadir = (rows as { datadir?: unknown }[])[0]?.datadir;
      const served = typeof datadir === "string" ? datadir : "";
      return served.replace(/\/+$/, "") === dataDir.replace(/\/+$/, "");
    } finally {
      connection.destroy();
    }
  } catch {
    return false;
  }
}
