import type { Command } from "commander";
import type { CommandEnv } from "../context.js";
import { UsageError } from "../errors.js";
import { collect, describe, plural, printDryRun, selection, type FilterFlags } from "./dlq.js";

interface ReplayFlags extends Omit<FilterFlags, "id"> {
  id: string[];
  to?: string;
  dryRun?: boolean;
  all?: boolean;
}

/**
 * `bmn replay`: resends dead-lettered messages to their original queue (or --to another agent), by id or by a
 * selection, with --dry-run to see what would move first. The same as `bmn dlq replay`, with ids as arguments.
 */
export function registerReplay(program: Command, env: CommandEnv): void {
  program
    .command("replay")
    .description("resend dead-lettered messages to their original queue (or --to another), with --dry-run")
    .argument("[ids...]", "message ids of dead letters")
    .option("--agent <agent>", "only this agent's dead letters")
    .option("--reason <reason>", "only this reason")
    .option("--id <id>", "this message id (repeatable; the same as an argument)", collect, [])
    .option("--limit <n>", "at most this many")
    .option("--to <agent>", "deliver to this agent instead of the original one")
    .option("--all", "with no ids, agent or reason: every dead letter")
    .option("--dry-run", "list what would be replayed and where, changing nothing")
    .addHelpText(
      "after",
      `
Examples:
  bmn replay 0190f1c2-... --agent reviewer --dry-run
  bmn replay --agent reviewer --reason max-attempts --to reviewer-v2
  bmn replay --all --dry-run`,
    )
    .action(async (ids: string[], flags: ReplayFlags, command: Command) => {
      const selected = selection({ ...flags, id: [...ids, ...flags.id] }, command);
      const everything =
        selected.ids === undefined && selected.agent === undefined && selected.reason === undefined;
      if (everything && flags.all !== true && flags.dryRun !== true)
        throw new UsageError("name ids, --agent or --reason, or add --all to replay every dead letter");
      const ctx = env.context(command);
      const target = flags.to === undefined ? {} : { to: flags.to };
      if (flags.dryRun === true) {
        printDryRun(
          ctx,
          "replay",
          await ctx.client.dlq.dryRun({ ...selected, ...target }),
          describe(selected),
        );
        return;
      }
      const replayed = await ctx.client.dlq.replay({ ...selected, ...target });
      ctx.out(
        `replayed ${plural(replayed)}${describe(selected)}${flags.to === undefined ? "" : ` to ${flags.to}`}`,
      );
    });
}
