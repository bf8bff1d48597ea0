import type { Message } from "../core/envelope.js";
import { TiDBStore } from "../sidecar/store/sql/tidb-store.js";
import type { BenchQueue, Received } from "./bench-queue.js";
import { BENCH_AGENT } from "./store-queue.js";

/** Tables of one case get a prefix of their own, so every case starts from empty tables (like FLUSHALL). */
let prefixes = 0;
export function freshTablePrefix(): string {
  prefixes++;
  return `bench${prefixes}_`;
}

/** TiDBStore (run here on MariaDB) with traces off, behind the benchmark's queue shape. */
export class SqlQueue implements BenchQueue {
  private constructor(
    readonly label: string,
    readonly store: TiDBStore,
  ) {}

  /** Two queues given the same prefix share tables, like two sidecars on one database. */
  static async connect(url: string, label: string, tablePrefix = freshTablePrefix()): Promise<SqlQueue> {
    const store = await TiDBStore.connect(url, {
      tablePrefix,
      policy: { traceRetentionMs: 0 },
    });
    return new SqlQueue(label, store);
  }

  async enqueue(message: Message): Promise<void> {
    await this.store.enqueue(BENCH_AGENT, message);
  }

  async receiveOne(): Promise<Received | undefined> {
    // waitMs 0: a plain poll, as on the Redis side of the store benchmark.
    const [delivery] = await this.store.receive(BENCH_AGENT, { max: 1, waitMs: 0 });
    if (delivery === undefined) return undefined;
    return { messageId: delivery.message.id, ack: () => this.store.ack(delivery.leaseId) };
  }

  async drain(): Promise<void> {
    // Traces are off and every write is awaited; a round trip is all that is left to wait for.
    await this.store.ping();
  }

  async close(): Promise<void> {
    await this.store.close();
  }
}
