import type { Command } from "commander";
import type { CommandEnv } from "../context.js";
import { CliError, UsageError } from "../errors.js";
import { traceTimeline } from "../format.js";

interface TraceFlags {
  correlationId?: string;
  json?: boolean;
}

export function registerTrace(program: Command, env: CommandEnv): void {
  program
    .command("trace")
    .description(
      "where is message X? its timeline: accepted, enqueued, leased, acked, nacked, dead-lettered ...",
    )
    .argument("[id]", "the message id")
    .option("--correlation-id <id>", "every message with this correlation id instead")
    .option("--json", "print the events as JSON")
    .addHelpText(
      "after",
      `
Examples:
  bmn trace 0190f1c2-7d3a-7c4e-9a51-2f0e6d1b8c3a
  bmn trace --correlation-id order-1234 --json`,
    )
    .action(async (id: string | undefined, flags: TraceFlags, command: Command) => {
      if ((id === undefined) === (flags.correlationId === undefined)) {
        throw new UsageError("give a message id or --correlation-id <id> (one of them)");
      }
      const ctx = env.context(command);
      if (id !== undefined) {
        const trace = await ctx.client.trace(id);
        if (flags.json === true) ctx.out(JSON.stringify(trace));
        else for (const line of traceTimeline(`message ${trace.id}`, trace.events, false)) ctx.out(line);
        return;
      }
      const correlationId = flags.correlationId ?? "";
      const events = await ctx.client.traceByCorrelation(correlationId);
      if (flags.json === true) {
        ctx.out(JSON.stringify({ correlationId, events }));
        return;
      }
      if (events.length === 0)
        throw new CliError(`no trace recorded for correlation id ${JSON.stringify(correlationId)}`);
      for (const line of traceTimeline(`correlation ${correlationId}`, events, true)) ctx.out(line);
    });
}
