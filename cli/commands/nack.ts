import type { Command } from "commander";
import type { CommandEnv } from "../context.js";
import { parseIntFlag } from "../legacy.js";

interface NackFlags {
  delayMs?: string;
  reason?: string;
  deadLetter?: boolean;
}

export function registerNack(program: Command, env: CommandEnv): void {
  program
    .command("nack")
    .description("give leased deliveries back: redelivered after a delay, or dead-lettered")
    .argument("<leaseId...>", "lease ids from bmn receive")
    .option("--delay-ms <ms>", "redeliver no sooner than this (default: the sidecar's exponential backoff)")
    .option("--reason <text>", "why; kept with the attempt and shown by bmn dlq show")
    .option("--dead-letter", "dead-letter now (reason rejected) instead of retrying")
    .addHelpText(
      "after",
      '\nExample:\n  bmn nack 7f3c...:reviewer:0190f1c2-... --dead-letter --reason "cannot parse the diff"',
    )
    .action(async (leaseIds: string[], flags: NackFlags, command: Command) => {
      const delayMs = parseIntFlag(flags.delayMs, "--delay-ms", 0, 7 * 24 * 3_600_000);
      const ctx = env.context(command);
      for (const leaseId of leaseIds) {
        await ctx.client.nack(leaseId, {
          ...(delayMs === undefined ? {} : { delayMs }),
          ...(flags.reason === undefined ? {} : { reason: flags.reason }),
          ...(flags.deadLetter === true ? { deadLetter: true } : {}),
        });
        ctx.out(`${flags.deadLetter === true ? "dead-lettered" : "nacked"} ${leaseId}`);
      }
    });
}
