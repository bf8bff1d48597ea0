import { messageFactory } from "./payload.js";
import type { ChildServer } from "./sidecar-child.js";
import { HttpClient } from "./sidecar-http-client.js";
import { procSample } from "./sidecar-proc-stats.js";
import { fixed, printTable } from "./table.js";

export interface BacklogSettings {
  /** Queue depths to measure at, ascending. */
  steps: number[];
  batch: number;
  /** Batch requests in flight while filling. */
  inFlight: number;
  /** Idle time before each reading, so the heap is not read mid-burst. */
  settleMs: number;
}

export const BACKLOG_SETTINGS: BacklogSettings = {
  steps: [20_000, 40_000, 60_000],
  batch: 100,
  inFlight: 4,
  settleMs: 1_500,
};

/** Heap growth from the first to the last step that still counts as flat (see docs/benchmarks.md). */
export const BACKLOG_FLAT_BYTES = 2 * 1024 * 1024;

export interface BacklogPoint {
  queued: number;
  depth: number;
  heapUsedBytes: number;
  rssBytes: number;
}

const AGENT = "backlog";

/**
 * Figure 5: fills one agent's queue through the sidecar (batched sends, nobody receiving) and reads the sidecar's
 * heap (its /metrics, `nodejs_heap_size_used_bytes`) and RSS (/proc) at each depth. Queued messages live in Redis;
 * the sidecar should hold nothing per queued message.
 */
export async function runBacklog(sidecar: ChildServer, settings: BacklogSettings): Promise<BacklogPoint[]> {
  const makeMessage = messageFactory();
  const client = new HttpClient(sidecar.url, settings.inFlight + 1);
  const points: BacklogPoint[] = [];
  let queued = 0;
  try {
    points.push(await reading(client, sidecar, 0, settings.settleMs));
    for (const step of settings.steps) {
      const fill = async (): Promise<void> => {
        while (queued < step) {
          const count = Math.min(settings.batch, step - queued);
          queued += count;
          const messages = Array.from({ length: count }, () => ({ ...makeMessage(), to: AGENT }));
          await client.expect(202, "POST", "/v1/messages:batch", JSON.stringify({ messages }));
        }
      };
      await Promise.all(Array.from({ length: settings.inFlight }, fill));
      const point = await reading(client, sidecar, step, settings.settleMs);
      points.push(point);
      console.log(
        `  backlog ${step}: depth ${point.depth}, heap ${fixed(point.heapUsedBytes / MB, 1)} MB, rss ${fixed(point.rssBytes / MB, 1)} MB`,
      );
    }
  } finally {
    client.close();
  }
  return points;
}

const MB = 1024 * 1024;

/** Heap used is read without a forced GC, so it carries garbage: the least of a few readings is the steadiest. */
async function reading(
  client: HttpClient,
  sidecar: ChildServer,
  queued: number,
  settleMs: number,
): Promise<BacklogPoint> {
  await new Promise((resolve) => setTimeout(resolve, settleMs));
  const stats = JSON.parse(await client.expect(200, "GET", `/v1/agents/${AGENT}/stats`)) as { depth: number };
  const heap: number[] = [];
  for (let sample = 0; sample < 3; sample++) {
    const metrics = await client.expect(200, "GET", "/metrics");
    heap.push(Number(/^(?:bmn_)?nodejs_heap_size_used_bytes (\S+)$/m.exec(metrics)?.[1] ?? Number.NaN));
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return {
    queued,
    depth: stats.depth,
    heapUsedBytes: Math.min(...heap),
    rssBytes: procSample(sidecar.pid).rssBytes,
  };
}

export function printBacklog(points: BacklogPoint[]): void {
  const first = points[1];
  const last = points[points.length - 1];
  const growth =
    first !== undefined && last !== undefined ? last.heapUsedBytes - first.heapUsedBytes : Number.NaN;
  const perMessage =
    first !== undefined && last !== undefined ? growth / (last.queued - first.queued) : Number.NaN;
  printTable(
    "5. Sidecar heap as the backlog grows (nobody receiving; heap from its /metrics, RSS from /proc)",
    ["queued", "depth", "heap used MB", "Δ heap MB", "RSS MB", "Δ RSS MB"],
    points.map((point) => [
      String(point.queued),
      String(point.depth),
      fixed(point.heapUsedBytes / MB, 1),
      fixed((point.heapUsedBytes - (points[0]?.heapUsedBytes ?? Number.NaN)) / MB, 1),
      fixed(point.rssBytes / MB, 1),
      fixed((point.rssBytes - (points[0]?.rssBytes ?? Number.NaN)) / MB, 1),
    ]),
  );
  console.log(
    `heap growth from ${first?.queued ?? "?"} to ${last?.queued ?? "?"} queued: ${fixed(growth / MB, 2)} MB ` +
      `(${fixed(perMessage, 1)} B per queued message); flat (≤ ${BACKLOG_FLAT_BYTES / MB} MB): ` +
      (Math.abs(growth) <= BACKLOG_FLAT_BYTES ? "met" : "MISSED"),
  );
}
