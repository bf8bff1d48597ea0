import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { createConnection } from "mysql2/promise";
import { onProcessExit } from "./exit-hooks.js";
import { captureOutput } from "./captured-output.js";

const READY_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 20_000;
const MAX_CAPTURED_CHARS = 64 * 1024;
/** Paces the readiness poll; the condition waited for is a successful `SELECT 1`. */
const POLL_PAUSE_MS = 50;

/** Every mariadbd this process started and has not yet seen exit. */
const running = new Set<ChildProcess>();

// A crashed or aborted test run must not leave mariadbd orphans behind.
onProcessExit(() => {
  for (const child of running) child.kill("SIGKILL");
});

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

export interface MariaDbProcess {
  readonly pid: number;
  /** False once the process has exited, for whatever reason. */
  readonly alive: boolean;
  /** Sends the signal (if still running) and waits for the process to exit. */
  signal(signal: "SIGTERM" | "SIGKILL"): Promise<void>;
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
): Promise<MariaDbProcess> {
  const child = spawn(mariadbdPath(), args, { stdio: ["ignore", "pipe", "pipe"] });
  running.add(child);
  // Without this a spawn failure (e.g. ENOENT) would be an unhandled 'error' event.
  child.once("error", () => running.delete(child));

  const output = captureOutput(child, MAX_CAPTURED_CHARS);

  let exitStatus: string | undefined;
  const exited = new Promise<void>((resolve) => {
    child.once("exit", (code, signal) => {
      running.delete(child);
      exitStatus = `code ${String(code)}, signal ${String(signal)}`;
      resolve();
    });
  });

  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (exitStatus !== undefined) {
      throw new MariaDbStartError(`mariadbd exited before it was ready (${exitStatus})`, output());
    }
    if (await answers(port, dataDir)) break;
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new MariaDbStartError(`mariadbd was not ready within ${READY_TIMEOUT_MS} ms`, output());
    }
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, POLL_PAUSE_MS))]);
  }

  const pid = child.pid;
  if (pid === undefined) throw new MariaDbStartError("mariadbd has no pid", output());
  return {
    pid,
    get alive() {
      return running.has(child);
    },
    async signal(signal) {
      if (!running.has(child)) return;
      child.kill(signal);
      // A SIGTERM shutdown can stall; don't let a test hang on it.
      const timer = setTimeout(() => child.kill("SIGKILL"), STOP_TIMEOUT_MS);
      await exited;
      clearTimeout(timer);
    },
  };
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
