import type { BmnClient, Delivery } from "../../client/index.js";
import { fullJitterBackoffMs } from "../../runtime/resilience/backoff.js";
import type { DeadLetters, Rejection } from "./dead-letters.js";
import { pause } from "./loops.js";

/** What a handler made of one BMN delivery: delivered (ack it), or a bad message to dead-letter at once. */
export type DeliveryOutcome = "ack" | Rejection;

/** `queue`: the BMN queue the delivery came from (the bridge's own, or an agent's it serves). */
export type DeliveryHandler = (delivery: Delivery, queue: string) => Promise<DeliveryOutcome>;

export interface QueuePumpOptions {
  /** Most deliveries taken per queue per round. */
  batch: number;
  /** The lease: longer than the slowest hand-over to the other side. */
  leaseSeconds: number;
  /** How long the bridge's own queue is long-polled when a round found nothing anywhere. */
  idleWaitSeconds: number;
  warn: (line: string) => void;
}

/**
 * Moves BMN deliveries out to the other side: each delivery is handed to the handler and acked only after the
 * handler resolved, so a crash in between redelivers it when its lease runs out (at least once). A handler that
 * throws (the other side is down) is retried with backoff while the lease is extended; a rejection dead-letters
 * the message with its reason. Parked bad inputs on the bridge's own queue are dead-lettered here too.
 */
export class BmnQueuePump {
  constructor(
    private readonly client: BmnClient,
    private readonly deadLetters: DeadLetters,
    private readonly ownQueue: string,
    private readonly options: QueuePumpOptions,
  ) {}

  /** One round over `queues` (the bridge's own queue first); resolves with how many deliveries it handled. */
  async round(queues: readonly string[], handler: DeliveryHandler, signal: AbortSignal): Promise<number> {
    let handled = 0;
    for (const queue of [this.ownQueue, ...queues.filter((q) => q !== this.ownQueue)]) {
      if (signal.aborted) break;
      const deliveries = await this.client.receive({
        agent: queue,
        max: this.options.batch,
        waitSeconds: 0,
        leaseSeconds: this.options.leaseSeconds,
        signal,
      });
      for (const delivery of deliveries) await this.settle(delivery, queue, handler, signal);
      handled += deliveries.length;
    }
    if (handled === 0 && !signal.aborted) {
      // Nothing anywhere: wait on the bridge's own queue (topics and parked rejections) instead of spinning.
      const deliveries = await this.client.receive({
        agent: this.ownQueue,
        max: this.options.batch,
        waitSeconds: this.options.idleWaitSeconds,
        leaseSeconds: this.options.leaseSeconds,
        signal,
      });
      for (const delivery of deliveries) await this.settle(delivery, this.ownQueue, handler, signal);
      handled += deliveries.length;
    }
    return handled;
  }

  private async settle(
    delivery: Delivery,
    queue: string,
    handler: DeliveryHandler,
    signal: AbortSignal,
  ): Promise<void> {
    if (await this.deadLetters.settleRejected(delivery)) return;
    let outcome: DeliveryOutcome | undefined;
    // The other side being away is no fault of the message: retry here (holding the lease) instead of nacking,
    // which would spend the message's delivery attempts and could dead-letter it during a broker restart.
    for (let failures = 0; outcome === undefined;) {
      try {
        outcome = await handler(delivery, queue);
      } catch (error) {
        failures++;
        const delayMs = fullJitterBackoffMs(failures, 200, 15_000);
        const why = error instanceof Error ? error.message : String(error);
        if (signal.aborted) {
          await this.client.nack(delivery.leaseId, { delayMs: 0, reason: why.slice(0, 1_000) });
          return;
        }
        this.options.warn(`could not hand over ${delivery.message.id}, retrying in ${delayMs} ms: ${why}`);
        await this.client.extend(delivery.leaseId, delayMs + this.options.leaseSeconds * 1000);
        await pause(delayMs, signal);
      }
    }
    if (outcome === "ack") await this.client.ack(delivery.leaseId);
    else
      await this.client.nack(delivery.leaseId, {
        deadLetterReason: outcome.reason,
        reason: outcome.detail.slice(0, 1_000),
      });
  }
}
