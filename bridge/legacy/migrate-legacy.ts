/**
 * `bmn migrate legacy`: copies what the legacy network holds for later delivery into BMN, once. Presence keys
 * become registry entries; every mailbox entry not yet read (after the group's last-delivered id) and every entry
 * read but never acknowledged (the group's pending-entries list) becomes a durable BMN message for the mailbox's
 * agent. With `apply`, the group is then advanced and the pending entries acknowledged, so a second run finds
 * nothing; BMN's dedupe (the legacy id is kept) makes a run that stopped half-way safe to repeat. Entries stay in
 * the stream: moving the group back (the rollback line printed per mailbox) hands them to the legacy agent again.
 */
import { Redis } from "ioredis";
import { BmnClient } from "../../client/index.js";
import { LEGACY_ORIGIN } from "./legacy-directory.js";
import { legacyToBmn } from "./legacy-mapping.js";
import {
  DEFAULT_MAILBOX_PREFIX,
  PRESENCE_PREFIX,
  PRESENCE_SET,
  bmnNameOf,
  mailboxGroup,
  parseMailboxEntry,
  parsePresence,
} from "./legacy-protocol.js";

export interface MigrateOptions {
  redisUrl: string;
  bmnUrl: string;
  apiToken?: string | undefined;
  apply: boolean;
  mailboxPrefixes?: readonly string[] | undefined;
}

export interface PresencePlan {
  legacyId: string;
  agent: string;
  capabilities: string[];
  /** `register`: not in BMN yet; `present`: BMN already has it. */
  action: "register" | "present";
}

export interface MailboxPlan {
  stream: string;
  group: string;
  agent: string;
  unread: number;
  pending: number;
  /** Entries that are not legacy messages; left where they are. */
  invalid: number;
  moved: number;
  duplicates: number;
  /**
   * `XGROUP SETID <stream> <group> <it>` hands everything moved back to the legacy group: the id before the first
   * pending entry, else the last-delivered id before the run.
   */
  rollbackId: string;
}

export interface MigrationReport {
  applied: boolean;
  presence: PresencePlan[];
  mailboxes: MailboxPlan[];
}

const SCAN_BATCH = 500;
const READ_BATCH = 500;

type Entry = [string, string[]];

export async function migrateLegacy(options: MigrateOptions): Promise<MigrationReport> {
  const redis = new Redis(options.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 2 });
  const client = new BmnClient({ url: options.bmnUrl, apiToken: options.apiToken });
  await redis.connect();
  try {
    const known = new Map((await client.agents()).map((record) => [record.name, record]));
    const presence = await planPresence(redis, known);
    if (options.apply) {
      for (const plan of presence.filter((p) => p.action === "register")) {
        const ttl = await redis.pttl(`${PRESENCE_PREFIX}${plan.legacyId}`);
        await client.register({
          agent: plan.agent,
          capabilities: plan.capabilities,
          metadata: { origin: LEGACY_ORIGIN, legacyid: plan.legacyId },
          ttlSeconds: Math.max(1, Math.ceil((ttl > 0 ? ttl : 300_000) / 1000)),
        });
      }
    }
    const mailboxes: MailboxPlan[] = [];
    for (const prefix of options.mailboxPrefixes ?? [DEFAULT_MAILBOX_PREFIX, "mailbox"]) {
      for (const stream of await scanKeys(redis, `${prefix}:*:in`)) {
        const legacyAgent = stream.slice(prefix.length + 1, -":in".length);
        const agent = bmnNameOf(legacyAgent);
        if (agent === undefined || legacyAgent.includes(":")) continue;
        mailboxes.push(await migrateMailbox(redis, client, stream, legacyAgent, agent, options.apply));
      }
    }
    return { applied: options.apply, presence, mailboxes };
  } finally {
    redis.disconnect();
  }
}

async function planPresence(
  redis: Redis,
  known: Map<string, { capabilities: string[] }>,
): Promise<PresencePlan[]> {
  const plans: PresencePlan[] = [];
  for (const legacyId of await redis.smembers(PRESENCE_SET)) {
    const value = await redis.get(`${PRESENCE_PREFIX}${legacyId}`);
    if (value === null) continue; // lapsed: offline, nothing to copy
    const parsed = parsePresence(value);
    const agent = bmnNameOf(legacyId);
    if (!parsed.ok || agent === undefined) continue;
    plans.push({
      legacyId,
      agent,
      capabilities: parsed.value.capabilities,
      action: known.has(agent) ? "present" : "register",
    });
  }
  return plans;
}

async function migrateMailbox(
  redis: Redis,
  client: BmnClient,
  stream: string,
  legacyAgent: string,
  agent: string,
  apply: boolean,
): Promise<MailboxPlan> {
  const group = mailboxGroup(legacyAgent);
  const lastDelivered = await groupLastDelivered(redis, stream, group);
  const pendingIds = await pendingEntryIds(redis, stream, group);
  const pending = await entriesById(redis, stream, pendingIds);
  const unread = await entriesAfter(redis, stream, lastDelivered ?? "0-0");
  const plan: MailboxPlan = {
    stream,
    group,
    agent,
    unread: unread.length,
    pending: pending.length,
    invalid: 0,
    moved: 0,
    duplicates: 0,
    rollbackId: pendingIds[0] === undefined ? (lastDelivered ?? "0-0") : idBefore(pendingIds[0]),
  };
  const movedPending: string[] = [];
  let lastMoved: string | undefined;
  for (const [entryId, fields] of [...pending, ...unread]) {
    const parsed = parseMailboxEntry(fields);
    if (!parsed.ok) {
      plan.invalid++;
      continue;
    }
    if (!apply) continue;
    const from = bmnNameOf(parsed.value.source) ?? "legacy";
    const result = await client.send(legacyToBmn(parsed.value, from, { to: agent }));
    if (result.duplicate) plan.duplicates++;
    else plan.moved++;
    if (pendingIds.includes(entryId)) movedPending.push(entryId);
    else lastMoved = entryId;
  }
  if (apply) {
    // Only after BMN stored them: the legacy group forgets what was moved.
    if (movedPending.length > 0) await redis.xack(stream, group, ...movedPending);
    const advanceTo = unread.at(-1)?.[0] ?? lastMoved;
    if (advanceTo !== undefined) {
      if (lastDelivered === undefined) await redis.xgroup("CREATE", stream, group, advanceTo, "MKSTREAM");
      else await redis.xgroup("SETID", stream, group, advanceTo);
    }
  }
  return plan;
}

async function scanKeys(redis: Redis, pattern: string): Promise<string[]> {
  const keys = new Set<string>();
  let cursor = "0";
  do {
    const [next, batch] = await redis.scan(cursor, "MATCH", pattern, "COUNT", SCAN_BATCH, "TYPE", "stream");
    cursor = next;
    for (const key of batch) keys.add(key);
  } while (cursor !== "0");
  return [...keys].sort();
}

/** The group's last-delivered id, or undefined when the group does not exist. */
async function groupLastDelivered(redis: Redis, stream: string, group: string): Promise<string | undefined> {
  const groups = (await redis.xinfo("GROUPS", stream)) as unknown[][];
  for (const info of groups) {
    const fields = new Map<string, unknown>();
    for (let i = 0; i + 1 < info.length; i += 2) fields.set(String(info[i]), info[i + 1]);
    if (fields.get("name") === group) return String(fields.get("last-delivered-id"));
  }
  return undefined;
}

async function pendingEntryIds(redis: Redis, stream: string, group: string): Promise<string[]> {
  const ids: string[] = [];
  let start = "-";
  for (;;) {
    let batch: [string, string, number, number][];
    try {
      batch = (await redis.xpending(stream, group, start, "+", READ_BATCH)) as [
        string,
        string,
        number,
        number,
      ][];
    } catch (error) {
      if (error instanceof Error && error.message.startsWith("NOGROUP")) return [];
      throw error;
    }
    for (const [id] of batch) ids.push(id);
    if (batch.length < READ_BATCH) return ids;
    start = `(${batch.at(-1)?.[0] ?? ""}`;
  }
}

async function entriesById(redis: Redis, stream: string, ids: readonly string[]): Promise<Entry[]> {
  const entries: Entry[] = [];
  for (const id of ids) {
    const [entry] = (await redis.xrange(stream, id, id)) as Entry[];
    if (entry !== undefined) entries.push(entry);
  }
  return entries;
}

async function entriesAfter(redis: Redis, stream: string, after: string): Promise<Entry[]> {
  const entries: Entry[] = [];
  let start = `(${after}`;
  for (;;) {
    const batch = (await redis.xrange(stream, start, "+", "COUNT", READ_BATCH)) as Entry[];
    entries.push(...batch);
    if (batch.length < READ_BATCH) return entries;
    start = `(${batch.at(-1)?.[0] ?? after}`;
  }
}

/** The stream id just before `id` (`5-0` → `4-18446744073709551615`). */
export function idBefore(id: string): string {
  const [ms = "0", seq = "0"] = id.split("-");
  if (BigInt(seq) > 0n) return `${ms}-${BigInt(seq) - 1n}`;
  return BigInt(ms) > 0n ? `${BigInt(ms) - 1n}-18446744073709551615` : "0-0";
}
