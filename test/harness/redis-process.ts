import { spawn, type ChildProcess } from "node:child_process";
import { onProcessExit } from "./exit-hooks.js";
import { captureOutput } from "./captured-output.js";

const READY_LINE = "Ready to accept connections";
const READY_TIMEOUT_MS = 15_000;
const STOP_TIMEOUT_MS = 10_000;
const MAX_CAPTURED_CHARS = 64 * 1024;

/** Every redis-server this process started and has not yet seen exit. */
const running = new Set<ChildProcess>();

// A crashed or aborted test run must not leave redis-server orphans behind.
onProcessExit(() => {
  for (const child of running) child.kill("SIGKILL");
});

export interface RedisProcess {
  readonly pid: number;
  /** False once the process has exited, for whatever reason. */
  readonly alive: boolean;
  /** Sends the signal (if still running) and waits for the process to exit. */
  signal(signal: "SIGTERM" | "SIGKILL"): Promise<void>;
}

/** Raised when redis-server exits or stays silent before it is ready; carries the log for diagnosis. */
export class RedisStartError extends Error {
  constructor(
    message: string,
    readonly output: string,
  ) {
    super(`${message}\n--- redis-server output ---\n${output}`);
    this.name = "RedisStartError";
  }
}

/** Spawns redis-server with the given arguments and resolves once it accepts connections. */
export async function spawnRedis(args: readonly string[]): Promise<RedisProcess> {
  const child = spawn("redis-server", args, { stdio: ["ignore", "pipe", "pipe"] });
  running.add(child);
  // Without this a spawn failure (e.g. ENOENT) would be an unhandled 'error' event.
  child.once("error", () => running.delete(child));

  let onOutput = (): void => undefined;
  const output = captureOutput(child, MAX_CAPTURED_CHARS, () => {
    onOutput();
  });

  const exited = new Promise<void>((resolve) => {
    child.once("exit", () => {
      running.delete(child);
      resolve();
    });
  });

  await new Promise<void>((resolve, reject) => {
    const fail = (message: string): void => {
      cleanup();
      child.kill("SIGKILL");
      reject(new RedisStartError(message, output()));
    };
    const onExit = (code: number | null, signal: NodeJS.Signals | null): void => {
      fail(`redis-server exited before it was ready (code ${String(code)}, signal ${String(signal)})`);
    };
    const onError = (error: Error): void => {
      fail(`could not spawn redis-server: ${error.message}`);
    };
    const timer = setTimeout(() => {
      fail(`redis-server was not ready within ${READY_TIMEOUT_MS} ms`);
    }, READY_TIMEOUT_MS);
    const cleanup = (): void => {
      clearTimeout(timer);
      onOutput = (): void => undefined;
      child.off("exit", onExit);
      child.off("error", onError);
    };
    onOutput = (): void => {
      if (output().includes(READY_LINE)) {
        cleanup();
        resolve();
      }
    };
    child.once("exit", onExit);
    child.once("error", onError);
  });

  const pid = child.pid;
  if (pid === undefined) throw new RedisStartError("redis-server has no pid", output());

  let sentTerm = false;
  return {
    pid,
    get alive() {
      return running.has(child);
    },
    async signal(signal) {
      if (!running.has(child)) return;
      // A second SIGTERM makes redis abort its graceful shutdown, so concurrent stops just wait.
      if (signal === "SIGKILL" || !sentTerm) child.kill(signal);
      sentTerm ||= signal === "SIGTERM";
      // A SIGTERM shutdown can stall (e.g. a slow final save); don't let a test hang on it.
      const timer = setTimeout(() => child.kill("SIGKILL"), STOP_TIMEOUT_MS);
      await exited;
      clearTimeout(timer);
    },
  };
}
