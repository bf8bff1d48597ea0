import type { Command } from "commander";
import type { RunningConsole } from "../../console/start-console.js";
import { closeOnSignal } from "../close-on-signal.js";
import { CliError, UsageError } from "../errors.js";
import { parseIntFlag } from "../legacy.js";
import type { RegisterCommand } from "./index.js";

interface ConsoleFlags {
  host?: string;
  port?: string;
  sidecar?: string;
  tokenFile?: string;
  sidecarTokenFile?: string;
  traceUrl?: string;
}

/**
 * `bmn console`: the web console in the foreground until SIGINT or SIGTERM. It reads and repairs the domain
 * through one sidecar's HTTP API, forwarded under /api with the sidecar's token (docs/console.md).
 */
export const registerConsole: RegisterCommand = (program) => {
  program
    .command("console")
    .description("run the web console: live rates, queues, dead letters, traces, topology (docs/console.md)")
    .option("--host <host>", "address to listen on (default 127.0.0.1; elsewhere needs a console token)")
    .option("--port <port>", "port to listen on (default 7430)")
    .option(
      "--sidecar <url>",
      "the sidecar whose API the console uses (default --url, BMN_URL or 127.0.0.1:7420)",
    )
    .option(
      "--token-file <file>",
      "the console's own token, which every page and API call then needs (env BMN_CONSOLE_TOKEN)",
    )
    .option("--sidecar-token-file <file>", "the sidecar's API token (env BMN_API_TOKEN)")
    .option(
      "--trace-url <template>",
      "link trace ids to a trace viewer, e.g. http://jaeger:16686/trace/{traceId}",
    )
    .addHelpText(
      "after",
      `
Examples:
  bmn console                                   # http://127.0.0.1:7430, sidecar at 127.0.0.1:7420
  bmn console --sidecar http://bmn-sidecar.team-a:7420 --sidecar-token-file /var/run/bmn/token
  bmn console --host 0.0.0.0 --token-file /var/run/bmn/console-token`,
    )
    .action(async (flags: ConsoleFlags, command: Command) => {
      const globals = command.optsWithGlobals<{ url?: string }>();
      const env = process.env;
      const port = parseIntFlag(flags.port, "--port", 0, 65_535);
      // Loaded here, not at the top: it brings the config loader (yaml, zod), which other commands never need.
      const { readTokenFile } = await import("../../runtime/http/secret-token.js");
      const token =
        flags.tokenFile === undefined
          ? env.BMN_CONSOLE_TOKEN
          : readTokenFile(flags.tokenFile, "--token-file");
      const sidecarToken =
        flags.sidecarTokenFile === undefined
          ? env.BMN_API_TOKEN
          : readTokenFile(flags.sidecarTokenFile, "--sidecar-token-file");
      const sidecarUrl = flags.sidecar ?? globals.url ?? env.BMN_URL;
      let running: RunningConsole;
      try {
        // Loaded here, not at the top, so other commands load no console code.
        const { startConsole } = await import("../../console/start-console.js");
        running = await startConsole({
          ...(flags.host === undefined ? {} : { host: flags.host }),
          ...(port === undefined ? {} : { port }),
          ...(sidecarUrl === undefined ? {} : { sidecarUrl }),
          ...(token === undefined ? {} : { token }),
          ...(sidecarToken === undefined ? {} : { sidecarToken }),
          ...(flags.traceUrl === undefined ? {} : { traceUrl: flags.traceUrl }),
        });
      } catch (error) {
        throw consoleFailure(error);
      }
      process.stdout.write(`bmn console listening on ${running.url}\n`);
      closeOnSignal("closing the console", () => running.close());
    });
};

/** One line saying what to fix when the console cannot start. */
function consoleFailure(error: unknown): Error {
  const issues = (error as { issues?: { path: PropertyKey[]; message: string }[] } | undefined)?.issues;
  const [first] = issues ?? [];
  if (first !== undefined) {
    const flag = {
      host: "--host",
      port: "--port",
      sidecarUrl: "--sidecar",
      token: "--token-file",
      traceUrl: "--trace-url",
    }[String(first.path[0])];
    return new UsageError(`${flag ?? String(first.path[0])}: ${first.message}`);
  }
  const message = error instanceof Error ? error.message : String(error);
  if ((error as NodeJS.ErrnoException | undefined)?.code === "EADDRINUSE")
    return new CliError(`cannot start the console: ${message} — another process listens there; use --port`);
  return new CliError(`cannot start the console: ${message}`);
}
