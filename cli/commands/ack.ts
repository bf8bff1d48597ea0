import type { Command } from "commander";
import type { CommandEnv } from "../context.js";

export function registerAck(program: Command, env: CommandEnv): void {
  program
    .command("ack")
    .description("acknowledge leased deliveries: the messages are done and removed")
    .argument("<leaseId...>", "lease ids from bmn receive")
    .addHelpText("after", "\nExample:\n  bmn ack 7f3c...:reviewer:0190f1c2-...")
    .action(async (leaseIds: string[], _flags: unknown, command: Command) => {
      const ctx = env.context(command);
      for (const leaseId of leaseIds) {
        await ctx.client.ack(leaseId);
        ctx.out(`acked ${leaseId}`);
      }
    });
}
