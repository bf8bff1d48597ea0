import type { Command } from "commander";
import { BmnClient, type HttpEvent } from "../client/index.js";
import { resolveSettings, type GlobalFlags, type Settings } from "./config.js";

/** Everything a command touches outside itself, so tests can run the CLI in-process. */
export interface Io {
  out(text: string): void;
  err(text: string): void;
  /** All of standard input, as text. */
  readStdin(): Promise<string>;
  env: NodeJS.ProcessEnv;
  /** Calls `handler` on SIGINT or SIGTERM until the returned function is called. */
  onInterrupt(handler: () => void): () => void;
}

/** What a command's action works with: settings from flags > env > config file > defaults, and a client. */
export interface Context {
  readonly settings: Settings;
  readonly client: BmnClient;
  readonly io: Io;
  /** One line on stdout. */
  out(line: string): void;
  /** One `bmn: warning: ...` line on stderr. */
  warn(line: string): void;
}

/**
 * Handed to every `register*` function in cli/commands/. `context(command)` resolves the global flags
 * (`--url`, `--config`, `--agent`, `--verbose`) as seen from that command.
 */
export interface CommandEnv {
  readonly io: Io;
  context(command: Command): Context;
  /** The settings of the last context made, for error messages (which URL could not be reached). */
  readonly lastSettings: Settings | undefined;
}

export function createCommandEnv(io: Io): CommandEnv {
  let lastSettings: Settings | undefined;
  return {
    io,
    get lastSettings() {
      return lastSettings;
    },
    context(command: Command): Context {
      const flags = command.optsWithGlobals<GlobalFlags>();
      const settings = resolveSettings(flags, io.env);
      lastSettings = settings;
      const onHttp = settings.verbose
        ? (event: HttpEvent) => {
            io.err(`${httpLine(event)}\n`);
          }
        : undefined;
      const client = new BmnClient({ url: settings.url, agent: settings.agent, onHttp });
      return {
        settings,
        client,
        io,
        out: (line) => {
          io.out(`${line}\n`);
        },
        warn: (line) => {
          io.err(`bmn: warning: ${line}\n`);
        },
      };
    },
  };
}

/** `--verbose` lines: `bmn: > POST http://... (123 bytes)` and `bmn: < 202 POST http://... 3 ms`. */
export function httpLine(event: HttpEvent): string {
  if (event.durationMs === undefined) {
    return `bmn: > ${event.method} ${event.url}${event.requestBytes === undefined ? "" : ` (${event.requestBytes} bytes)`}`;
  }
  if (event.status === undefined) {
    return `bmn: < ${event.method} ${event.url} failed after ${event.durationMs} ms: ${event.error ?? "no answer"}`;
  }
  return `bmn: < ${event.status} ${event.method} ${event.url} ${event.durationMs} ms`;
}
