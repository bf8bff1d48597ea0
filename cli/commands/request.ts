import type { Command } from "commander";
import type { MessageInput } from "../../client/index.js";
import type { CommandEnv } from "../context.js";
import { messageLine } from "../format.js";
import { parseIntFlag, parseSecondsFlag } from "../legacy.js";
import { messageText, parseJsonData } from "../outgoing.js";

interface RequestFlags {
  type: string;
  timeout?: string;
  priority?: string;
  json?: boolean;
  from?: string;
}

export function registerRequest(program: Command, env: CommandEnv): void {
  program
    .command("request")
    .description("send a request to an agent and wait for its reply")
    .argument("<to>", "the agent: name or name@domain")
    .argument("<message>", 'the request text, or "-" to read it from stdin')
    .option("--type <type>", "the CloudEvent type", "request")
    .option("--timeout <seconds>", "how long to wait for the reply (default 30)")
    .option("--priority <0-9>", "0-9, higher first")
    .option("--json", "the message is JSON data; print the reply as one JSON line")
    .option("--from <agent>", "the sender (default: --agent, BMN_AGENT, the config file's agent, or cli)")
    .addHelpText(
      "after",
      '\nExample:\n  bmn request calculator \'{"op": "add", "args": [1, 2]}\' --json --timeout 5',
    )
    .action(async (to: string, messageArg: string, flags: RequestFlags, command: Command) => {
      const timeoutSeconds = parseSecondsFlag(flags.timeout, "--timeout", 300);
      const priority = parseIntFlag(flags.priority, "--priority", 0, 9);
      const ctx = env.context(command);
      const text = await messageText(ctx, messageArg, "bmn request <to> <message|->");
      const message: MessageInput = {
        type: flags.type,
        to,
        data: flags.json === true ? parseJsonData(text) : { message: text },
        from: flags.from ?? ctx.settings.agent,
        ...(priority === undefined ? {} : { priority }),
      };
      const reply = await ctx.client.request(message, { timeoutSeconds });
      ctx.out(flags.json === true ? JSON.stringify(reply) : messageLine(reply));
    });
}
