import { setTimeout as sleep } from "node:timers/promises";
import type { Redis } from "ioredis";
import type { BenchQueue } from "../shared/bench-queue.js";
import { messageFactory, payloadBytes, serializedBytes } from "../shared/payload.js";
import { withPrivateRedis } from "../shared/private-redis.js";
import { RawStreamQueue } from "./raw-streams.js";
import { usedMemory } from "../shared/redis-info.js";
import type { MessageStore } from "../../store/store.js";
import { BENCH_AGENT, StoreQueue } from "./store-queue.js";
import { fixed, printTable, ratio } from "../shared/table.js";

export interface MemorySettings {
  messages: number;
  /** Enqueues in flight while filling the queue (only speeds the fill up; memory does not depend on it). */
  concurrency: number;
}

export const MEMORY_SETTINGS: MemorySettings = { messages: 20_000, concurrency: 64 };

/** Issue #12: bytes Redis holds per queued message, traces off, as a multiple of the serialized message. */
export const MEMORY_TARGET = 1.3;

/** used_memory also counts client buffers that Redis shrinks in its cron; give it a moment to settle. */
const SETTLE_MS = 300;

interface MemoryCase {
  label: string;
  connect(url: string): Promise<BenchQueue>;
  /** Messages in the queue as Redis sees them, to check that the fill really landed. */
  depth(admin: Redis): Promise<number>;
}

const CASES: MemoryCase[] = [
  {
    label: "raw stream",
    connect: (url) => RawStreamQueue.connect(url),
    depth: (admin) => admin.xlen(RawStreamQueue.STREAM),
  },
  {
    label: "store, traces off",
    connect: (url) => StoreQueue.connect(url, false),
    depth: (admin) => admin.zcard(`${StoreQueue.KEY_PREFIX}{${BENCH_AGENT}}:ready`),
  },
  {
    label: "store, traces on",
    connect: (url) => StoreQueue.connect(url, true),
    depth: (admin) => admin.zcard(`${StoreQueue.KEY_PREFIX}{${BENCH_AGENT}}:ready`),
  },
];

export interface MemoryResult {
  label: string;
  messages: number;
  bytesPerMessage: number;
  serializedBytes: number;
  payloadBytes: number;
  /** Keys the fill added, per message (a trace adds one key per message). */
  keysPerMessage: number;
  /** Growth of MEMORY USAGE per message, by key kind (see usageByKind). */
  perKey: Map<string, number>;
}

/** Each case on a fresh redis-server with the same settings, so baselines and allocator state are alike. */
export async function runRedisMemory(settings: MemorySettings = MEMORY_SETTINGS): Promise<MemoryResult[]> {
  const results: MemoryResult[] = [];
  for (const memoryCase of CASES) {
    results.push(await withPrivateRedis((url, admin) => measure(memoryCase, url, admin, settings)));
    const last = results.at(-1);
    if (last !== undefined) console.log(`  ${last.label}: ${fixed(last.bytesPerMessage)} B/msg`);
  }
  return results;
}

async function measure(
  memoryCase: MemoryCase,
  url: string,
  admin: Redis,
  settings: MemorySettings,
): Promise<MemoryResult> {
  const makeMessage = messageFactory();
  const queue = await memoryCase.connect(url);
  try {
    // One message to another queue first loads the Lua scripts, whose cache would otherwise count as data.
    if (queue instanceof StoreQueue) {
      const { store } = queue as StoreQueue<MessageStore>;
      await store.enqueue("warm-up", makeMessage());
    }
    await queue.drain();
    await sleep(SETTLE_MS);
    const before = await usedMemory(admin);
    const keysBefore = await admin.dbsize();
    const usageBefore = await usageByKind(admin);

    let issued = 0;
    const worker = async (): Promise<void> => {
      while (issued < settings.messages) {
        issued++;
        await queue.enqueue(makeMessage());
      }
    };
    await Promise.all(Array.from({ length: settings.concurrency }, worker));
    await queue.drain();
    const depth = await memoryCase.depth(admin);
    if (depth !== settings.messages)
      throw new Error(`${memoryCase.label}: queue holds ${depth}, expected ${settings.messages}`);
    await sleep(SETTLE_MS);
    const after = await usedMemory(admin);

    const keysAfter = await admin.dbsize();
    const usageAfter = await usageByKind(admin);
    const perKey = new Map<string, number>();
    for (const [kind, bytes] of usageAfter) {
      perKey.set(kind, (bytes - (usageBefore.get(kind) ?? 0)) / settings.messages);
    }
    const sample = makeMessage();
    return {
      label: memoryCase.label,
      messages: settings.messages,
      bytesPerMessage: (after - before) / settings.messages,
      serializedBytes: serializedBytes(sample),
      payloadBytes: payloadBytes(sample),
      keysPerMessage: (keysAfter - keysBefore) / settings.messages,
      perKey,
    };
  } finally {
    await queue.close();
  }
}

/** MEMORY USAGE summed by key kind: the last `:` segment, with all trace keys as one kind. */
async function usageByKind(admin: Redis): Promise<Map<string, number>> {
  const usage = new Map<string, number>();
  const keys = await admin.keys("*");
  // SAMPLES 0 walks every element: exact, and cheap enough at this size. Sent together, so pipelined.
  const sizes = await Promise.all(keys.map((key) => admin.call("MEMORY", "USAGE", key, "SAMPLES", "0")));
  keys.forEach((key, index) => {
    const kind = key.includes(":trace:") ? "trace lists" : (key.split(":").at(-1) ?? key);
    usage.set(kind, (usage.get(kind) ?? 0) + Number(sizes[index]));
  });
  return usage;
}

export function printRedisMemory(results: MemoryResult[]): void {
  const off = results.find((result) => result.label === "store, traces off");
  const on = results.find((result) => result.label === "store, traces on");
  const rows = results.map((result) => {
    const ofPayload = result.bytesPerMessage / result.payloadBytes;
    const ofMessage = result.bytesPerMessage / result.serializedBytes;
    const target =
      result === off
        ? `≤ ${fixed(MEMORY_TARGET, 1)}× message: ${ofMessage <= MEMORY_TARGET ? "met" : "MISSED"}`
        : "";
    return [
      result.label,
      fixed(result.bytesPerMessage),
      ratio(ofMessage),
      ratio(ofPayload),
      fixed(result.keysPerMessage, 2),
      target,
    ];
  });
  if (off !== undefined && on !== undefined) {
    const cost = on.bytesPerMessage - off.bytesPerMessage;
    rows.push([
      "trace cost (on − off)",
      fixed(cost),
      ratio(cost / on.serializedBytes),
      ratio(cost / on.payloadBytes),
      fixed(on.keysPerMessage - off.keysPerMessage, 2),
      "",
    ]);
  }
  const sample = results[0];
  const sizes =
    sample === undefined ? "" : ` (message ${sample.serializedBytes} B, data ${sample.payloadBytes} B)`;
  printTable(
    `Redis memory per queued message, ${sample?.messages ?? 0} enqueued and not consumed${sizes}`,
    ["case", "B/msg", "/ message", "/ payload", "keys/msg", "target"],
    rows,
  );

  const kinds = [...new Set(results.flatMap((result) => [...result.perKey.keys()]))];
  printTable(
    "Where the memory goes (growth of MEMORY USAGE by key kind, B per message)",
    ["key", ...results.map((result) => result.label)],
    kinds.map((kind) => [kind, ...results.map((result) => fixed(result.perKey.get(kind) ?? 0))]),
  );
}
