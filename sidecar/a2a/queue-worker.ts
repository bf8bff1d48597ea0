import type { FastifyBaseLogger } from "fastify";
import type { Delivery, MessageStore } from "../../store/store.js";

const RECEIVE_WAIT_MS = 5_000;
const STORE_ERROR_PAUSE_MS = 1_000;

export interface QueueWorkerOptions {
  store: MessageStore;
  queue: string;
  /** Deliveries leased at once (a function: asked before each receive, for a worker that limits work in flight). */
  max: number | (() => number);
  leaseMs?: number | undefined;
  actor: string;
  log: FastifyBaseLogger;
  /** Handles one batch; it settles every delivery itself (ack or nack). */
  handle: (deliveries: Delivery[]) => Promise<void>;
}

/**
 * The sidecar's own consumer of one of its queues (push outbox, task inbox, a bridged remote): long-polls, hands
 * each batch over, and after a store error pauses and tries again; `stop()` ends it after the batch in hand.
 */
export class QueueWorker {
  private readonly stopping = new AbortController();
  private loop: Promise<void> | undefined;

  constructor(private readonly options: QueueWorkerOptions) {}

  start(): void {
    this.loop ??= this.run();
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    await this.loop;
  }

  /** Aborted once the worker stops: for work in hand that should end early (an HTTP call). */
  get signal(): AbortSignal {
    return this.stopping.signal;
  }

  private async run(): Promise<void> {
    const { store, queue, max, leaseMs, actor, log, handle } = this.options;
    const signal = this.stopping.signal;
    const stopped = (): boolean => signal.aborted;
    while (!stopped()) {
      let deliveries: Delivery[];
      try {
        deliveries = await store.receive(queue, {
          max: typeof max === "number" ? max : max(),
          waitMs: RECEIVE_WAIT_MS,
          leaseMs,
          signal,
          actor,
        });
      } catch (error) {
        if (stopped()) return;
        log.warn({ err: error, queue }, `${actor}: cannot read the queue; trying again`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(done, STORE_ERROR_PAUSE_MS);
          function done(): void {
            clearTimeout(timer);
            signal.removeEventListener("abort", done);
            resolve();
          }
          signal.addEventListener("abort", done);
        });
        continue;
      }
      await handle(deliveries);
    }
  }
}
