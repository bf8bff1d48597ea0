import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";

/** Kernel clock ticks per second, the unit of utime/stime in /proc/<pid>/stat (100 on Linux almost always). */
const CLOCK_TICKS = ((): number => {
  try {
    const ticks = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim());
    return Number.isFinite(ticks) && ticks > 0 ? ticks : 100;
  } catch {
    return 100;
  }
})();

export interface ProcSample {
  /** performance.now() when sampled, in ms. */
  at: number;
  /** utime + stime of every thread of the process, in seconds. */
  cpuSeconds: number;
  /** VmRSS in bytes. */
  rssBytes: number;
}

/**
 * CPU and resident memory of another process, read from /proc so the figure is that process alone (the load
 * generator and redis-server are not in it). Linux only.
 */
export function procSample(pid: number): ProcSample {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // The command name (field 2) may contain spaces; everything after its closing ')' is space-separated,
  // starting at field 3, so utime (14) and stime (15) are at indexes 11 and 12.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticks = Number(fields[11]) + Number(fields[12]);
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const rssKb = Number(/^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1] ?? Number.NaN);
  return { at: performance.now(), cpuSeconds: ticks / CLOCK_TICKS, rssBytes: rssKb * 1024 };
}

/** Average vCPU used between two samples: CPU seconds over wall seconds. */
export function vcpu(before: ProcSample, after: ProcSample): number {
  return (after.cpuSeconds - before.cpuSeconds) / ((after.at - before.at) / 1000);
}

/** Samples a process's RSS on a timer, for the peak and the mean over a run. */
export class RssSampler {
  private readonly samples: number[] = [];
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly pid: number,
    intervalMs = 250,
  ) {
    this.sample();
    this.timer = setInterval(() => {
      this.sample();
    }, intervalMs);
  }

  private sample(): void {
    this.samples.push(procSample(this.pid).rssBytes);
  }

  stop(): { meanBytes: number; maxBytes: number } {
    clearInterval(this.timer);
    this.sample();
    const sum = this.samples.reduce((total, bytes) => total + bytes, 0);
    return { meanBytes: sum / this.samples.length, maxBytes: Math.max(...this.samples) };
  }
}

/** I/O of a process so far, from /proc/<pid>/io: write syscalls (syscw) and bytes written (wchar), sockets included. */
export function procWrites(pid: number): { calls: number; bytes: number } {
  const io = readFileSync(`/proc/${pid}/io`, "utf8");
  const field = (name: string): number =>
    Number(new RegExp(`^${name}:\\s+(\\d+)`, "m").exec(io)?.[1] ?? Number.NaN);
  return { calls: field("syscw"), bytes: field("wchar") };
}
