import type { Command } from "commander";
import type { CommandEnv } from "../context.js";
import { table } from "../format.js";

export function registerQueues(program: Command, env: CommandEnv): void {
  program
    .command("queues")
    .description("depth of every agent's queue: ready, delayed, in flight, dead-lettered")
    .option("--json", "print the stats as one JSON array")
    .action(async (flags: { json?: boolean }, command: Command) => {
      const ctx = env.context(command);
      const queues = await ctx.client.queues();
      if (flags.json === true) ctx.out(JSON.stringify(queues));
      else if (queues.length === 0) ctx.out("no queues");
      else {
        const rows = queues.map((q) =>
          [q.agent, q.depth, q.ready, q.delayed, q.inFlight, q.deadLettered].map(String),
        );
        for (const line of table(["AGENT", "DEPTH", "READY", "DELAYED", "IN FLIGHT", "DEAD"], rows))
          ctx.out(line);
      }
    });
}
