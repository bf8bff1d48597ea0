import type { Command } from "commander";
import type { CommandEnv } from "../context.js";
import { LEGACY_TYPES, parseIntFlag, statusData } from "../legacy.js";
import { legacyPriority, messageText, sendLegacy, type LegacyFlags } from "../outgoing.js";

interface StatusFlags extends LegacyFlags {
  taskCompleted?: boolean;
  progress?: string;
  percentage?: string;
}

export function registerStatus(program: Command, env: CommandEnv): void {
  program
    .command("status")
    .description("post a status update (legacy status_update): to --target, or broadcast to every listener")
    .argument("[message]", 'the status text, or "-" to read it from stdin')
    .option("--task-completed", "mark the task as completed")
    .option("--progress <text>", "what is happening now")
    .option("--percentage <0-100>", "how far along the task is")
    .option("--source <agent>", "the sender (default: --agent, BMN_AGENT, the config file's agent, or cli)")
    .option("--target <agent>", "send to this agent only (default: broadcast on topic beast.status_update)")
    .option("--priority <1-10>", "legacy priority 1-10, 10 most urgent (sent as BMN priority p-1)")
    .option("--json", "print the result and the sent message as one JSON line")
    .addHelpText(
      "after",
      `
Examples:
  bmn status "indexing the repo" --progress "file 120 of 300" --percentage 40
  bmn status "done" --task-completed --target coordinator --priority 8`,
    )
    .action(async (messageArg: string | undefined, flags: StatusFlags, command: Command) => {
      const priority = legacyPriority(flags);
      const percentage = parseIntFlag(flags.percentage, "--percentage", 0, 100);
      const ctx = env.context(command);
      const text = await messageText(ctx, messageArg, "bmn status <message|->");
      const data = statusData({
        message: text,
        taskCompleted: flags.taskCompleted,
        progress: flags.progress,
        percentage,
      });
      await sendLegacy(ctx, LEGACY_TYPES.status, data, flags, priority);
    });
}
