import { performance } from "node:perf_hooks";
import type { Message } from "../../core/envelope.js";
import type { BenchQueue } from "./bench-queue.js";

export interface ClosedLoopOptions {
  /** Workers, each with one message in flight at a time. */
  concurrency: number;
  /** Full cycles to run across all workers. */
  messages: number;
  makeMessage: () => Message;
}

export interface ClosedLoopResult {
  elapsedMs: number;
  messages: number;
  /** Per message: enqueue start to ack done, in ms. */
  latencies: number[];
  /** Per cycle, the time of each call the worker made, in ms. */
  phases: { enqueue: number[]; receive: number[]; ack: number[] };
  /** Receives that found nothing and were retried (expected to stay 0). */
  emptyPolls: number;
}

/**
 * `concurrency` workers each loop send → receive → ack until `messages` cycles are done. A worker enqueues
 * before it receives, so there is always a message for every receive; it may lease another worker's message,
 * which is why latency is keyed by message id rather than by worker.
 */
export async function runClosedLoop(
  queue: BenchQueue,
  options: ClosedLoopOptions,
): Promise<ClosedLoopResult> {
  const started = new Map<string, number>();
  const result: ClosedLoopResult = {
    elapsedMs: 0,
    messages: options.messages,
    latencies: [],
    phases: { enqueue: [], receive: [], ack: [] },
    emptyPolls: 0,
  };
  let issued = 0;

  const worker = async (): Promise<void> => {
    while (issued < options.messages) {
      issued++;
      const message = options.makeMessage();
      const t0 = performance.now();
      started.set(message.id, t0);
      await queue.enqueue(message);
      const t1 = performance.now();
      let received = await queue.receiveOne();
      while (received === undefined) {
        result.emptyPolls++;
        received = await queue.receiveOne();
      }
      const t2 = performance.now();
      await received.ack();
      const t3 = performance.now();
      const start = started.get(received.messageId);
      if (start === undefined)
        throw new Error(`${queue.label}: received unknown message ${received.messageId}`);
      started.delete(received.messageId);
      result.latencies.push(t3 - start);
      result.phases.enqueue.push(t1 - t0);
      result.phases.receive.push(t2 - t1);
      result.phases.ack.push(t3 - t2);
    }
  };

  const begin = performance.now();
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  // Work the queue left in flight (trace writes) is part of the cost of these messages.
  await queue.drain();
  result.elapsedMs = performance.now() - begin;
  if (started.size > 0) throw new Error(`${queue.label}: ${started.size} messages were never received`);
  return result;
}
