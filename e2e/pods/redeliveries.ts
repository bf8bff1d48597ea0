import { podsOf, type PodsCluster } from "./pods-cluster.js";

/** One trace event as the sidecar's `GET /v1/messages/{id}/trace` answers it, reduced to what explains attempts. */
export interface AttemptEvent {
  kind: string;
  attempt?: number;
  reason?: string;
}

export interface MessageTrace {
  id: string;
  /** Undefined when the store had no trace of the message. */
  events: AttemptEvent[] | undefined;
}

/** Why a message was leased again; the only causes a scale-down may give. */
export type RedeliveryCause = "given back by a sidecar shutting down" | "lease ran out";

export interface Redelivery {
  id: string;
  attempt: number;
  cause: RedeliveryCause | undefined;
  /** The event before the lease, for a redelivery without a cause. */
  before: AttemptEvent | undefined;
}

export interface RedeliveryReport {
  redeliveries: Redelivery[];
  /** Redeliveries whose previous attempt did not end by a pod going away. */
  unexplained: Redelivery[];
  /** Messages the store has no trace of. */
  untraced: string[];
}

/** The reason the sidecar gives leases back with on SIGTERM (sidecar/server/lease-ledger.ts). */
const SHUTDOWN_REASON = "sidecar shutting down";

const endsAttempt = (event: AttemptEvent): boolean =>
  event.kind === "nacked" || event.kind === "lease-expired";

/**
 * Every lease with attempt > 1 in the traces, with what ended the attempt before it: a nack by a sidecar going
 * away, or a lease that ran out (its pod went without giving it back). Anything else is unexplained. The end is
 * found by its attempt number: sidecars append to one message's trace concurrently, so the new lease may be
 * listed before the nack that freed it.
 */
export function explainRedeliveries(traces: readonly MessageTrace[]): RedeliveryReport {
  const report: RedeliveryReport = { redeliveries: [], unexplained: [], untraced: [] };
  for (const trace of traces) {
    const events = trace.events;
    if (events === undefined) {
      report.untraced.push(trace.id);
      continue;
    }
    for (const event of events) {
      const attempt = event.attempt ?? 1;
      if (event.kind !== "leased" || attempt <= 1) continue;
      const ended = events.find((candidate) => endsAttempt(candidate) && candidate.attempt === attempt - 1);
      const cause: RedeliveryCause | undefined =
        ended?.kind === "lease-expired"
          ? "lease ran out"
          : ended?.kind === "nacked" && ended.reason === SHUTDOWN_REASON
            ? "given back by a sidecar shutting down"
            : undefined;
      const redelivery = { id: trace.id, attempt, cause, before: ended };
      report.redeliveries.push(redelivery);
      if (cause === undefined) report.unexplained.push(redelivery);
    }
  }
  return report;
}

/** One line per cause with its count, e.g. `3 redeliveries: 2 given back by ..., 1 lease ran out`. */
export function describeRedeliveries(report: RedeliveryReport): string {
  const byCause = new Map<string, number>();
  for (const { cause } of report.redeliveries) {
    const key = cause ?? "UNEXPLAINED";
    byCause.set(key, (byCause.get(key) ?? 0) + 1);
  }
  const causes = [...byCause].map(([cause, n]) => `${String(n)} ${cause}`).join(", ");
  return `${String(report.redeliveries.length)} redeliveries${causes === "" ? "" : `: ${causes}`}`;
}

// Runs in a pod's agent container (the test agent image has node): reads the traces of `<prefix>-1..count` from
// the pod's own sidecar, one line of JSON.
const READ_TRACES = `
const [prefix, count] = process.argv.slice(1);
const traces = [];
for (let seq = 1; seq <= Number(count); seq++) {
  const id = prefix + "-" + seq;
  const res = await fetch("http://127.0.0.1:7420/v1/messages/" + encodeURIComponent(id) + "/trace");
  if (res.status !== 200) { traces.push({ id }); continue; }
  const { events } = await res.json();
  traces.push({ id, events: events.map(({ kind, attempt, reason }) => ({ kind, attempt, reason })) });
}
process.stdout.write(JSON.stringify(traces));
`;

/**
 * The store's traces of the messages `<prefix>-1` to `<prefix>-<count>` (the test agent's ids), read through the
 * sidecar of a Ready pod of `selector`: the store keeps what happened to every attempt, also in pods now gone.
 */
export async function readTraces(
  cluster: PodsCluster,
  namespace: string,
  selector: string,
  prefix: string,
  count: number,
): Promise<MessageTrace[]> {
  const pod = (await podsOf(cluster, namespace, selector)).find((p) => p.ready && !p.deleting);
  if (pod === undefined) throw new Error(`no Ready pod of ${selector} to read traces through`);
  const result = await cluster.kubectl([
    "exec",
    "-n",
    namespace,
    pod.name,
    "-c",
    "agent",
    "--",
    "node",
    "--input-type=module",
    "-e",
    READ_TRACES,
    prefix,
    String(count),
  ]);
  if (result.code !== 0) throw new Error(`reading traces in ${pod.name} failed: ${result.stderr}`);
  return JSON.parse(result.stdout) as MessageTrace[];
}
