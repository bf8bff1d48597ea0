import { performance } from "node:perf_hooks";
import type { Message } from "../../core/envelope.js";

/** What a consumer reports back to the driver, by message id. */
export interface DeliverySink {
  /** The delivery reached the client (before it is acked). */
  delivered: (messageId: string) => void;
  /** Its ack was confirmed. */
  settled: (messageId: string) => void;
  /** A failure the driver must not count as a delivery. */
  failed: (error: unknown) => void;
}

export interface Producer {
  /** Sends these messages (in one batch where the peer batches) and resolves once they are accepted. */
  send(messages: Message[]): Promise<void>;
  close(): Promise<void>;
}

export interface Consumer {
  start(sink: DeliverySink): Promise<void>;
  /** Stops receiving once the driver has everything; waits for what it has in flight. */
  stop(): Promise<void>;
}

export interface WindowResult {
  messages: number;
  elapsedMs: number;
  /** Per message: send start → ack confirmed, in ms. */
  latencies: number[];
}

function toError(error: unknown): Error {
  return error instanceof Error
    ? error
    : new Error(typeof error === "string" ? error : JSON.stringify(error));
}

/** No ack for this long means something is lost or stuck: fail instead of hanging. */
const STALL_MS = 10_000;

/**
 * Keeps `window` messages in flight end to end (sent but not yet acked), like `window` closed-loop workers, but
 * lets each side batch: the producer has one send outstanding and sends every slot freed meanwhile as one batch;
 * the consumer receives and acks as it likes. Ends when `messages` are acked.
 */
export async function runWindow(
  producer: Producer,
  consumer: Consumer,
  options: { window: number; messages: number; makeMessage: () => Message },
): Promise<WindowResult> {
  const started = new Map<string, number>();
  const latencies: number[] = [];
  let sent = 0;
  let settled = 0;
  let sending = false;
  let progressAt = performance.now();
  let finish: (error?: unknown) => void = () => undefined;
  const done = new Promise<void>((resolve, reject) => {
    finish = (error?: unknown) => {
      if (error === undefined) resolve();
      else reject(toError(error));
    };
  });

  const pump = (): void => {
    if (sending) return;
    const count = Math.min(options.window - (sent - settled), options.messages - sent);
    if (count <= 0) return;
    sending = true;
    const batch = Array.from({ length: count }, options.makeMessage);
    const now = performance.now();
    for (const message of batch) started.set(message.id, now);
    sent += count;
    producer.send(batch).then(
      () => {
        sending = false;
        pump();
      },
      (error: unknown) => {
        finish(error);
      },
    );
  };

  await consumer.start({
    delivered: () => undefined,
    settled: (messageId) => {
      const start = started.get(messageId);
      if (start === undefined) return; // a redelivery of one already counted; the stall check would catch a loss
      started.delete(messageId);
      progressAt = performance.now();
      latencies.push(progressAt - start);
      settled++;
      if (settled === options.messages) finish();
      else pump();
    },
    failed: finish,
  });
  const begin = performance.now();
  progressAt = begin;
  const stall = setInterval(() => {
    if (performance.now() - progressAt > STALL_MS)
      finish(new Error(`stalled at ${settled} of ${options.messages} acked`));
  }, 1_000);
  pump();
  let elapsedMs: number;
  try {
    await done;
    // Taken before stop(): stopping waits out the consumer's last long-poll or BLOCK, which is no message's cost.
    elapsedMs = performance.now() - begin;
  } finally {
    clearInterval(stall);
    await consumer.stop();
  }
  return { messages: options.messages, elapsedMs, latencies };
}

export interface PacedResult {
  /** Messages sent in the measured part (after the warm-up). */
  measured: number;
  /** Per measured message: scheduled send time → delivery reached the client, in ms. */
  latencies: number[];
  /** Wall time of the measured part, in ms. */
  measuredMs: number;
}

/**
 * Open loop: sends one message every 1000/rate ms on a fixed schedule, whatever the answers do, for
 * `durationMs`; latency counts from the scheduled time, so a stalled sender shows up as latency instead of
 * silently lowering the rate. `onMeasureStart` / `onMeasureEnd` bracket the part after the warm-up.
 */
export async function runPaced(
  producer: Producer,
  consumer: Consumer,
  options: {
    rate: number;
    durationMs: number;
    warmupMs: number;
    makeMessage: () => Message;
    onMeasureStart?: () => void;
    onMeasureEnd?: () => void;
  },
): Promise<PacedResult> {
  const due = new Map<string, { at: number; measured: boolean }>();
  const latencies: number[] = [];
  const total = Math.round((options.rate * options.durationMs) / 1000);
  const warmup = Math.round((options.rate * options.warmupMs) / 1000);
  const interval = 1000 / options.rate;
  let delivered = 0;
  let failure: unknown;
  let allDelivered: () => void = () => undefined;
  const everything = new Promise<void>((resolve) => (allDelivered = resolve));
  const sends: Promise<void>[] = [];

  await consumer.start({
    delivered: (messageId) => {
      const entry = due.get(messageId);
      if (entry === undefined) return;
      due.delete(messageId);
      if (entry.measured) latencies.push(performance.now() - entry.at);
      if (++delivered === total) allDelivered();
    },
    settled: () => undefined,
    failed: (error) => {
      failure ??= error;
      allDelivered();
    },
  });

  const begin = performance.now();
  let measureBegin = begin;
  let next = 0;
  while (next < total && failure === undefined) {
    const now = performance.now();
    // Everything due by now goes out, each stamped with its own scheduled time.
    while (next < total && begin + next * interval <= now) {
      if (next === warmup) {
        measureBegin = begin + next * interval;
        options.onMeasureStart?.();
      }
      const message = options.makeMessage();
      due.set(message.id, { at: begin + next * interval, measured: next >= warmup });
      sends.push(
        producer.send([message]).catch((error: unknown) => {
          failure ??= error;
        }),
      );
      next++;
    }
    await new Promise((resolve) =>
      setTimeout(resolve, Math.max(0, begin + next * interval - performance.now())),
    );
  }
  const measuredMs = performance.now() - measureBegin;
  options.onMeasureEnd?.();
  const timeout = setTimeout(() => {
    failure ??= new Error(`only ${delivered} of ${total} messages delivered 10 s after the last send`);
    allDelivered();
  }, 10_000);
  await Promise.all([everything, ...sends]);
  clearTimeout(timeout);
  await consumer.stop();
  if (failure !== undefined) throw toError(failure);
  return { measured: total - warmup, latencies, measuredMs };
}
