import type { Command } from "commander";
import type { CommandEnv } from "../context.js";
import { collabData, LEGACY_TYPES } from "../legacy.js";
import { legacyPriority, messageText, sendLegacy, type LegacyFlags } from "../outgoing.js";

interface CollabFlags extends LegacyFlags {
  requestType?: string;
}

export function registerCollab(program: Command, env: CommandEnv): void {
  program
    .command("collab")
    .description("ask for collaboration (legacy collaboration_request): to --target, or broadcast")
    .argument("[message]", 'what you need, or "-" to read it from stdin')
    .option("--request-type <type>", "the kind of help, e.g. code_review or pair_debugging")
    .option("--source <agent>", "the sender (default: --agent, BMN_AGENT, the config file's agent, or cli)")
    .option(
      "--target <agent>",
      "ask this agent only (default: broadcast on topic beast.collaboration_request)",
    )
    .option("--priority <1-10>", "legacy priority 1-10, 10 most urgent (sent as BMN priority p-1)")
    .option("--json", "print the result and the sent message as one JSON line")
    .addHelpText(
      "after",
      `
Examples:
  bmn collab "need a second pair of eyes on the retry logic" --request-type code_review
  bmn collab "can you take the migration?" --target db-agent --priority 9`,
    )
    .action(async (messageArg: string | undefined, flags: CollabFlags, command: Command) => {
      const priority = legacyPriority(flags);
      const ctx = env.context(command);
      const text = await messageText(ctx, messageArg, "bmn collab <message|->");
      await sendLegacy(ctx, LEGACY_TYPES.collab, collabData(text, flags.requestType), flags, priority);
    });
}
