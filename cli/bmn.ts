/**
 * The `bmn` command line. Run it with `npx bmn` (cli/bin/bmn.js) or `npx tsx cli/bmn.ts`.
 * The exit code is set, not forced, so a command that leaves a server running (bmn start) keeps the process up.
 */
import { processIo, runCli } from "./program.js";

// `bmn listen | head -1`: a closed pipe ends the output, which is success, not a crash.
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code === "EPIPE") process.exit(process.exitCode ?? 0);
  throw error;
});

process.exitCode = await runCli(process.argv.slice(2), processIo());
