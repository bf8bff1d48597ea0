/**
 * The `bmn` command line. Run it with `npx bmn` (cli/bin/bmn.js) or `npx tsx cli/bmn.ts`.
 * The exit code is set, not forced, so a command that leaves a server running (bmn start) keeps the process up.
 */
import { packageVersion } from "./version.js";

// `bmn listen | head -1`: a closed pipe ends the output, which is success, not a crash.
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code === "EPIPE") process.exit(process.exitCode ?? 0);
  throw error;
});

const argv = process.argv.slice(2);
if (argv.length === 1 && (argv[0] === "--version" || argv[0] === "-V")) {
  // Answered before the program and its commands load: scripts call this often, and it should cost a bare start.
  process.stdout.write(`${packageVersion()}\n`);
} else {
  const { processIo, runCli } = await import("./program.js");
  process.exitCode = await runCli(argv, processIo());
}
