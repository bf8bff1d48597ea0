import { fileURLToPath } from "node:url";
import { GroupChild } from "./process-group.js";

/** cli/bin/bmn.js, run through the tsx loader as a user runs it. */
export const BMN = fileURLToPath(new URL("../../cli/bin/bmn.js", import.meta.url));
const HOST = "127.0.0.1";
const READY_TIMEOUT_MS = 30_000;
const POLL_INTERVAL_MS = 50;
const MAX_CAPTURED_CHARS = 20_000;

/** Raised when a process exits because its port was taken (freePort() is racy); the caller picks another. */
export class PortInUseError extends Error {}

export interface BmnProcessOptions {
  /** For messages and profiles, e.g. "sidecar a". */
  label: string;
  port: number;
  /** Arguments after the entry script, given the current port, e.g. `["start", "--port", "1234"]`. */
  args: (port: number) => readonly string[];
  /** Merged over this process's environment and BMN_LOG_LEVEL=warn; a function is given the current port. */
  env?: Record<string, string> | ((port: number) => Record<string, string>);
  /** Answers 200 once the process is ready, e.g. "/readyz" or "/healthz". */
  readyPath: string;
  /** If given, it must also have been printed since this start before readyPath counts. */
  readyLine?: RegExp;
  /** The node script to run (default cli/bin/bmn.js), e.g. a compiled bmn.js or a bench server. */
  entry?: string;
  /** Flags for node before the script, e.g. `--cpu-prof` or `["--import", "tsx"]`. */
  nodeFlags?: readonly string[];
}

/**
 * A `bmn <command>` (or another node server) in a process group of its own, which a test can SIGKILL, SIGSTOP and
 * start again on the same port. Ready when `readyPath` answers 200 (and, if given, `readyLine` was printed since
 * this start).
 */
export class BmnProcess {
  readonly label: string;
  private child: GroupChild | undefined;
  private portNumber: number;
  /** Line counters of watch(), fed with whole lines of every run's output. */
  private readonly watchers = new Set<{ pattern: RegExp; count: number }>();

  constructor(private readonly options: BmnProcessOptions) {
    this.label = options.label;
    this.portNumber = options.port;
  }

  /** Creates and starts one, e.g. `await BmnProcess.start({ label, port: await freePort(), ... })`. */
  static async start(options: BmnProcessOptions): Promise<BmnProcess> {
    const started = new BmnProcess(options);
    await started.start();
    return started;
  }

  get port(): number {
    return this.portNumber;
  }

  get url(): string {
    return `http://${HOST}:${this.portNumber}`;
  }

  /** The pid while running. */
  get pid(): number | undefined {
    return this.alive ? this.child?.pid : undefined;
  }

  get alive(): boolean {
    return this.child?.alive === true;
  }

  /** stdout and stderr of the current (or last) run, for diagnosis. */
  get output(): string {
    return this.child?.output() ?? "";
  }

  /**
   * Counts the output lines (stdout and stderr, this run and later ones) that match `pattern` from now on, e.g. a
   * gateway's "forward failed" warnings; call the answer for the count so far and `.stop()` when done.
   */
  watch(pattern: RegExp): { (): number; stop: () => void } {
    const watcher = { pattern, count: 0 };
    this.watchers.add(watcher);
    const stop = (): void => {
      this.watchers.delete(watcher);
    };
    return Object.assign(() => watcher.count, { stop });
  }

  /** Starts the process (a no-op while it runs) and waits until it is ready. */
  async start(): Promise<void> {
    if (this.alive) return;
    const { options } = this;
    const child = GroupChild.spawn({
      label: this.label,
      command: process.execPath,
      args: [...(options.nodeFlags ?? []), options.entry ?? BMN, ...options.args(this.portNumber)],
      env: {
        ...process.env,
        BMN_LOG_LEVEL: "warn",
        ...(typeof options.env === "function" ? options.env(this.portNumber) : options.env),
      },
      maxCapturedChars: MAX_CAPTURED_CHARS,
      onLine: (line) => {
        for (const watcher of this.watchers) if (watcher.pattern.test(line)) watcher.count++;
      },
    });
    this.child = child;
    await this.untilReady(child);
  }

  /** Moves to another port (only while stopped); used when the planned port was taken. */
  setPort(port: number): void {
    if (this.alive) throw new Error(`${this.label} is running; stop it before moving it`);
    this.portNumber = port;
  }

  /** SIGKILL: no drain, no cleanup, exactly like a crash; waits for the exit. */
  async kill(): Promise<void> {
    await this.child?.kill();
  }

  /** SIGTERM (graceful drain), SIGKILL after 10 s; waits for the exit; idempotent. */
  async stop(): Promise<void> {
    await this.child?.stop();
  }

  /** SIGSTOP: the process keeps its port but answers nothing until resume(). */
  pause(): void {
    this.child?.pause();
  }

  resume(): void {
    this.child?.resume();
  }

  /** kill() or stop(), then start() on the same port. */
  async restart(how: "kill" | "stop" = "stop"): Promise<void> {
    await (how === "kill" ? this.kill() : this.stop());
    await this.start();
  }

  private async untilReady(child: GroupChild): Promise<void> {
    const deadline = Date.now() + READY_TIMEOUT_MS;
    for (;;) {
      if (!child.alive) {
        const message = `${this.label} exited (${child.describeExit()}) before it was ready:\n${child.output()}`;
        throw child.output().includes("EADDRINUSE") ? new PortInUseError(message) : new Error(message);
      }
      const { readyLine } = this.options;
      if (readyLine === undefined || readyLine.test(child.output())) {
        try {
          const response = await fetch(`${this.url}${this.options.readyPath}`, {
            signal: AbortSignal.timeout(2_000),
          });
          await response.text();
          if (response.status === 200 && child.isAlive()) return;
        } catch {
          // Not listening yet, or the store is not answering yet.
        }
      }
      if (Date.now() > deadline) {
        await child.kill();
        throw new Error(`${this.label} not ready within ${READY_TIMEOUT_MS} ms:\n${child.output()}`);
      }
      await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS));
    }
  }
}
