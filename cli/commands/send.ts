import type { Command } from "commander";
import type { MessageInput } from "../../client/index.js";
import type { CommandEnv } from "../context.js";
import { UsageError } from "../errors.js";
import { LEGACY_TYPES, parseIntFlag } from "../legacy.js";
import { deliver, messageText, parseJsonData } from "../outgoing.js";

interface SendFlags {
  topic?: string;
  type: string;
  priority?: string;
  correlationId?: string;
  json?: boolean;
  from?: string;
  quiet?: boolean;
}

const USAGE = "bmn send <to> <message|-> or bmn send --topic <topic> <message|->";

export function registerSend(program: Command, env: CommandEnv): void {
  program
    .command("send")
    .description("send a message to an agent, or publish it to a topic")
    .argument("[to]", "the agent: name or name@domain (leave out with --topic)")
    .argument("[message]", 'the message text, or "-" to read it from stdin')
    .option("--topic <topic>", "publish to this topic instead of sending to one agent")
    .option("--type <type>", "the CloudEvent type", LEGACY_TYPES.message)
    .option("--priority <0-9>", "0-9, higher first (sidecar default 4)")
    .option("--correlation-id <id>", "ties related messages together (bmn trace --correlation-id)")
    .option("--json", "the message is JSON, sent as the data as is (else data is {message: text})")
    .option("--from <agent>", "the sender (default: --agent, BMN_AGENT, the config file's agent, or cli)")
    .option("-q, --quiet", "print only the message id")
    .addHelpText(
      "after",
      `
Examples:
  bmn send reviewer "please look at PR 42"
  echo '{"pr": 42}' | bmn send reviewer - --json --type review.requested --priority 7
  bmn send --topic orders.created '{"order": 1}' --json`,
    )
    .action(
      async (
        toArg: string | undefined,
        messageArg: string | undefined,
        flags: SendFlags,
        command: Command,
      ) => {
        let to = toArg;
        let text = messageArg;
        if (flags.topic !== undefined) {
          if (messageArg !== undefined) {
            throw new UsageError(
              `give either <to> or --topic, not both (got ${JSON.stringify(toArg)} and --topic)`,
            );
          }
          text = toArg;
          to = undefined;
        } else if (to === undefined) {
          throw new UsageError(`missing <to> — usage: ${USAGE}`);
        }
        const priority = parseIntFlag(flags.priority, "--priority", 0, 9);
        const ctx = env.context(command);
        const body = await messageText(ctx, text, USAGE);
        const message: MessageInput = {
          type: flags.type,
          data: flags.json === true ? parseJsonData(body) : { message: body },
          from: flags.from ?? ctx.settings.agent,
          ...(to === undefined ? {} : { to }),
          ...(flags.topic === undefined ? {} : { topic: flags.topic }),
          ...(priority === undefined ? {} : { priority }),
          ...(flags.correlationId === undefined ? {} : { correlationid: flags.correlationId }),
        };
        const { result, line } = await deliver(ctx, message);
        ctx.out(flags.quiet === true ? result.id : line);
      },
    );
}
