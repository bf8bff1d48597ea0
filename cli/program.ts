import { Command, CommanderError } from "commander";
import { DEFAULT_URL } from "../client/index.js";
import { registerCommands } from "./commands/index.js";
import { createCommandEnv, type CommandEnv, type Io } from "./context.js";
import { terminalSafe } from "./terminal-safe.js";
import { CliError, describeCommanderMessage, describeError } from "./errors.js";
import { packageVersion } from "./version.js";

/** The `bmn` program with its global options and every command; errors are thrown, never printed. */
export function createProgram(env: CommandEnv): Command {
  const program = new Command("bmn")
    .description("Beast Mode Network: send, receive and inspect messages through a BMN sidecar")
    .version(packageVersion(), "-V, --version")
    .option("--url <url>", "the sidecar (env BMN_URL; default http://127.0.0.1:7420)")
    .option("--config <file>", "a YAML or JSON file with url, agent, verbose (env BMN_CONFIG)")
    .option(
      "--agent <name>",
      "this CLI's agent name: whose queue listen and receive read (env BMN_AGENT; default cli)",
    )
    .option("--verbose", "print every HTTP request and response line to stderr (env BMN_VERBOSE=1)")
    .addHelpText(
      "after",
      `
Settings: flags > environment (BMN_URL, BMN_AGENT, BMN_CONFIG, BMN_VERBOSE) > config file > defaults.
Exit codes: 0 success, 1 failure, 2 wrong usage. Failures print one line on stderr.
Docs: docs/cli.md`,
    )
    .exitOverride()
    .configureOutput({
      writeOut: (text) => {
        env.io.out(text);
      },
      // Errors and implicit help are reported by runCli as one line; commander's own text is dropped.
      writeErr: () => undefined,
      outputError: () => undefined,
    });
  return registerCommands(program, env);
}

/** The innermost command named on the command line, for "see bmn <command> --help" hints. */
function commandFor(program: Command, argv: readonly string[]): Command {
  let command = program;
  for (const token of argv) {
    if (token.startsWith("-")) continue;
    const sub = command.commands.find((c) => c.name() === token || c.aliases().includes(token));
    if (sub === undefined) break;
    command = sub;
  }
  return command;
}

function commandPath(command: Command): string {
  const names: string[] = [];
  for (let c: Command | null = command; c !== null; c = c.parent) names.unshift(c.name());
  return names.join(" ");
}

/** Runs `bmn` with `argv` (without node and the script); resolves with the exit code. */
export async function runCli(argv: readonly string[], io: Io): Promise<number> {
  const env = createCommandEnv(io);
  const program = createProgram(env);
  try {
    await program.parseAsync([...argv], { from: "user" });
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.exitCode === 0) return 0; // --help, --version
      const command = commandFor(program, argv);
      const path = commandPath(command);
      if (error.code === "commander.help") {
        const subcommands = command.commands.map((c) => c.name()).filter((name) => name !== "help");
        io.err(`bmn: "${path}" needs a command: ${subcommands.join(", ")} — see "${path} --help"\n`);
      } else {
        io.err(`bmn: ${describeCommanderMessage(error.message)} — see "${path} --help"\n`);
      }
      return 2;
    }
    const settings = env.lastSettings;
    io.err(
      `bmn: ${describeError(error, { url: settings?.url ?? DEFAULT_URL, urlSource: settings?.urlSource })}\n`,
    );
    if (settings?.verbose === true && !(error instanceof CliError) && error instanceof Error && error.stack) {
      io.err(`${error.stack}\n`);
    }
    return error instanceof CliError ? error.exitCode : 1;
  }
}

/** The real process: stdout, stderr, stdin, environment and signals. */
export function processIo(): Io {
  return {
    // On a terminal nothing printed may drive it; piped or redirected, output stays byte for byte.
    out: (text) => process.stdout.write(process.stdout.isTTY ? terminalSafe(text) : text),
    err: (text) => process.stderr.write(process.stderr.isTTY ? terminalSafe(text) : text),
    env: process.env,
    readStdin: async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of process.stdin)
        chunks.push(typeof chunk === "string" ? Buffer.from(chunk) : (chunk as Buffer));
      return Buffer.concat(chunks).toString("utf8");
    },
    onInterrupt: (handler) => {
      process.on("SIGINT", handler);
      process.on("SIGTERM", handler);
      return () => {
        process.off("SIGINT", handler);
        process.off("SIGTERM", handler);
      };
    },
  };
}
