import { spawn, type ChildProcess } from "node:child_process";
import { onProcessExit } from "./exit-hooks.js";

/**
 * The one way the test kit starts a child process (used by test/, e2e/ and bench/). Each child runs detached in a
 * process group of its own, and every signal goes to the whole group, so whatever the child forks (a shell, a
 * node loader, a helper) ends with it. A group still running when this process ends (normal exit, a fatal
 * signal, a crashed test) is SIGKILLed; tests end theirs in teardown with stop(), or all at once with
 * stopAllChildren().
 */

const DEFAULT_STOP_TIMEOUT_MS = 10_000;
const DEFAULT_MAX_CAPTURED_CHARS = 64 * 1024;

/** Every child group this process started and has not yet seen exit. */
const running = new Set<GroupChild>();

onProcessExit(() => {
  for (const child of running) child.signal("SIGKILL");
});

export interface GroupChildOptions {
  /** For messages, e.g. "redis-server" or "sidecar a". */
  label: string;
  command: string;
  args: readonly string[];
  /** The child's whole environment (default: this process's). */
  env?: NodeJS.ProcessEnv;
  /** "pipe" (default) captures stdout and stderr; "ignore" discards them; "stdin" also opens a stdin pipe. */
  stdio?: "pipe" | "ignore" | "stdin";
  /** How much of the output to keep for diagnosis (default 64 KiB). */
  maxCapturedChars?: number;
  /** Called with every whole line of stdout or stderr (never a mix of the two). */
  onLine?: (line: string) => void;
  /** How long stop() waits after SIGTERM before it sends SIGKILL (default 10 s). */
  stopTimeoutMs?: number;
}

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Set when the process could not be spawned at all (e.g. ENOENT). */
  error?: Error;
}

/** A child process in a group of its own; see the module comment. */
export class GroupChild {
  readonly label: string;
  readonly child: ChildProcess;
  /** Resolves once the process has exited (or failed to spawn); never rejects. */
  readonly exited: Promise<ExitStatus>;
  private captured = "";
  private exitStatus: ExitStatus | undefined;
  private sentTerm = false;
  private readonly stopTimeoutMs: number;

  private constructor(options: GroupChildOptions) {
    this.label = options.label;
    this.stopTimeoutMs = options.stopTimeoutMs ?? DEFAULT_STOP_TIMEOUT_MS;
    const stdio = options.stdio ?? "pipe";
    this.child = spawn(options.command, options.args, {
      detached: true,
      env: options.env ?? process.env,
      stdio: stdio === "ignore" ? "ignore" : [stdio === "stdin" ? "pipe" : "ignore", "pipe", "pipe"],
    });
    running.add(this);
    const maxChars = options.maxCapturedChars ?? DEFAULT_MAX_CAPTURED_CHARS;
    // One collector per stream: a line may arrive in pieces, and the two streams' pieces must not mix.
    const collector = (): ((chunk: Buffer) => void) => {
      let partialLine = "";
      return (chunk) => {
        const text = chunk.toString("utf8");
        this.captured = (this.captured + text).slice(-maxChars);
        if (options.onLine === undefined) return;
        const lines = (partialLine + text).split("\n");
        partialLine = lines.pop() ?? "";
        for (const line of lines) options.onLine(line);
      };
    };
    this.child.stdout?.on("data", collector());
    this.child.stderr?.on("data", collector());
    this.exited = new Promise((resolve) => {
      const done = (status: ExitStatus): void => {
        if (this.exitStatus !== undefined) return;
        this.exitStatus = status;
        running.delete(this);
        resolve(status);
      };
      this.child.once("exit", (code, signal) => {
        done({ code, signal });
      });
      // Without this a spawn failure (e.g. ENOENT) would be an unhandled 'error' event.
      this.child.once("error", (error) => {
        this.captured += `\nspawn failed: ${error.message}\n`;
        done({ code: null, signal: null, error });
      });
    });
  }

  /** Spawns the child in a process group of its own. */
  static spawn(options: GroupChildOptions): GroupChild {
    return new GroupChild(options);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** False once the process has exited, for whatever reason. */
  get alive(): boolean {
    return this.exitStatus === undefined;
  }

  /** The same as alive, as a call: the answer may change across an await, which a property read hides from TS. */
  isAlive(): boolean {
    return this.alive;
  }

  /** How it exited, once it has. */
  get status(): ExitStatus | undefined {
    return this.exitStatus;
  }

  /** The last stdout and stderr, for diagnosis. */
  output(): string {
    return this.captured;
  }

  /** "code 1" / "signal SIGKILL", for messages. */
  describeExit(): string {
    const status = this.exitStatus;
    if (status === undefined) return "running";
    if (status.error !== undefined) return `spawn failed: ${status.error.message}`;
    return status.signal === null ? `code ${String(status.code)}` : `signal ${status.signal}`;
  }

  /** Sends `signal` to the whole group (if still running); does not wait. */
  signal(signal: NodeJS.Signals): void {
    const pid = this.child.pid;
    if (!this.alive || pid === undefined) return;
    try {
      process.kill(-pid, signal);
    } catch {
      // The group is already gone: only its leader's exit event is still on its way.
    }
  }

  /** SIGKILL to the group (a crash: no drain, no cleanup); waits for the exit. */
  async kill(): Promise<void> {
    this.signal("SIGKILL");
    await this.exited;
  }

  /**
   * SIGTERM to the group (a graceful stop), SIGKILL after the stop timeout; waits for the exit; idempotent. A
   * second SIGTERM is not sent (redis, for one, aborts its graceful shutdown on it), concurrent stops just wait.
   */
  async stop(): Promise<void> {
    if (!this.alive) return;
    // A stopped (SIGSTOPped) group would never act on SIGTERM.
    this.signal("SIGCONT");
    if (!this.sentTerm) this.signal("SIGTERM");
    this.sentTerm = true;
    const timer = setTimeout(() => {
      this.signal("SIGKILL");
    }, this.stopTimeoutMs);
    await this.exited;
    clearTimeout(timer);
  }

  /** SIGSTOP to the group: it stays alive, holds its sockets and answers nothing until resume(). */
  pause(): void {
    this.signal("SIGSTOP");
  }

  /** SIGCONT to the group. */
  resume(): void {
    this.signal("SIGCONT");
  }
}

/** Stops every child group this process still runs (for a test's teardown): SIGTERM, then SIGKILL. */
export async function stopAllChildren(): Promise<void> {
  await Promise.all([...running].map((child) => child.stop()));
}
