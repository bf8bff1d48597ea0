import type { MessageInput, SendResult } from "../client/index.js";
import type { Context } from "./context.js";
import { UsageError } from "./errors.js";
import { legacyBroadcastTopic, legacyPriorityToBmn, parseIntFlag } from "./legacy.js";
import { unknownAgentWarning } from "./suggest.js";

/** The message argument: the text itself, or all of stdin for `-` (one trailing newline dropped). */
export async function messageText(ctx: Context, value: string | undefined, usage: string): Promise<string> {
  if (value === undefined) throw new UsageError(`missing the message — usage: ${usage}`);
  const text = value === "-" ? (await ctx.io.readStdin()).replace(/\r?\n$/, "") : value;
  if (text.trim() === "") {
    throw new UsageError(value === "-" ? "the message read from stdin is empty" : "the message is empty");
  }
  return text;
}

/** `--json`: the text is the message's data as JSON. */
export function parseJsonData(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    throw new UsageError(`--json: the message is not valid JSON (${why})`);
  }
}

export interface Delivered {
  result: SendResult;
  line: string;
}

/**
 * Sends (with `to`) or publishes (with `topic`), then says what happened. A send to an agent nobody registered,
 * while others are, warns with close matches from the registry; it still goes through, since a queue is a mailbox
 * that its agent may read later.
 */
export async function deliver(ctx: Context, message: MessageInput): Promise<Delivered> {
  const result = await ctx.client.send(message);
  if (message.to !== undefined && !message.to.includes("@")) {
    const warning = await registryWarning(ctx, message.to);
    if (warning !== undefined) ctx.warn(warning);
  }
  if (message.topic !== undefined && !result.duplicate && result.recipients?.length === 0) {
    ctx.warn(
      `no agent is subscribed to a pattern matching topic ${JSON.stringify(message.topic)}; nobody got it`,
    );
  }
  return { result, line: resultLine(message, result) };
}

async function registryWarning(ctx: Context, to: string): Promise<string | undefined> {
  try {
    const agents = await ctx.client.agents();
    return unknownAgentWarning(
      to,
      agents.map((agent) => agent.name),
    );
  } catch {
    return undefined; // The suggestion is a courtesy; the send already succeeded.
  }
}

export function resultLine(message: MessageInput, result: SendResult): string {
  if (result.duplicate) return `duplicate: ${result.id} was already accepted, so it was not queued again`;
  if (message.topic !== undefined) {
    const recipients = result.recipients ?? [];
    const who = recipients.length === 0 ? "no recipients" : `recipients: ${recipients.join(", ")}`;
    return `published ${result.id} to topic ${message.topic} (${who})`;
  }
  return `sent ${result.id} to ${message.to ?? "?"}`;
}

/** The flags `status` and `collab` share with the legacy CLI. */
export interface LegacyFlags {
  source?: string;
  target?: string;
  priority?: string;
  json?: boolean;
}

/** Parses the legacy flags that need no sidecar: call before anything touches the network. */
export function legacyPriority(flags: LegacyFlags): number | undefined {
  const legacy = parseIntFlag(flags.priority, "--priority", 1, 10);
  return legacy === undefined ? undefined : legacyPriorityToBmn(legacy);
}

/**
 * Legacy semantics: with `--target` the message goes to that agent; without, it is a broadcast, published to
 * `beast.<type>`, which every `bmn listen` subscribes to.
 */
export async function sendLegacy(
  ctx: Context,
  type: string,
  data: Record<string, unknown>,
  flags: LegacyFlags,
  priority: number | undefined,
): Promise<void> {
  const message: MessageInput = {
    type,
    data,
    from: flags.source ?? ctx.settings.agent,
    ...(flags.target === undefined ? { topic: legacyBroadcastTopic(type) } : { to: flags.target }),
    ...(priority === undefined ? {} : { priority }),
  };
  const { result, line } = await deliver(ctx, message);
  ctx.out(flags.json === true ? JSON.stringify({ ...result, message }) : line);
}
