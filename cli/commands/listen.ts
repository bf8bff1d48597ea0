import type { Command } from "commander";
import type { CommandEnv } from "../context.js";
import { messageLine } from "../format.js";
import { LEGACY_BROADCAST_PATTERN, parseSecondsFlag } from "../legacy.js";

interface ListenFlags {
  duration?: string;
  json?: boolean;
  topic: string[];
  broadcast: boolean;
}

const POLL_SECONDS = 20;

const collect = (value: string, previous: string[]): string[] => [...previous, value];

export function registerListen(program: Command, env: CommandEnv): void {
  program
    .command("listen")
    .description("print the messages for this CLI's agent (--agent) as they arrive, acking each once printed")
    .option("--duration <seconds>", "stop after this many seconds (default: until Ctrl-C)")
    .option("--json", "print each message as one JSON line (the CloudEvent)")
    .option("--topic <pattern>", "also subscribe to this topic pattern (repeatable)", collect, [])
    .option("--no-broadcast", `do not subscribe to legacy broadcasts (${LEGACY_BROADCAST_PATTERN})`)
    .addHelpText(
      "after",
      `
Stopping: at --duration or on Ctrl-C, listen stops fetching, prints and acks what it already holds, and exits 0.
A second Ctrl-C gives back (nacks) whatever is still unprinted and exits at once.

Examples:
  bmn listen --agent coordinator
  bmn listen --duration 30 --json | jq .type`,
    )
    .action(async (flags: ListenFlags, command: Command) => {
      const duration = parseSecondsFlag(flags.duration, "--duration");
      const ctx = env.context(command);
      const agent = ctx.settings.agent;
      const patterns = [...(flags.broadcast ? [LEGACY_BROADCAST_PATTERN] : []), ...flags.topic];
      for (const pattern of patterns) await ctx.client.subscribe(pattern, { agent });

      const stream = ctx.client.messages({
        agent,
        max: 10,
        waitSeconds: Math.min(POLL_SECONDS, duration ?? POLL_SECONDS),
      });
      const timer =
        duration === undefined ? undefined : setTimeout(() => void stream.drain(), duration * 1_000);
      let interrupts = 0;
      const stopWatching = ctx.io.onInterrupt(() => {
        interrupts++;
        void (interrupts === 1 ? stream.drain() : stream.close());
      });
      try {
        for await (const received of stream) {
          ctx.out(
            flags.json === true
              ? JSON.stringify(received.message)
              : messageLine(received.message, received.attempt),
          );
          await received.ack();
        }
      } finally {
        clearTimeout(timer);
        stopWatching();
      }
    });
}
