import { setTimeout as sleep } from "node:timers/promises";
import { performance } from "node:perf_hooks";
import type { MessageStore } from "../../store/store.js";
import { messageFactory } from "../shared/payload.js";
import { summarize } from "../shared/stats.js";
import { BENCH_AGENT } from "../store/store-queue.js";
import { fixed, printTable } from "../shared/table.js";

/** The target for the SQL store: p99 send → receive at most this many ms. */
export const SQL_LATENCY_TARGET_MS = 20;

export interface SqlLatencySettings {
  /** Sends per second, on a fixed schedule (open loop: a slow send does not delay the next one). */
  rate: number;
  durationMs: number;
}

export interface SqlLatencyCase {
  label: string;
  /** True for the SQL store cases, which the target applies to. */
  sql: boolean;
  prepare(): Promise<void>;
  /** The stores to send and to receive through; the same store twice for one sidecar. */
  connect(): Promise<{ sender: MessageStore; receiver: MessageStore }>;
}

export interface SqlLatencyResult {
  label: string;
  sql: boolean;
  messages: number;
  p50: number;
  p99: number;
  max: number;
  /** p99 of how late the generator started a send against its schedule, ms (should stay ~1 ms). */
  sendLagP99: number;
}

/** Wait this long past the last send for the receiver to catch up before giving up. */
const CATCH_UP_MS = 10_000;
/** Long-poll wait of each receive. */
const WAIT_MS = 1_000;

export async function runSqlLatency(
  cases: SqlLatencyCase[],
  settings: SqlLatencySettings,
): Promise<SqlLatencyResult[]> {
  const results: SqlLatencyResult[] = [];
  for (const entry of cases) {
    await entry.prepare();
    const { sender, receiver } = await entry.connect();
    try {
      const result = await measure(entry, sender, receiver, settings);
      console.log(`  ${entry.label}: p50 ${fixed(result.p50, 2)} ms, p99 ${fixed(result.p99, 2)} ms`);
      results.push(result);
    } finally {
      await sender.close();
      if (receiver !== sender) await receiver.close();
    }
  }
  return results;
}

/**
 * A consumer long-polls (`receive` with `waitMs` 1 s, up to 16 per lease) while a producer sends on a fixed
 * schedule; latency = send start → the receive that returned it resolved. Acks are sent without waiting, so the
 * consumer is back in `receive` at once. Warm-up: 20 messages sent and received first, not counted.
 */
async function measure(
  entry: SqlLatencyCase,
  sender: MessageStore,
  receiver: MessageStore,
  settings: SqlLatencySettings,
): Promise<SqlLatencyResult> {
  const makeMessage = messageFactory();
  for (let index = 0; index < 20; index++) await sender.enqueue(BENCH_AGENT, makeMessage());
  for (let left = 20; left > 0;) {
    const deliveries = await receiver.receive(BENCH_AGENT, { max: left, waitMs: WAIT_MS });
    for (const delivery of deliveries) await receiver.ack(delivery.leaseId);
    left -= deliveries.length;
  }

  const total = Math.round((settings.rate * settings.durationMs) / 1000);
  const sentAt = new Map<string, number>();
  const latencies: number[] = [];
  const lags: number[] = [];
  const acks: Promise<void>[] = [];
  const begin = performance.now();
  const deadline = begin + settings.durationMs + CATCH_UP_MS;

  const consume = async (): Promise<void> => {
    while (latencies.length < total && performance.now() < deadline) {
      const deliveries = await receiver.receive(BENCH_AGENT, { max: 16, waitMs: WAIT_MS });
      const now = performance.now();
      for (const delivery of deliveries) {
        const start = sentAt.get(delivery.message.id);
        if (start === undefined) throw new Error(`${entry.label}: unknown message ${delivery.message.id}`);
        latencies.push(now - start);
        acks.push(receiver.ack(delivery.leaseId));
      }
    }
  };
  const produce = async (): Promise<void> => {
    const sends: Promise<unknown>[] = [];
    for (let index = 0; index < total; index++) {
      const due = begin + (index * 1000) / settings.rate;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
      const message = makeMessage();
      const now = performance.now();
      lags.push(Math.max(0, now - due));
      sentAt.set(message.id, now);
      sends.push(sender.enqueue(BENCH_AGENT, message));
    }
    await Promise.all(sends);
  };

  await Promise.all([consume(), produce()]);
  await Promise.all(acks);
  if (latencies.length < total)
    throw new Error(`${entry.label}: received ${latencies.length} of ${total} messages`);
  const summary = summarize(latencies);
  return {
    label: entry.label,
    sql: entry.sql,
    messages: total,
    p50: summary.p50,
    p99: summary.p99,
    max: Math.max(...latencies),
    sendLagP99: summarize(lags).p99,
  };
}

export function printSqlLatency(results: SqlLatencyResult[], settings: SqlLatencySettings): void {
  printTable(
    `Send → receive under a long-polling receiver, ${settings.rate} msg/s for ${settings.durationMs / 1000} s`,
    ["case", "messages", "p50 ms", "p99 ms", "max ms", "send lag p99 ms", "target"],
    results.map((result) => [
      result.label,
      String(result.messages),
      fixed(result.p50, 2),
      fixed(result.p99, 2),
      fixed(result.max, 1),
      fixed(result.sendLagP99, 2),
      result.sql
        ? `p99 ≤ ${SQL_LATENCY_TARGET_MS} ms: ${result.p99 <= SQL_LATENCY_TARGET_MS ? "met" : "MISSED"}`
        : "",
    ]),
  );
}
