import type { Command } from "commander";
import type { AnalyticsAnswer, AnalyticsParams } from "../../client/index.js";
import type { CommandEnv } from "../context.js";
import { UsageError } from "../errors.js";
import { table } from "../format.js";
import { parseIntFlag } from "../legacy.js";
import { closeMatches, quoteList } from "../suggest.js";
import { checkReason } from "./dlq.js";

/** The sidecar's named analytics queries (store/sql/analytics). */
export const STATS_QUERIES = ["throughput", "latency", "deadLetters", "topTalkers", "stuckLeases"] as const;
const BUCKETS = [1, 5, 15, 60, 1_440];

interface StatsFlags {
  agent?: string;
  reason?: string;
  from?: string;
  to?: string;
  bucket?: string;
  limit?: string;
  olderThan?: string;
  json?: boolean;
}

const UNIT_MS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `15m`, `2h`, `1d` (that long ago), epoch milliseconds, or an ISO 8601 date-time (passed on as given). */
export function parseTimeFlag(value: string | undefined, flag: string, now = Date.now()): string | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  const relative = /^(\d+)([smhd])$/.exec(trimmed);
  if (relative !== null) return String(now - Number(relative[1]) * (UNIT_MS[relative[2] ?? "s"] ?? 1_000));
  if (/^\d+$/.test(trimmed) || !Number.isNaN(Date.parse(trimmed))) return trimmed;
  throw new UsageError(
    `${flag} must be a duration ago (15m, 2h, 1d), epoch milliseconds or an ISO date-time, got ${JSON.stringify(value)}`,
  );
}

function checkQuery(query: string): void {
  if ((STATS_QUERIES as readonly string[]).includes(query)) return;
  const close = closeMatches(query, STATS_QUERIES, 1);
  const hint = close.length > 0 ? `did you mean ${quoteList(close)}? ` : "";
  throw new UsageError(
    `${JSON.stringify(query)} is not an analytics query; ${hint}(one of ${STATS_QUERIES.join(", ")})`,
  );
}

function params(flags: StatsFlags, command: Command): AnalyticsParams {
  // --agent is also bmn's global option; commander may hand it to the program instead (see dlq.ts).
  const agent = flags.agent ?? command.optsWithGlobals<{ agent?: string }>().agent;
  const bucket = parseIntFlag(flags.bucket, "--bucket", 1, 1_440);
  if (bucket !== undefined && !BUCKETS.includes(bucket)) {
    throw new UsageError(`--bucket must be one of ${BUCKETS.join(", ")} (minutes), got ${bucket}`);
  }
  return {
    agent,
    reason: checkReason(flags.reason),
    from: parseTimeFlag(flags.from, "--from"),
    to: parseTimeFlag(flags.to, "--to"),
    bucket,
    limit: parseIntFlag(flags.limit, "--limit", 1, 1_000),
    olderThan: parseIntFlag(flags.olderThan, "--older-than", 1, 30 * 86_400),
  };
}

const isTimeColumn = (name: string): boolean => name === "bucket" || name.endsWith("At");

function cell(name: string, value: string | number | boolean | null | undefined): string {
  if (value === null || value === undefined) return "-";
  if (typeof value === "number" && isTimeColumn(name)) return new Date(value).toISOString();
  return String(value);
}

/** The rows as a table whose columns are the row's fields, times as ISO date-times. */
export function statsTable(answer: AnalyticsAnswer): string[] {
  const first = answer.rows[0];
  if (first === undefined) return [`no ${answer.query} rows in the window`];
  const columns = Object.keys(first);
  const header = columns.map((name) => name.replace(/([a-z])([A-Z])/g, "$1 $2").toUpperCase());
  const lines = table(
    header,
    answer.rows.map((row) => columns.map((name) => cell(name, row[name]))),
  );
  if (answer.truncated === true)
    lines.push("(truncated: more samples than the sidecar reads; narrow the window)");
  return lines;
}

export function registerStats(program: Command, env: CommandEnv): void {
  program
    .command("stats")
    .description(
      "SQL analytics of the sql store: throughput, latency, dead letters, top talkers, stuck leases",
    )
    .argument("<query>", STATS_QUERIES.join(" | "))
    .option("--agent <agent>", "only this agent")
    .option("--reason <reason>", "deadLetters: only this reason")
    .option(
      "--from <time>",
      "window start: 15m, 2h, 1d ago, epoch ms or ISO date-time (default: 1h before --to)",
    )
    .option("--to <time>", "window end (default: now)")
    .option("--bucket <minutes>", `bucket size: ${BUCKETS.join(", ")} (default 1)`)
    .option("--limit <n>", "at most this many rows (1-1000, default 100)")
    .option("--older-than <seconds>", "stuckLeases: leases held longer than this (default 300)")
    .option("--json", "print the whole answer as JSON")
    .addHelpText(
      "after",
      `
Needs a sidecar on the sql store (MariaDB or TiDB).

Examples:
  bmn stats throughput --from 2h --bucket 5
  bmn stats latency --agent reviewer
  bmn stats deadLetters --reason max-attempts --bucket 60 --from 1d
  bmn stats topTalkers --limit 10
  bmn stats stuckLeases --older-than 60`,
    )
    .action(async (query: string, flags: StatsFlags, command: Command) => {
      checkQuery(query);
      const selected = params(flags, command);
      const ctx = env.context(command);
      const answer = await ctx.client.analytics(query, selected);
      if (flags.json === true) ctx.out(JSON.stringify(answer));
      else for (const line of statsTable(answer)) ctx.out(line);
    });
}
