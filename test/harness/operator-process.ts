import type { ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { GroupChild } from "./process-group.js";

const BMN = fileURLToPath(new URL("../../cli/bin/bmn.js", import.meta.url));
const MAX_LOG_LINES = 5_000;
const POLL_MS = 50;

/** One pino JSON line of the operator's stdout. */
export interface LogLine {
  msg?: string;
  [key: string]: unknown;
}

/** A `bmn operator` child process, with its JSON log lines parsed as they arrive. */
export interface OperatorProcess {
  readonly child: ChildProcess;
  readonly identity: string;
  /** Resolves with the exit code (or 128 + signal number style null) once the process has exited. */
  readonly exited: Promise<number | null>;
  logs(): readonly LogLine[];
  /** Raw stdout and stderr, for failure messages. */
  output(): string;
  /** Resolves with the first log line whose msg is `msg`; rejects on deadline or exit. */
  waitForLog(msg: string, timeoutMs?: number): Promise<LogLine>;
  /** The port of /healthz /readyz /metrics (from the "operator server listening" line). */
  port(timeoutMs?: number): Promise<number>;
  kill(signal: NodeJS.Signals): void;
}

/** Spawns `bmn operator <args> --identity <identity>` (through cli/bin/bmn.js, as the image runs it). */
export function spawnOperator(identity: string, args: readonly string[]): OperatorProcess {
  const lines: LogLine[] = [];
  const group = GroupChild.spawn({
    label: `operator ${identity}`,
    command: process.execPath,
    args: [BMN, "operator", "--identity", identity, ...args],
    // Only what the process needs: no KUBECONFIG or proxies from the developer's shell.
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? "/tmp" },
    maxCapturedChars: 256 * 1024,
    onLine: (line) => {
      if (line.trim() === "") return;
      try {
        lines.push(JSON.parse(line) as LogLine);
      } catch {
        lines.push({ msg: line });
      }
      if (lines.length > MAX_LOG_LINES) lines.shift();
    },
  });
  const output = (): string => group.output();
  const state = {
    get exited() {
      return !group.alive;
    },
  };
  const exited = group.exited.then((status) => status.code);

  const waitForLog = async (msg: string, timeoutMs = 30_000): Promise<LogLine> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const line = lines.find((candidate) => candidate.msg === msg);
      if (line !== undefined) return line;
      if (state.exited) throw new Error(`operator ${identity} exited before logging "${msg}":\n${output()}`);
      if (Date.now() > deadline)
        throw new Error(`operator ${identity} did not log "${msg}" within ${timeoutMs} ms:\n${output()}`);
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  };

  return {
    child: group.child,
    identity,
    exited,
    logs: () => lines,
    output,
    waitForLog,
    async port(timeoutMs) {
      const line = await waitForLog("operator server listening", timeoutMs);
      return line.port as number;
    },
    kill(signal) {
      group.signal(signal);
    },
  };
}
