import type { Command } from "commander";
import type { CommandEnv } from "../context.js";
import { CliError } from "../errors.js";

export function registerSubscribe(program: Command, env: CommandEnv): void {
  program
    .command("subscribe")
    .description("subscribe this CLI's agent (--agent) to a topic pattern (* one segment, # any number)")
    .argument("<pattern>", "e.g. orders.*.created or beast.#")
    .addHelpText("after", "\nExample:\n  bmn subscribe --agent billing 'orders.*.created'")
    .action(async (pattern: string, _flags: unknown, command: Command) => {
      const ctx = env.context(command);
      const subscription = await ctx.client.subscribe(pattern);
      ctx.out(`subscribed ${subscription.agent} to ${subscription.pattern}`);
    });

  program
    .command("unsubscribe")
    .description("remove one of this CLI's agent's topic subscriptions")
    .argument("<pattern>", "the pattern exactly as subscribed")
    .action(async (pattern: string, _flags: unknown, command: Command) => {
      const ctx = env.context(command);
      if (!(await ctx.client.unsubscribe(pattern))) {
        throw new CliError(
          `${ctx.settings.agent} has no subscription ${JSON.stringify(pattern)} — see "bmn subscriptions"`,
        );
      }
      ctx.out(`unsubscribed ${ctx.settings.agent} from ${pattern}`);
    });

  program
    .command("subscriptions")
    .description("list this CLI's agent's topic subscriptions")
    .option("--json", "print them as one JSON array")
    .action(async (flags: { json?: boolean }, command: Command) => {
      const ctx = env.context(command);
      const subscriptions = await ctx.client.subscriptions();
      if (flags.json === true) ctx.out(JSON.stringify(subscriptions));
      else if (subscriptions.length === 0) ctx.out(`${ctx.settings.agent} has no subscriptions`);
      else for (const s of subscriptions) ctx.out(s.pattern);
    });
}
