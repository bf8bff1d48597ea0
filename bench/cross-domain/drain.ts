import { performance } from "node:perf_hooks";
import type { Message } from "../../core/envelope.js";
import { SidecarProducer, WsConsumer } from "../sidecar/peers.js";

export interface DrainOptions {
  /** Sidecar the agents send through (domain a). */
  sendUrl: string;
  /** Sidecar the worker receives from (a for the local peer, b for cross-domain). */
  receiveUrl: string;
  /** The worker's name in the receiving domain. */
  worker: string;
  /** What senders put in `to`: `worker` (local) or `worker@b`. */
  to: string;
  messages: number;
  /** Messages per `POST /v1/messages:batch`. */
  batch: number;
  /** Sending agents, each with one batch outstanding. */
  senders: number;
  /** WebSocket credit of the worker. */
  credit: number;
  makeMessage: () => Message;
}

export interface DrainResult {
  messages: number;
  /** First send → last message acked by the worker. */
  elapsedMs: number;
  /** First send → last batch accepted (202) by the sending sidecar. */
  acceptedMs: number;
}

/** No delivery for this long means something is lost or stuck: fail instead of hanging. */
const STALL_MS = 20_000;

/**
 * A fixed number of messages from `senders` agents, each sending batches back to back (one outstanding), as fast
 * as the sending sidecar accepts them; the worker drains over the WebSocket stream (acks over the socket). Nothing
 * bounds the backlog between them, so the figure is what the whole path sustains, whichever part is slowest.
 */
export async function runDrain(options: DrainOptions): Promise<DrainResult> {
  const pending = new Set<string>();
  let settled = 0;
  let progressAt = performance.now();
  let finish: (error?: unknown) => void = () => undefined;
  const done = new Promise<void>((resolve, reject) => {
    finish = (error?: unknown) => {
      if (error === undefined) resolve();
      else reject(error instanceof Error ? error : new Error(JSON.stringify(error)));
    };
  });
  const consumer = new WsConsumer(options.receiveUrl, options.worker, options.credit);
  const producers = Array.from(
    { length: options.senders },
    () => new SidecarProducer(options.sendUrl, options.to, "batch", 1),
  );
  await consumer.start({
    delivered: () => undefined,
    settled: (id) => {
      if (!pending.delete(id)) return; // a redelivery of one already counted
      progressAt = performance.now();
      if (++settled === options.messages) finish();
    },
    failed: finish,
  });
  let remaining = options.messages;
  const begin = performance.now();
  progressAt = begin;
  const stall = setInterval(() => {
    if (performance.now() - progressAt > STALL_MS)
      finish(new Error(`stalled at ${settled} of ${options.messages} acked by ${options.worker}`));
  }, 1_000);
  let acceptedMs = Number.NaN;
  try {
    const sending = Promise.all(
      producers.map(async (producer) => {
        while (remaining > 0) {
          const count = Math.min(options.batch, remaining);
          remaining -= count;
          const batch = Array.from({ length: count }, options.makeMessage);
          for (const message of batch) pending.add(message.id);
          await producer.send(batch);
        }
      }),
    ).then(() => {
      acceptedMs = performance.now() - begin;
    });
    sending.catch(finish);
    await done;
    const elapsedMs = performance.now() - begin;
    await sending;
    return { messages: options.messages, elapsedMs, acceptedMs };
  } finally {
    clearInterval(stall);
    await consumer.stop();
    await Promise.all(producers.map((producer) => producer.close()));
  }
}
