import type { Command } from "commander";
import { DEAD_LETTER_REASONS, type DeadLetterDryRun, type DeadLetterSelection } from "../../client/index.js";
import type { CommandEnv, Context } from "../context.js";
import { UsageError } from "../errors.js";
import { deadLetterDetail, deadLetterRows, table } from "../format.js";
import { parseIntFlag } from "../legacy.js";
import { closeMatches, quoteList } from "../suggest.js";

export interface FilterFlags {
  agent?: string;
  reason?: string;
  limit?: string;
  id: string[];
}

export const collect = (value: string, previous: string[]): string[] => [...previous, value];

/** Checks `--reason` against the stable reasons, suggesting the closest. */
export function checkReason(reason: string | undefined): string | undefined {
  if (reason === undefined || (DEAD_LETTER_REASONS as readonly string[]).includes(reason)) return reason;
  const close = closeMatches(reason, DEAD_LETTER_REASONS, 1);
  const hint = close.length > 0 ? `did you mean ${quoteList(close)}? ` : "";
  throw new UsageError(
    `--reason ${JSON.stringify(reason)} is not a dead-letter reason; ${hint}(one of ${DEAD_LETTER_REASONS.join(", ")})`,
  );
}

/**
 * `--agent` is also bmn's global option, and commander hands a global option to the program even when it comes
 * after the subcommand; so the filter reads it from there. It is a flag only: BMN_AGENT never filters.
 */
function agentFilter(flags: { agent?: string }, command: Command): string | undefined {
  return flags.agent ?? command.optsWithGlobals<{ agent?: string }>().agent;
}

export function selection(flags: FilterFlags, command: Command): DeadLetterSelection {
  const agent = agentFilter(flags, command);
  const reason = checkReason(flags.reason);
  const limit = parseIntFlag(flags.limit, "--limit", 1, 10_000);
  return {
    ...(agent === undefined ? {} : { agent }),
    ...(reason === undefined ? {} : { reason }),
    ...(limit === undefined ? {} : { limit }),
    ...(flags.id.length === 0 ? {} : { ids: flags.id }),
  };
}

export function describe(selected: DeadLetterSelection): string {
  const parts: string[] = [];
  if (selected.agent !== undefined) parts.push(`agent ${selected.agent}`);
  if (selected.reason !== undefined) parts.push(`reason ${selected.reason}`);
  if (selected.ids !== undefined)
    parts.push(`${selected.ids.length} id${selected.ids.length === 1 ? "" : "s"}`);
  if (selected.limit !== undefined) parts.push(`at most ${selected.limit}`);
  return parts.length === 0 ? "" : ` (${parts.join(", ")})`;
}

export const plural = (n: number): string => `${n} dead letter${n === 1 ? "" : "s"}`;

export function registerDlq(program: Command, env: CommandEnv): void {
  const dlq = program
    .command("dlq")
    .description("inspect, replay and purge dead-lettered messages")
    .addHelpText(
      "after",
      `
Reasons: ${DEAD_LETTER_REASONS.join(", ")}

Examples:
  bmn dlq ls --agent reviewer --reason max-attempts
  bmn dlq show reviewer 0190f1c2-...
  bmn dlq replay --agent reviewer --to reviewer-v2
  bmn dlq purge --reason expired --yes`,
    );

  dlq
    .command("ls")
    .alias("list")
    .description("list dead letters, newest last")
    .option("--agent <agent>", "only this agent's")
    .option("--reason <reason>", `only this reason (${DEAD_LETTER_REASONS.join(", ")})`)
    .option("--limit <n>", "at most this many")
    .option("--json", "print the dead letters as one JSON array")
    .action(async (flags: Omit<FilterFlags, "id"> & { json?: boolean }, command: Command) => {
      const { ids: _ids, ...filter } = selection({ ...flags, id: [] }, command);
      const ctx = env.context(command);
      const letters = await ctx.client.dlq.list(filter);
      if (flags.json === true) ctx.out(JSON.stringify(letters));
      else if (letters.length === 0) ctx.out(`no dead letters${describe(filter)}`);
      else for (const line of deadLetterRows(letters)) ctx.out(line);
    });

  dlq
    .command("show")
    .description("one dead letter in full: every attempt, the last error, the message")
    .argument("<agent>", "the agent whose queue it died in")
    .argument("<id>", "the message id")
    .option("--json", "print it as JSON")
    .action(async (agent: string, id: string, flags: { json?: boolean }, command: Command) => {
      const ctx = env.context(command);
      const letter = await ctx.client.dlq.show(agent, id);
      if (flags.json === true) ctx.out(JSON.stringify(letter));
      else for (const line of deadLetterDetail(letter)) ctx.out(line);
    });

  dlq
    .command("replay")
    .description("queue dead letters again, with a fresh attempt count (to their agent, or --to another)")
    .option("--agent <agent>", "only this agent's")
    .option("--reason <reason>", "only this reason")
    .option("--id <id>", "only this message id (repeatable)", collect, [])
    .option("--limit <n>", "at most this many")
    .option("--to <agent>", "deliver to this agent instead of the original one")
    .option("--dry-run", "list what would be replayed and where, changing nothing")
    .action(async (flags: FilterFlags & { to?: string; dryRun?: boolean }, command: Command) => {
      const selected = selection(flags, command);
      const ctx = env.context(command);
      if (flags.dryRun === true) {
        printDryRun(
          ctx,
          "replay",
          await ctx.client.dlq.dryRun({ ...selected, to: flags.to }),
          describe(selected),
        );
        return;
      }
      const replayed = await ctx.client.dlq.replay({
        ...selected,
        ...(flags.to === undefined ? {} : { to: flags.to }),
      });
      ctx.out(
        `replayed ${plural(replayed)}${describe(selected)}${flags.to === undefined ? "" : ` to ${flags.to}`}`,
      );
    });

  dlq
    .command("purge")
    .description("delete dead letters for good (needs --yes)")
    .option("--agent <agent>", "only this agent's")
    .option("--reason <reason>", "only this reason")
    .option("--id <id>", "only this message id (repeatable)", collect, [])
    .option("--limit <n>", "at most this many")
    .option("--yes", "confirm: the purged messages cannot be recovered")
    .option("--dry-run", "list what would be purged, changing nothing")
    .action(async (flags: FilterFlags & { yes?: boolean; dryRun?: boolean }, command: Command) => {
      const selected = selection(flags, command);
      if (flags.dryRun === true) {
        const ctx = env.context(command);
        printDryRun(ctx, "purge", await ctx.client.dlq.dryRun(selected, "purge"), describe(selected));
        return;
      }
      if (flags.yes !== true) {
        throw new UsageError(
          `dlq purge deletes ${describe(selected) === "" ? "every dead letter" : `dead letters${describe(selected)}`} for good; add --yes to confirm`,
        );
      }
      const ctx = env.context(command);
      const purged = await ctx.client.dlq.purge(selected);
      ctx.out(`purged ${plural(purged)}${describe(selected)}`);
    });
}

/** A dry run's answer: one row per letter it would take, then one line saying nothing changed. */
export function printDryRun(
  ctx: Context,
  action: "replay" | "purge",
  answer: DeadLetterDryRun,
  described: string,
): void {
  const replay = action === "replay";
  const header = replay ? ["ID", "QUEUE", "TO", "REASON"] : ["ID", "QUEUE", "REASON"];
  const rows = answer.letters.map((l) =>
    replay ? [l.id, l.agent, l.to, l.reason] : [l.id, l.agent, l.reason],
  );
  if (rows.length > 0) for (const line of table(header, rows)) ctx.out(line);
  const listed = answer.matched > answer.letters.length ? ` (the first ${answer.letters.length} listed)` : "";
  ctx.out(`dry run: would ${action} ${plural(answer.matched)}${described}${listed}; nothing changed`);
}
