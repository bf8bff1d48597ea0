import type { Command } from "commander";
import type { CommandEnv } from "../context.js";
import { agentRows } from "../format.js";

export function registerAgents(program: Command, env: CommandEnv): void {
  program
    .command("agents")
    .description("list the registered (live) agents")
    .option("--capability <capability>", "only agents that advertise this capability")
    .option("--json", "print the records as one JSON array")
    .addHelpText("after", "\nExamples:\n  bmn agents\n  bmn agents --capability code-review --json")
    .action(async (flags: { capability?: string; json?: boolean }, command: Command) => {
      const ctx = env.context(command);
      const agents = await ctx.client.agents({ capability: flags.capability });
      if (flags.json === true) ctx.out(JSON.stringify(agents));
      else if (agents.length === 0) {
        ctx.out(
          flags.capability === undefined ? "no agents registered" : `no agent advertises ${flags.capability}`,
        );
      } else for (const line of agentRows(agents)) ctx.out(line);
    });
}
