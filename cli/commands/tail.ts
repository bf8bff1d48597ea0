import { randomBytes } from "node:crypto";
import type { Command } from "commander";
import type { BmnClient, Message } from "../../client/index.js";
import type { CommandEnv, Context } from "../context.js";
import { UsageError } from "../errors.js";
import { messageLine } from "../format.js";
import { parseSecondsFlag } from "../legacy.js";

interface TailFlags {
  topic?: string;
  duration?: string;
  interval?: string;
  fromStart?: boolean;
  json?: boolean;
}

/** Ids already printed, bounded: the oldest are forgotten first. */
const MAX_REMEMBERED = 50_000;
/** Messages a queue tail reads per state and poll: the head of the line, where new ready messages are not. */
const SCAN = 1_000;
const TOPIC_WAIT_SECONDS = 10;

/**
 * `bmn tail`: follows a queue or a topic without taking anything from anyone. A queue is browsed (ready and
 * leased messages, GET /v1/queues/{queue}/messages) every --interval and each message is printed once. A topic
 * gets a private tap queue subscribed to the pattern, removed again when the tail stops: the tap receives its own
 * copy of every published message, so other subscribers lose nothing.
 */
export function registerTail(program: Command, env: CommandEnv): void {
  program
    .command("tail")
    .description("follow a queue (or --topic) live, printing each message once, without consuming it")
    .argument("[queue]", "the agent (or outbox) whose queue to follow")
    .option("--topic <pattern>", "follow a topic pattern instead (orders.*, audit.#)")
    .option("--duration <seconds>", "stop after this many seconds (default: until Ctrl-C)")
    .option("--interval <seconds>", "how often a queue is browsed (default 1)")
    .option("--from-start", "print the messages already in the queue too (default: only new ones)")
    .option("--json", "print each message as one JSON line")
    .addHelpText(
      "after",
      `
A queue tail sees what is queued or leased when it looks: a message taken and acked between two looks is not
printed. A topic tail sees every message published to the pattern while it runs.

Examples:
  bmn tail reviewer
  bmn tail --topic 'orders.#' --json | jq .data`,
    )
    .action(async (queue: string | undefined, flags: TailFlags, command: Command) => {
      if ((queue === undefined) === (flags.topic === undefined))
        throw new UsageError("name a queue or --topic <pattern>, not both and not neither");
      const duration = parseSecondsFlag(flags.duration, "--duration");
      const interval = parseSecondsFlag(flags.interval, "--interval", 3_600) ?? 1;
      const ctx = env.context(command);
      const stop = new AbortController();
      const timer =
        duration === undefined
          ? undefined
          : setTimeout(() => {
              stop.abort();
            }, duration * 1_000);
      const stopWatching = ctx.io.onInterrupt(() => {
        stop.abort();
      });
      const print = (message: Message): void => {
        ctx.out(flags.json === true ? JSON.stringify(message) : messageLine(message));
      };
      try {
        if (flags.topic !== undefined) await tailTopic(ctx.client, flags.topic, print, stop.signal);
        else if (queue !== undefined)
          await tailQueue(
            ctx,
            queue,
            { intervalMs: interval * 1_000, fromStart: flags.fromStart === true },
            print,
            stop.signal,
          );
      } finally {
        clearTimeout(timer);
        stopWatching();
      }
    });
}

async function tailQueue(
  ctx: Context,
  queue: string,
  options: { intervalMs: number; fromStart: boolean },
  print: (message: Message) => void,
  signal: AbortSignal,
): Promise<void> {
  const seen = new Set<string>();
  let first = true;
  while (!signal.aborted) {
    for (const state of ["ready", "leased"] as const) {
      const page = await ctx.client.browse(queue, { state, limit: SCAN });
      for (const { message } of page.messages) {
        if (seen.has(message.id)) continue;
        remember(seen, message.id);
        if (!first || options.fromStart) print(message);
      }
    }
    first = false;
    await pause(options.intervalMs, signal);
  }
}

async function tailTopic(
  client: BmnClient,
  pattern: string,
  print: (message: Message) => void,
  signal: AbortSignal,
): Promise<void> {
  const tap = `tail-${randomBytes(5).toString("hex")}`;
  await client.subscribe(pattern, { agent: tap });
  try {
    while (!signal.aborted) {
      let deliveries;
      try {
        deliveries = await client.receive({ agent: tap, max: 100, waitSeconds: TOPIC_WAIT_SECONDS, signal });
      } catch (error) {
        // Stopping aborts the long-poll in flight; anything else is a real failure.
        if ((error as Error).name === "AbortError" || stopped(signal)) break;
        throw error;
      }
      for (const delivery of deliveries) {
        print(delivery.message);
        await client.ack(delivery.leaseId);
      }
    }
  } finally {
    await client.unsubscribe(pattern, { agent: tap });
  }
}

/** Read through a function: the signal changes while awaits run, which flow analysis does not see. */
function stopped(signal: AbortSignal): boolean {
  return signal.aborted;
}

function remember(seen: Set<string>, id: string): void {
  seen.add(id);
  if (seen.size > MAX_REMEMBERED) {
    const oldest = seen.values().next().value;
    if (oldest !== undefined) seen.delete(oldest);
  }
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
  });
}
