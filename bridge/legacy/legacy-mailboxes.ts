/**
 * The legacy mailbox streams `<prefix>:<agent>:in`, read through the group `<agent>:group`. The bridge reads the
 * mailboxes of BMN agents (and acks an entry only after BMN stored it) and writes the mailboxes of legacy agents
 * (at most once per BMN message id, so a redelivery after a crash adds no second entry).
 */
import type { Redis } from "ioredis";
import { mailboxFields, mailboxGroup, mailboxStream, type LegacyMessage } from "./legacy-protocol.js";

/** How long the bridge remembers which BMN message ids it wrote into a mailbox (the dedupe window). */
const WRITTEN_TTL_SECONDS = 7 * 24 * 3600;

/**
 * XADD once per message id: the marker key shares the stream key's hash slot (`{stream}`), so this also runs on
 * a Redis Cluster. Answers the entry id, or false when the id was written before.
 */
const XADD_ONCE = `
if redis.call('SET', KEYS[2], '1', 'NX', 'EX', ARGV[1]) then
  return redis.call('XADD', KEYS[1], '*', unpack(ARGV, 2))
end
return false`;

export interface MailboxEntryRead {
  stream: string;
  group: string;
  entryId: string;
  /** Null when the entry was deleted from the stream while pending. */
  fields: string[] | null;
}

type StreamReply = [string, [string, string[] | null][]][] | null;

export class LegacyMailboxes {
  /** Streams whose own pending entries (left by a previous run) were read already. */
  private readonly pendingRead = new Set<string>();
  private readonly groupsMade = new Set<string>();

  constructor(
    private readonly redis: Redis,
    /** The first one is where the bridge writes; all are read. */
    private readonly prefixes: readonly string[],
    private readonly consumer: string,
  ) {}

  /** Up to `count` entries per mailbox of `agent`: first this consumer's pending ones, then new ones. */
  async read(agent: string, count: number): Promise<MailboxEntryRead[]> {
    const entries: MailboxEntryRead[] = [];
    const group = mailboxGroup(agent);
    for (const prefix of this.prefixes) {
      const stream = mailboxStream(prefix, agent);
      // Only mailboxes that exist: the bridge does not create a stream for every BMN agent in the legacy Redis.
      if (!(await this.ensureGroup(stream, group, "0", false))) continue;
      const pending = !this.pendingRead.has(stream);
      let reply: StreamReply;
      try {
        reply = (await this.redis.xreadgroup(
          "GROUP",
          group,
          this.consumer,
          "COUNT",
          count,
          "STREAMS",
          stream,
          pending ? "0" : ">",
        )) as StreamReply;
      } catch (error) {
        // The stream or group was deleted since: make the group again next round.
        if (!(error instanceof Error && error.message.startsWith("NOGROUP"))) throw error;
        this.groupsMade.delete(stream);
        continue;
      }
      const read = reply?.[0]?.[1] ?? [];
      if (pending && read.length === 0) this.pendingRead.add(stream);
      for (const [entryId, fields] of read) entries.push({ stream, group, entryId, fields });
    }
    return entries;
  }

  /** The next read of `stream` starts with this consumer's pending entries again (after a failed hand-over). */
  rereadPending(stream: string): void {
    this.pendingRead.delete(stream);
  }

  async ack(entry: MailboxEntryRead): Promise<void> {
    await this.redis.xack(entry.stream, entry.group, entry.entryId);
  }

  /** Writes `message` into the mailbox of the legacy agent `legacyId`; false when it was written before. */
  async write(legacyId: string, message: LegacyMessage): Promise<boolean> {
    const prefix = this.prefixes[0];
    if (prefix === undefined) throw new Error("no mailbox prefix configured");
    const stream = mailboxStream(prefix, legacyId);
    // A group made now starts at the end, so the agent reads exactly what arrives from here on.
    await this.ensureGroup(stream, mailboxGroup(legacyId), "$", true);
    const written = await this.redis.eval(
      XADD_ONCE,
      2,
      stream,
      `bmn-bridge:written:{${stream}}:${message.id}`,
      WRITTEN_TTL_SECONDS,
      ...mailboxFields(message),
    );
    return written !== null;
  }

  /** Makes the group unless it exists; false when the stream does not exist and `create` is off. */
  private async ensureGroup(
    stream: string,
    group: string,
    from: "0" | "$",
    create: boolean,
  ): Promise<boolean> {
    if (this.groupsMade.has(stream)) return true;
    try {
      if (create) await this.redis.xgroup("CREATE", stream, group, from, "MKSTREAM");
      else await this.redis.xgroup("CREATE", stream, group, from);
    } catch (error) {
      const message = error instanceof Error ? error.message : "";
      if (!create && message.includes("requires the key to exist")) return false;
      if (!message.startsWith("BUSYGROUP")) throw error;
    }
    this.groupsMade.add(stream);
    return true;
  }
}
