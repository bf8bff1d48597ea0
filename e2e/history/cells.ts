import { existsSync } from "node:fs";
import { Redis } from "ioredis";
import { freePort } from "../../test/harness/free-port.js";
import { startMariaDb } from "../../test/harness/mariadb-server.js";
import { until } from "../../test/harness/poll-until.js";
import { startRedis } from "../../test/harness/redis-server.js";
import type { ServerHandle } from "../../test/harness/server-handle.js";
import { BmnProcess } from "../../test/harness/bmn-process.js";
import { checkHistory, type CheckResult } from "./checker.js";
import { Workload, type Endpoint } from "./workers.js";

export type Backend = "memory" | "redis" | "sql";
export type Fault = "none" | "sidecar-kill" | "store-kill" | "store-pause" | "maxmemory" | "clock-skew";

/** Debian's libfaketime (packages faketime, libfaketime); the multi-threaded one, as node runs threads. */
export const LIBFAKETIME = "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1";

/** Which faults apply to a backend: the memory store dies with its sidecar, so it is exempt from crash faults. */
export function faultsOf(backend: Backend): Fault[] {
  const skew: Fault[] = existsSync(LIBFAKETIME) ? ["clock-skew"] : [];
  if (backend === "memory") return ["none", ...skew];
  // No "none" cell here: the memory cells are the baseline, and every fault cell runs clean traffic around its fault.
  const crash: Fault[] = ["sidecar-kill", "store-kill", "store-pause"];
  return backend === "redis" ? [...crash, "maxmemory", ...skew] : [...crash, ...skew];
}

export interface CellSettings {
  /** Seconds of traffic per cell. */
  trafficSeconds: number;
  /** Lease the receivers ask for; the store pause lasts longer than this. */
  leaseMs: number;
  /** How long the final drain may take before the unsettled messages count as lost. */
  drainTimeoutMs: number;
}

export interface CellResult {
  backend: Backend;
  fault: Fault;
  /** Wall time of the cell, for the log only. */
  seconds: number;
  result: CheckResult;
  /** Diagnosis: a few unsettled ids and answer details. */
  notes: string[];
}

/** A backend's store and sidecars, shared by the cells of that backend (each cell uses an agent of its own). */
export class BackendUnderTest {
  private constructor(
    readonly backend: Backend,
    readonly store: ServerHandle | undefined,
    readonly storeEnv: Record<string, string>,
    readonly sidecars: BmnProcess[],
  ) {}

  static async start(backend: Backend): Promise<BackendUnderTest> {
    let store: ServerHandle | undefined;
    let storeEnv: Record<string, string>;
    if (backend === "memory") {
      storeEnv = { BMN_STORE: "memory" };
    } else if (backend === "redis") {
      store = await startRedis({ appendOnly: true, appendFsyncAlways: true });
      storeEnv = { BMN_STORE: "redis", BMN_REDIS_URL: store.url };
    } else {
      store = await startMariaDb({ durable: true });
      storeEnv = { BMN_STORE: "sql", BMN_SQL_URL: store.url };
    }
    const under = new BackendUnderTest(backend, store, storeEnv, []);
    try {
      // The memory store lives in its sidecar, so it gets one; the others get two sharing the store.
      const labels = backend === "memory" ? ["s0"] : ["s0", "s1"];
      under.sidecars.push(...(await startAll(labels.map((label) => () => under.startSidecar(label)))));
      return under;
    } catch (error) {
      await under.stop();
      throw error;
    }
  }

  /** A sidecar on this backend's store; `extraEnv` e.g. runs it under libfaketime. */
  async startSidecar(label: string, extraEnv: Record<string, string> = {}): Promise<BmnProcess> {
    return BmnProcess.start({
      label: `${this.backend} sidecar ${label}`,
      port: await freePort(),
      args: (port) => ["start", "--port", String(port)],
      env: { ...this.storeEnv, ...extraEnv },
      readyPath: "/readyz",
    });
  }

  async stop(): Promise<void> {
    for (const sidecar of this.sidecars) await sidecar.stop();
    await this.store?.cleanup();
  }

  /** Runs one cell: traffic with the fault in the middle, a final drain, then the checker. */
  async runCell(fault: Fault, settings: CellSettings): Promise<CellResult> {
    const cellBegin = Date.now();
    const skewed = fault === "clock-skew" ? await this.startSkewedSidecars() : ([] as readonly BmnProcess[]);
    const sidecars = skewed.length > 0 ? skewed : this.sidecars;
    const endpoints: Endpoint[] = sidecars.map((sidecar, index) => ({
      label: `s${index}`,
      url: () => sidecar.url,
    }));
    const agent = `h-${this.backend}-${fault}`;
    const workload = new Workload({
      agent,
      leaseMs: settings.leaseMs,
      requestTimeoutMs: settings.leaseMs + 3_000,
      payloadBytes: fault === "maxmemory" ? 4_096 : 64,
      nackShare: 0.05,
    });
    const notes: string[] = [];
    const lifter = fault === "maxmemory" ? await this.limitMemory() : undefined;
    try {
      const begin = Date.now();
      workload.start(endpoints, { senders: 2, receivers: 2 });
      // The fault strikes a third into the traffic, and traffic goes on for a while after it healed.
      await pause((settings.trafficSeconds * 1_000) / 3);
      const struck = Date.now();
      await this.strike(fault, settings, sidecars);
      notes.push(`fault ${fault} from ${struck - begin} ms to ${Date.now() - begin} ms after traffic began`);
      const trafficEnd = Math.max(begin + settings.trafficSeconds * 1_000, Date.now() + 500);
      await pause(trafficEnd - Date.now());
      workload.stopSending();
      if (lifter !== undefined) notes.push(await lifter());
      // Final drain: every ok send acked, then one more lease of receiving so late redeliveries are seen.
      try {
        await until(() => workload.settledAll(), settings.drainTimeoutMs, "every ok send to be acked");
      } catch {
        notes.push(`unsettled after the drain: ${workload.unsettled().slice(0, 5).join(", ")}`);
      }
      await pause(settings.leaseMs + 500);
    } finally {
      await workload.stop();
      for (const sidecar of skewed) await sidecar.stop();
    }
    const result = checkHistory(workload.history.events);
    notes.push(...details(workload, result));
    notes.push(...(await probeLost(endpoints, agent, result.lost)));
    return { backend: this.backend, fault, seconds: (Date.now() - cellBegin) / 1_000, result, notes };
  }

  private async strike(fault: Fault, settings: CellSettings, sidecars: readonly BmnProcess[]): Promise<void> {
    if (fault === "sidecar-kill") {
      const victim = sidecars[0];
      if (victim === undefined) throw new Error("no sidecar to kill");
      await victim.kill();
      await victim.start();
    } else if (fault === "store-kill") {
      const store = this.requireStore(fault);
      await store.kill();
      await store.start();
    } else if (fault === "store-pause") {
      const store = this.requireStore(fault);
      store.pause();
      // The store answers nothing for longer than a lease: that pause is the fault itself.
      await pause(settings.leaseMs + 1_000);
      store.resume();
    }
  }

  private requireStore(fault: Fault): ServerHandle {
    if (this.store === undefined) throw new Error(`${fault} needs a store process (${this.backend})`);
    return this.store;
  }

  /**
   * Sidecars with clocks 5 s apart from the store's and each other's: on a shared store one runs 5 s behind and
   * one 5 s ahead; the memory store's only sidecar runs 5 s ahead.
   */
  private async startSkewedSidecars(): Promise<BmnProcess[]> {
    const offsets = this.backend === "memory" ? ["+5s"] : ["-5s", "+5s"];
    return startAll(
      offsets.map(
        (offset) => () => this.startSidecar(`skew${offset}`, { LD_PRELOAD: LIBFAKETIME, FAKETIME: offset }),
      ),
    );
  }

  /**
   * Redis at `maxmemory` with noeviction: the limit is set 256 KiB above what Redis uses now, so sends start
   * failing within the cell. Answers the function that lifts the limit again (before the drain) and tells how
   * much memory Redis used by then.
   */
  private async limitMemory(): Promise<() => Promise<string>> {
    const store = this.requireStore("maxmemory");
    const admin = new Redis(store.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
    admin.on("error", () => undefined);
    await admin.connect();
    const info = await admin.info("memory");
    const used = Number(/used_memory:(\d+)/.exec(info)?.[1] ?? Number.NaN);
    if (!Number.isFinite(used)) throw new Error(`no used_memory in INFO: ${info}`);
    await admin.config("SET", "maxmemory-policy", "noeviction");
    const limit = used + 262_144;
    await admin.config("SET", "maxmemory", String(limit));
    return async () => {
      try {
        const after = await admin.info("memory");
        const usedAfter = /used_memory:(\d+)/.exec(after)?.[1] ?? "?";
        await admin.config("SET", "maxmemory", "0");
        return `redis used_memory ${usedAfter} B at the end of the traffic, maxmemory ${limit} B`;
      } finally {
        admin.disconnect();
      }
    };
  }
}

/** Examples of what the checker flagged, and how sends answered, for the failure message and the log. */
function details(workload: Workload, result: CheckResult): string[] {
  const notes: string[] = [];
  for (const kind of ["send", "ack"] as const) {
    const answers = new Map<string, number>();
    for (const event of workload.history.events) {
      if (event.kind !== kind || event.type === "invoke" || event.type === "ok") continue;
      const key = `${event.type} ${event.detail ?? ""}`;
      answers.set(key, (answers.get(key) ?? 0) + 1);
    }
    if (answers.size > 0) {
      notes.push(`${kind} answers: ${[...answers].map(([key, count]) => `${key} ×${count}`).join(", ")}`);
    }
  }
  if (result.lost.length > 0) notes.push(`lost e.g. ${result.lost.slice(0, 5).join(", ")}`);
  const origin = workload.history.events[0]?.at ?? 0;
  for (const messageId of [...result.lost, ...result.unexpected].slice(0, 3)) {
    notes.push(`history of ${messageId} (ms since the first event):`);
    for (const event of workload.history.events) {
      const deliveredHere = event.deliveries?.find((delivery) => delivery.messageId === messageId);
      if (event.messageId !== messageId && deliveredHere === undefined) continue;
      const lease = event.leaseId ?? deliveredHere?.leaseId ?? "";
      const detail = event.detail ?? "";
      notes.push(
        `  ${(event.at - origin).toFixed(0)} ${event.worker} ${event.kind} ${event.type} #${event.op} ${lease} ${detail}`,
      );
    }
  }
  if (result.unexpected.length > 0) notes.push(`unexpected e.g. ${result.unexpected.slice(0, 5).join(", ")}`);
  if (result.fenced.length > 0) notes.push(`fenced e.g. ${JSON.stringify(result.fenced.slice(0, 3))}`);
  if (result.duplicatedAfterAck.length > 0) {
    notes.push(`duplicated after ack e.g. ${result.duplicatedAfterAck.slice(0, 5).join(", ")}`);
  }
  return notes;
}

/**
 * Diagnosis of lost messages, after the check: the same id is sent again. The bus remembers the ids it acked
 * (dedupe window), so `duplicate: true` with an empty queue means an ack of the message was applied even though
 * no ack answered ok. (This enqueues the message again where it was not remembered; the cell is over by then.)
 */
async function probeLost(
  endpoints: readonly Endpoint[],
  agent: string,
  lost: readonly string[],
): Promise<string[]> {
  const endpoint = endpoints[0];
  if (endpoint === undefined) return [];
  const notes: string[] = [];
  for (const messageId of lost.slice(0, 3)) {
    try {
      const response = await fetch(`${endpoint.url()}/v1/messages`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ id: messageId, to: agent, type: "history-probe" }),
        signal: AbortSignal.timeout(5_000),
      });
      notes.push(`re-send of ${messageId} answered ${response.status} ${await response.text()}`);
    } catch (error) {
      notes.push(`re-send of ${messageId} failed: ${String(error)}`);
    }
  }
  return notes;
}

/** Starts the sidecars side by side; if one fails, stops the others and rethrows. */
async function startAll(starts: readonly (() => Promise<BmnProcess>)[]): Promise<BmnProcess[]> {
  const results = await Promise.allSettled(starts.map((start) => start()));
  const started = results.flatMap((result) => (result.status === "fulfilled" ? [result.value] : []));
  const failed = results.find((result) => result.status === "rejected");
  if (failed === undefined) return started;
  for (const sidecar of started) await sidecar.stop();
  throw failed.reason;
}

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}

export const COUNT_COLUMNS = [
  ["sentOk", "sent ok"],
  ["sentFail", "fail"],
  ["sentUnknown", "unknown"],
  ["delivered", "delivered"],
  ["acked", "acked"],
  ["lost", "lost"],
  ["duplicatedAfterAck", "dup after ack"],
  ["unexpected", "unexpected"],
  ["recovered", "recovered"],
  ["fencedViolations", "fenced viol."],
] as const;

/** One row per cell: backend × fault and the checker's counts. */
export function tableRows(results: readonly CellResult[]): string[][] {
  return results.map((cell) => [
    cell.backend,
    cell.fault,
    ...COUNT_COLUMNS.map(([key]) => String(cell.result.counts[key])),
  ]);
}
