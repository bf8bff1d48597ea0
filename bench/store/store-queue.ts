import type { Message } from "../../core/envelope.js";
import { RedisStore } from "../../store/redis/redis-store.js";
import type { MessageStore } from "../../store/store.js";
import type { BenchQueue, Received } from "../shared/bench-queue.js";

export const BENCH_AGENT = "bench-agent";

/** A store (RedisStore unless said otherwise) behind the benchmark's queue shape: one agent queue, leases of one message. */
export class StoreQueue<S extends MessageStore = RedisStore> implements BenchQueue {
  static readonly KEY_PREFIX = "bench:";

  constructor(
    readonly label: string,
    readonly store: S,
  ) {}

  static async connect(url: string, traces: boolean): Promise<StoreQueue> {
    const store = await RedisStore.connect(
      { url },
      { keyPrefix: StoreQueue.KEY_PREFIX, policy: traces ? {} : { traceRetentionMs: 0 } },
    );
    return new StoreQueue(traces ? "store, traces on" : "store, traces off", store);
  }

  async enqueue(message: Message): Promise<void> {
    await this.store.enqueue(BENCH_AGENT, message);
  }

  async receiveOne(): Promise<Received | undefined> {
    // waitMs 0: a plain poll, like XREADGROUP without BLOCK on the raw side.
    const [delivery] = await this.store.receive(BENCH_AGENT, { max: 1, waitMs: 0 });
    if (delivery === undefined) return undefined;
    return { messageId: delivery.message.id, ack: () => this.store.ack(delivery.leaseId) };
  }

  async drain(): Promise<void> {
    // Redis: trace writes go out on the same connection without being awaited; a PING behind them waits for them.
    // SQL: traces are off here and every write is awaited, so the round trip is all that is left.
    await this.store.ping();
  }

  async close(): Promise<void> {
    await this.store.close();
  }
}
