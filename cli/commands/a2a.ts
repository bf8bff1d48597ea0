import type { Command } from "commander";
import type { CommandEnv } from "../context.js";

/** `bmn a2a ...`: the A2A side of the sidecar (docs/a2a.md). */
export function registerA2a(program: Command, env: CommandEnv): void {
  const a2a = program.command("a2a").description("A2A agent cards and tasks through the sidecar");
  a2a
    .command("card <agent>")
    .description("print the A2A agent card the sidecar serves for an agent of the domain")
    .addHelpText(
      "after",
      "\nExamples:\n  bmn a2a card alice\n  bmn a2a card alice --url http://127.0.0.1:7420",
    )
    .action(async (agent: string, _flags: unknown, command: Command) => {
      const ctx = env.context(command);
      ctx.out(JSON.stringify(await ctx.client.a2a.card(agent), null, 2));
    });
  a2a
    .command("task <taskId>")
    .description("print an A2A task as stored: status, artifacts and history")
    .addHelpText("after", "\nExample:\n  bmn a2a task 276e3d00-08ff-a91a-1ec5-9035934b8e55")
    .action(async (taskId: string, _flags: unknown, command: Command) => {
      const ctx = env.context(command);
      ctx.out(JSON.stringify(await ctx.client.a2a.task(taskId), null, 2));
    });
}
