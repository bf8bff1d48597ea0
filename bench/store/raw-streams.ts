import { Redis } from "ioredis";
import type { Message } from "../../core/envelope.js";
import type { BenchQueue, Received } from "../shared/bench-queue.js";

const STREAM = "bench:raw:stream";

const GROUP = "bench";

/**
 * The peer: a queue built directly on one Redis Stream and consumer group, with nothing but XADD,
 * XREADGROUP and XACK. Same connection settings as RedisStore's command client (one connection,
 * auto-pipelining), and the consumer parses the JSON like the store does, so the gap between the two is
 * what the store adds on top of plain Redis.
 */
export class RawStreamQueue implements BenchQueue {
  static readonly STREAM = STREAM;
  readonly label = "raw stream";

  private constructor(
    private readonly client: Redis,
    private readonly consumer: string,
  ) {}

  static async connect(url: string, consumer = "c1"): Promise<RawStreamQueue> {
    const client = new Redis(url, { enableAutoPipelining: true, lazyConnect: true });
    await client.connect();
    // BUSYGROUP means an earlier case on this server already made the group.
    await client.xgroup("CREATE", STREAM, GROUP, "$", "MKSTREAM").catch((error: unknown) => {
      if (!(error instanceof Error && error.message.startsWith("BUSYGROUP"))) throw error;
    });
    return new RawStreamQueue(client, consumer);
  }

  async enqueue(message: Message): Promise<void> {
    await this.client.xadd(STREAM, "*", "m", JSON.stringify(message));
  }

  async receiveOne(): Promise<Received | undefined> {
    const reply = (await this.client.xreadgroup(
      "GROUP",
      GROUP,
      this.consumer,
      "COUNT",
      1,
      "STREAMS",
      STREAM,
      ">",
    )) as [string, [string, string[]][]][] | null;
    const entry = reply?.[0]?.[1][0];
    const json = entry?.[1][1];
    if (entry === undefined || json === undefined) return undefined;
    const entryId = entry[0];
    const message = JSON.parse(json) as Message;
    return { messageId: message.id, ack: () => this.ack(entryId) };
  }

  private async ack(entryId: string): Promise<void> {
    await this.client.xack(STREAM, GROUP, entryId);
  }

  async drain(): Promise<void> {
    // One connection answers in order, so a PING's reply means everything sent before it is done.
    await this.client.ping();
  }

  async close(): Promise<void> {
    await this.client.quit();
  }
}
