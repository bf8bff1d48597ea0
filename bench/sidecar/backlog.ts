import { messageFactory } from "../shared/payload.js";
import type { ChildServer } from "./child.js";
import { HttpClient } from "./http-client.js";
import type { InspectorSession } from "./inspector.js";
import { fixed, printTable } from "../shared/table.js";

export interface BacklogSettings {
  /** Queue depths to measure at, ascending. */
  steps: number[];
  batch: number;
  /** Batch requests in flight while filling. */
  inFlight: number;
  /** Idle time before each reading, so requests still finishing are not counted. */
  settleMs: number;
}

export const BACKLOG_SETTINGS: BacklogSettings = {
  steps: [20_000, 40_000, 60_000],
  batch: 100,
  inFlight: 4,
  settleMs: 500,
};

/** Heap growth from the first to the last step that still counts as flat (see docs/benchmarks.md). */
export const BACKLOG_FLAT_BYTES = 2 * 1024 * 1024;

export interface BacklogPoint {
  queued: number;
  depth: number;
  /** After a forced full GC: the live heap. */
  heapUsedBytes: number;
  rssBytes: number;
}

const AGENT = "backlog";

/**
 * Figure 5: fills one agent's queue through the sidecar (batched sends, nobody receiving) and, at each depth,
 * forces a full GC in it over the inspector protocol and reads its heap and RSS. Queued messages live in Redis;
 * the sidecar should hold nothing per queued message.
 */
export async function runBacklog(
  sidecar: ChildServer,
  inspector: InspectorSession,
  settings: BacklogSettings,
): Promise<BacklogPoint[]> {
  const makeMessage = messageFactory();
  const client = new HttpClient(sidecar.url, settings.inFlight + 1);
  const points: BacklogPoint[] = [];
  let queued = 0;
  const reading = async (): Promise<BacklogPoint> => {
    await new Promise((resolve) => setTimeout(resolve, settings.settleMs));
    const stats = JSON.parse(await client.expect(200, "GET", `/v1/agents/${AGENT}/stats`)) as {
      depth: number;
    };
    const memory = await inspector.memoryAfterGc();
    return { queued, depth: stats.depth, heapUsedBytes: memory.heapUsed, rssBytes: memory.rss };
  };
  try {
    points.push(await reading());
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
      const point = await reading();
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

export function printBacklog(points: BacklogPoint[]): void {
  const first = points[1];
  const last = points[points.length - 1];
  const growth =
    first !== undefined && last !== undefined ? last.heapUsedBytes - first.heapUsedBytes : Number.NaN;
  const perMessage =
    first !== undefined && last !== undefined ? growth / (last.queued - first.queued) : Number.NaN;
  printTable(
    "5. Sidecar heap as the backlog grows (nobody receiving; heap used after a forced full GC, and RSS)",
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
