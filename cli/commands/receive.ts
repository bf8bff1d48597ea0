import type { Command } from "commander";
import type { CommandEnv } from "../context.js";
import { messageLine } from "../format.js";
import { parseIntFlag, parseSecondsFlag } from "../legacy.js";

interface ReceiveFlags {
  max?: string;
  wait?: string;
  lease?: string;
  json?: boolean;
}

export function registerReceive(program: Command, env: CommandEnv): void {
  program
    .command("receive")
    .description(
      "lease messages for this CLI's agent (--agent) without acking them; settle with bmn ack / bmn nack",
    )
    .option("--max <n>", "at most this many (default 1)")
    .option("--wait <seconds>", "wait this long for the first message (default 0: answer at once)")
    .option("--lease <seconds>", "how long each stays leased before it is redelivered (sidecar default 30)")
    .option("--json", "print each delivery as one JSON line: {leaseId, attempt, leaseExpiresAt, message}")
    .addHelpText(
      "after",
      `
Examples:
  bmn receive --agent reviewer --max 5 --wait 10
  bmn receive --agent reviewer --json | jq -r .leaseId | xargs bmn ack`,
    )
    .action(async (flags: ReceiveFlags, command: Command) => {
      const max = parseIntFlag(flags.max, "--max", 1, 1_000);
      const waitSeconds = parseSecondsFlag(flags.wait, "--wait", 300);
      const leaseSeconds = parseSecondsFlag(flags.lease, "--lease");
      const ctx = env.context(command);
      const deliveries = await ctx.client.receive({ max, waitSeconds, leaseSeconds });
      for (const delivery of deliveries) {
        ctx.out(
          flags.json === true
            ? JSON.stringify(delivery)
            : `lease ${delivery.leaseId}  ${messageLine(delivery.message, delivery.attempt)}`,
        );
      }
      if (deliveries.length === 0 && flags.json !== true) ctx.out(`no messages for ${ctx.settings.agent}`);
    });
}
