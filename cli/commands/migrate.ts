import type { Command } from "commander";
import type { CommandEnv } from "../context.js";
import { CliError, UsageError } from "../errors.js";

interface MigrateFlags {
  redisUrl?: string;
  dryRun?: boolean;
  apply?: boolean;
  mailboxPrefix: string[];
  json?: boolean;
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];

/** `bmn migrate legacy --dry-run|--apply`: moves the legacy network's presence and pending mailboxes into BMN. */
export function registerMigrate(program: Command, env: CommandEnv): void {
  const migrate = program.command("migrate").description("move state from another system into BMN");
  migrate
    .command("legacy")
    .description(
      "copy legacy presence, unread mailbox entries and unacknowledged pending entries into BMN, once",
    )
    .option("--redis-url <url>", "the legacy network's Redis (env BMN_LEGACY_REDIS_URL)")
    .option("--dry-run", "print what would move, change nothing")
    .option("--apply", "move it: send to BMN, then advance and ack the legacy mailbox groups")
    .option(
      "--mailbox-prefix <prefix>",
      "mailbox stream prefix (repeatable; default beast:mailbox and mailbox)",
      collect,
      [],
    )
    .option("--json", "print the report as one JSON line")
    .addHelpText(
      "after",
      `
A second --apply moves nothing. Entries stay in the legacy streams: each mailbox line ends with the
XGROUP SETID command that hands them back to the legacy agent (rollback). See docs/bridges.md.`,
    )
    .action(async (flags: MigrateFlags, command: Command) => {
      if (flags.dryRun === flags.apply)
        throw new UsageError("bmn migrate legacy needs exactly one of --dry-run or --apply");
      const ctx = env.context(command);
      const redisUrl = flags.redisUrl ?? ctx.io.env.BMN_LEGACY_REDIS_URL;
      if (redisUrl === undefined)
        throw new UsageError("bmn migrate legacy needs --redis-url or BMN_LEGACY_REDIS_URL");
      const { migrateLegacy } = await import("../../bridge/legacy/migrate-legacy.js");
      let report: Awaited<ReturnType<typeof migrateLegacy>>;
      try {
        report = await migrateLegacy({
          redisUrl,
          bmnUrl: ctx.settings.url,
          apiToken: ctx.io.env.BMN_API_TOKEN,
          apply: flags.apply === true,
          mailboxPrefixes: flags.mailboxPrefix.length > 0 ? flags.mailboxPrefix : undefined,
        });
      } catch (error) {
        if (
          error instanceof Error &&
          /ECONNREFUSED|ENOTFOUND|Connection is closed/.test(error.message) &&
          !error.message.includes(ctx.settings.url)
        )
          throw new CliError(
            `cannot reach the legacy Redis at ${redisUrl}: ${error.message} — check --redis-url`,
          );
        throw error;
      }
      if (flags.json === true) {
        ctx.out(JSON.stringify(report));
        return;
      }
      const verb = report.applied ? "moved" : "would move";
      for (const p of report.presence)
        ctx.out(
          `presence ${p.legacyId} → ${p.agent} [${p.capabilities.join(",")}]: ${p.action === "present" ? "already in BMN" : report.applied ? "registered" : "would register"}`,
        );
      let total = 0;
      for (const m of report.mailboxes) {
        const count = report.applied ? m.moved : m.unread + m.pending - m.invalid;
        total += count;
        ctx.out(
          `mailbox ${m.stream} → ${m.agent}: ${m.unread} unread, ${m.pending} pending, ${verb} ${count}` +
            (report.applied && m.duplicates > 0 ? ` (${m.duplicates} already in BMN)` : "") +
            (m.invalid > 0 ? `, ${m.invalid} invalid left in place` : "") +
            (report.applied && count + m.duplicates > 0
              ? `; rollback: XGROUP SETID ${m.stream} ${m.group} ${m.rollbackId}`
              : ""),
        );
      }
      const registered = report.presence.filter((p) => p.action === "register").length;
      ctx.out(
        `${report.applied ? "moved" : "would move"} ${total} message(s) and ${registered} agent(s)${report.applied ? "" : " (dry run: nothing changed)"}`,
      );
    });
}
