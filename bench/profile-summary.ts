import { readFileSync } from "node:fs";
import { printTable } from "./shared/table.js";

/**
 * A text flame summary of a `.cpuprofile` (from `node --cpu-prof`, e.g. BMN_BENCH_CPU_PROF=<dir> npm run bench --
 * sidecar): the top frames by self time and by inclusive time, as shares of the busy (non-idle) samples.
 * Usage: node dist/bench/profile-summary.js <file.cpuprofile> [rows] [frame regexp, for their inclusive time]
 */

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
}

const IDLE = new Set(["(idle)", "(program)", "(root)"]);

function frameName(frame: CallFrame): string {
  const file = frame.url.replace(/^file:\/\//, "").replace(/^.*\/(node_modules|dist)\//, "$1/");
  const where = file === "" ? "" : ` ${file}:${frame.lineNumber + 1}`;
  return `${frame.functionName === "" ? "(anonymous)" : frame.functionName}${where}`;
}

function summarize(profile: Profile, rowCount: number, filter: RegExp | undefined): void {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const selfCount = new Map<number, number>();
  for (const sample of profile.samples) selfCount.set(sample, (selfCount.get(sample) ?? 0) + 1);

  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  let busy = 0;
  for (const [id, count] of selfCount) {
    const node = byId.get(id);
    if (node === undefined || IDLE.has(node.callFrame.functionName)) continue;
    busy += count;
    const name = frameName(node.callFrame);
    self.set(name, (self.get(name) ?? 0) + count);
    // Each frame on the stack counts once per sample, however often it recurses.
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const frame = byId.get(at);
      if (frame === undefined || IDLE.has(frame.callFrame.functionName)) continue;
      const stackName = frameName(frame.callFrame);
      if (seen.has(stackName)) continue;
      seen.add(stackName);
      inclusive.set(stackName, (inclusive.get(stackName) ?? 0) + count);
    }
  }
  const top = (counts: Map<string, number>): string[][] =>
    [...counts.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, rowCount)
      .map(([name, count]) => [`${((count / busy) * 100).toFixed(1)} %`, name]);
  console.log(`${profile.samples.length} samples, ${busy} busy`);
  printTable("Self time (share of busy samples)", ["self", "frame"], top(self));
  printTable("Inclusive time (share of busy samples)", ["inclusive", "frame"], top(inclusive));
  if (filter !== undefined) {
    const matching = new Map([...inclusive].filter(([name]) => filter.test(name)));
    printTable(`Inclusive time of frames matching ${String(filter)}`, ["inclusive", "frame"], top(matching));
  }
}

const [file, rows, pattern] = process.argv.slice(2);
if (file === undefined) {
  console.error("usage: node dist/bench/profile-summary.js <file.cpuprofile> [rows] [frame regexp]");
  process.exit(2);
}
summarize(
  JSON.parse(readFileSync(file, "utf8")) as Profile,
  Number(rows ?? 30),
  pattern === undefined ? undefined : new RegExp(pattern),
);
