import { performance } from "node:perf_hooks";
import type { Message } from "../../core/envelope.js";
import type { SqlStore } from "../../store/sql/sql-store.js";
import { messageFactory } from "../shared/payload.js";
import { median, summarize } from "../shared/stats.js";
import { BENCH_AGENT } from "../store/store-queue.js";
import { fixed, printTable, ratio } from "../shared/table.js";

/** BRIEF.md: a 100-row batch must insert at least this many times as fast as single-row inserts. */
export const SQL_BATCH_TARGET = 5;

export interface SqlBatchSettings {
  /** Messages per transaction. */
  size: number;
  /** Transactions measured per round; the single-insert case enqueues the same number of messages. */
  batches: number;
  rounds: number;
}

export interface SqlBatchResult {
  size: number;
  messages: number;
  /** msgs/s of each round, indexed by round. */
  single: number[];
  batched: number[];
  /** Median over rounds of the p50 of one call: one enqueue, or one whole transaction. */
  singleCallP50: number;
  batchCallP50: number;
}

type Mode = "single" | "batched";

interface Measured {
  rate: number;
  calls: number[];
}

/**
 * Single: `size × batches` enqueues one after another. Batched: `batches` transactions, each
 * beginTransaction, `size` enqueues with `{ tx }`, commit (one multi-row INSERT). Each case on fresh tables,
 * with a warm-up of one batch' worth; modes alternate which goes first.
 */
export async function runSqlBatch(
  connect: () => Promise<SqlStore>,
  settings: SqlBatchSettings,
): Promise<SqlBatchResult> {
  const makeMessage = messageFactory();
  const runs: Record<Mode, Measured[]> = { single: [], batched: [] };
  // A discarded pass of each mode first (JIT warm-up).
  for (const mode of ["single", "batched"] as const) await runCase(mode, connect, settings, makeMessage, 1);
  for (let round = 0; round < settings.rounds; round++) {
    const order: Mode[] = round % 2 === 0 ? ["single", "batched"] : ["batched", "single"];
    for (const mode of order) {
      const measured = await runCase(mode, connect, settings, makeMessage, settings.batches);
      runs[mode].push(measured);
      console.log(`  round ${round + 1} ${mode}: ${fixed(measured.rate)} msgs/s`);
    }
  }
  return {
    size: settings.size,
    messages: settings.size * settings.batches,
    single: runs.single.map((run) => run.rate),
    batched: runs.batched.map((run) => run.rate),
    singleCallP50: median(runs.single.map((run) => summarize(run.calls).p50)),
    batchCallP50: median(runs.batched.map((run) => summarize(run.calls).p50)),
  };
}

async function runCase(
  mode: Mode,
  connect: () => Promise<SqlStore>,
  settings: SqlBatchSettings,
  makeMessage: ReturnType<typeof messageFactory>,
  batches: number,
): Promise<Measured> {
  const store = await connect();
  try {
    const once = mode === "single" ? singles : batch;
    await once(store, settings.size, makeMessage); // warm-up: queue row, pool, statements
    const calls: number[] = [];
    const begin = performance.now();
    for (let index = 0; index < batches; index++)
      calls.push(...(await once(store, settings.size, makeMessage)));
    const elapsed = performance.now() - begin;
    const messages = settings.size * batches;
    const depth = (await store.queueStats(BENCH_AGENT)).depth;
    if (depth !== messages + settings.size)
      throw new Error(`${mode}: queue holds ${depth} messages, expected ${messages + settings.size}`);
    return { rate: (messages / elapsed) * 1000, calls };
  } finally {
    await store.close();
  }
}

async function singles(store: SqlStore, size: number, makeMessage: () => Message): Promise<number[]> {
  const calls: number[] = [];
  for (let index = 0; index < size; index++) {
    const t0 = performance.now();
    await store.enqueue(BENCH_AGENT, makeMessage());
    calls.push(performance.now() - t0);
  }
  return calls;
}

async function batch(store: SqlStore, size: number, makeMessage: () => Message): Promise<number[]> {
  const t0 = performance.now();
  const tx = await store.beginTransaction();
  for (let index = 0; index < size; index++) await store.enqueue(BENCH_AGENT, makeMessage(), { tx });
  await store.commit(tx);
  return [performance.now() - t0];
}

export function printSqlBatch(result: SqlBatchResult): void {
  const gain = median(result.batched.map((rate, round) => rate / (result.single[round] ?? Number.NaN)));
  printTable(
    `SQL store batched inserts: ${result.messages} messages per round, one at a time vs ${result.size} per transaction (medians of rounds)`,
    ["case", "msgs/s", "p50 per call ms", "batched/single", "target"],
    [
      ["single enqueues", fixed(median(result.single)), fixed(result.singleCallP50, 2), "-", ""],
      [
        `${result.size}-message transactions`,
        fixed(median(result.batched)),
        fixed(result.batchCallP50, 2),
        ratio(gain),
        `≥ ${SQL_BATCH_TARGET}×: ${gain >= SQL_BATCH_TARGET ? "met" : "MISSED"}`,
      ],
    ],
  );
}
