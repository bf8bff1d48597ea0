import type { Command } from "commander";
import type { AgentRecord, DeadLetter, QueuedMessage } from "../../client/index.js";
import { isBmnClientError } from "../../client/index.js";
import type { CommandEnv } from "../context.js";
import { duration, table } from "../format.js";

/** Messages shown per state: enough to see the head of the line. */
const SHOWN = 5;

/**
 * `bmn inspect <agent>`: one agent's queue at a glance, in one screen: counts, registration, subscriptions, the
 * head of the ready line, what is leased and until when, and the dead letters by reason. All reads.
 */
export function registerInspect(program: Command, env: CommandEnv): void {
  program
    .command("inspect")
    .description(
      "one agent's queue at a glance: counts, registration, subscriptions, head of line, dead letters",
    )
    .argument("<agent>", "the agent (or outbox) to inspect")
    .option("--json", "print everything as one JSON object")
    .action(async (agent: string, flags: { json?: boolean }, command: Command) => {
      const ctx = env.context(command);
      const client = ctx.client;
      const [stats, registration, subscriptions, ready, delayed, leased, letters] = await Promise.all([
        client.stats(agent),
        client.agents().then((agents) => agents.find((record) => record.name === agent)),
        client.subscriptions({ agent }).catch((error: unknown) => {
          // An outbox has no subscriptions: its name is not an agent's.
          if (isBmnClientError(error) && error.status === 400) return [];
          throw error;
        }),
        client.browse(agent, { state: "ready", limit: SHOWN }),
        client.browse(agent, { state: "delayed", limit: SHOWN }),
        client.browse(agent, { state: "leased", limit: SHOWN }),
        client.dlq.list({ agent, limit: 1_000 }),
      ]);
      if (flags.json === true) {
        ctx.out(
          JSON.stringify({
            stats,
            registration: registration ?? null,
            subscriptions: subscriptions.map((s) => s.pattern),
            ready: ready.messages,
            delayed: delayed.messages,
            leased: leased.messages,
            deadLetters: byReason(letters),
          }),
        );
        return;
      }
      const now = Date.now();
      const out = (line: string): void => {
        ctx.out(line);
      };
      ctx.out(
        `${agent}: ${stats.depth} waiting (${stats.ready} ready, ${stats.delayed} delayed), ${stats.inFlight} in flight, ${stats.deadLettered} dead-lettered`,
      );
      ctx.out(registrationLine(registration, now));
      ctx.out(
        `subscriptions: ${subscriptions.length === 0 ? "none" : subscriptions.map((s) => s.pattern).join(", ")}`,
      );
      section(out, `next ready (${ready.messages.length} of ${stats.ready})`, ready.messages, (m) => [
        m.message.id,
        m.message.type,
        m.message.time === undefined ? "-" : `${duration(now - Date.parse(m.message.time))} old`,
        `attempt ${m.attempts + 1}`,
      ]);
      section(out, `delayed (${delayed.messages.length} of ${stats.delayed})`, delayed.messages, (m) => [
        m.message.id,
        m.message.type,
        m.dueAt === undefined ? "-" : `visible in ${duration(m.dueAt - now)}`,
        `attempts ${m.attempts}`,
      ]);
      section(out, `leased (${leased.messages.length} of ${stats.inFlight})`, leased.messages, (m) => [
        m.message.id,
        m.message.type,
        m.dueAt === undefined ? "-" : `lease ends in ${duration(m.dueAt - now)}`,
        `attempt ${m.attempts}`,
      ]);
      const reasons = byReason(letters);
      ctx.out(
        `dead letters: ${
          Object.keys(reasons).length === 0
            ? "none"
            : Object.entries(reasons)
                .map(([reason, count]) => `${count} ${reason}`)
                .join(", ")
        }${letters.length >= 1_000 ? " (of the first 1000)" : ""}`,
      );
    });
}

function registrationLine(record: AgentRecord | undefined, now: number): string {
  if (record === undefined) return "registration: none";
  const capabilities =
    record.capabilities.length === 0 ? "" : `, capabilities ${record.capabilities.join(", ")}`;
  return `registration: last heartbeat ${duration(now - record.lastSeenAt)} ago, expires in ${duration(record.expiresAt - now)}${capabilities}`;
}

function section(
  out: (line: string) => void,
  title: string,
  messages: QueuedMessage[],
  row: (message: QueuedMessage) => string[],
): void {
  if (messages.length === 0) return;
  out(`${title}:`);
  for (const line of table(["ID", "TYPE", "WHEN", "ATTEMPTS"], messages.map(row))) out(`  ${line}`);
}

function byReason(letters: DeadLetter[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const letter of letters) counts[letter.reason] = (counts[letter.reason] ?? 0) + 1;
  return counts;
}
