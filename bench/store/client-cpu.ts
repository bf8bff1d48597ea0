import { performance } from "node:perf_hooks";
import { parseMessage } from "../../core/envelope.js";
import { messageFactory } from "../shared/payload.js";
import { fixed, printTable, ratio } from "../shared/table.js";

const ITERATIONS = 5_000;
const WARMUP = 1_000;

export interface ClientCpuResult {
  label: string;
  microsPerCall: number;
}

/**
 * Per-message work on the Node side that is not Redis: both sides serialize on send; on receive the raw
 * peer only JSON.parses, while RedisStore also validates the envelope with zod (parseMessage).
 */
export function runClientCpu(): ClientCpuResult[] {
  const message = messageFactory()();
  const json = JSON.stringify(message);
  const time = (label: string, work: () => unknown): ClientCpuResult => {
    for (let i = 0; i < WARMUP; i++) work();
    const begin = performance.now();
    for (let i = 0; i < ITERATIONS; i++) work();
    return { label, microsPerCall: ((performance.now() - begin) * 1000) / ITERATIONS };
  };
  return [
    time("JSON.stringify(message)", () => JSON.stringify(message)),
    time("JSON.parse(json) (raw receive)", () => JSON.parse(json)),
    time("parseMessage(json) (store receive)", () =>
      parseMessage(json, { maxBytes: Number.MAX_SAFE_INTEGER }),
    ),
  ];
}

export function printClientCpu(results: ClientCpuResult[]): void {
  const parse = results[1]?.microsPerCall ?? Number.NaN;
  printTable(
    "Client-side CPU per call on one ~1 KB message (same process, back to back)",
    ["work", "µs/call", "vs JSON.parse"],
    results.map((result) => [
      result.label,
      fixed(result.microsPerCall, 1),
      ratio(result.microsPerCall / parse),
    ]),
  );
}
