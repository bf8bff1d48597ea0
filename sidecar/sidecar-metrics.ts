import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import { programRegistry } from "../runtime/observability/metrics-registry.js";
import type { QueueName } from "../core/names.js";
import { mapBounded } from "../runtime/resilience/map-bounded.js";
import type { MessageStore, QueueStats, StoreMemoryStatus } from "../store/store.js";
import { readyHeadAgeMs } from "../store/ready-head-age.js";

/** How many queues the depth gauges report at most, so a scrape stays cheap with many agents. */
const MAX_QUEUES_REPORTED = 500;
const STATS_FAN_OUT = 16;
const SNAPSHOT_REUSE_MS = 500;
/** The `agent` label value that stands for every agent past the cap. */
export const OTHER_AGENTS_LABEL = "_other";

/**
 * A counter whose `agent` label keeps at most `maxAgents` distinct values; later agents are counted under
 * `_other`, so any number of agent names cannot grow the registry (and each scrape) without bound.
 */
export class AgentCounter {
  private readonly seen = new Set<string>();

  constructor(
    private readonly counter: Counter<"agent">,
    private readonly maxAgents: number,
  ) {}

  inc(labels: { agent: string }, value?: number): void {
    const { agent } = labels;
    if (!this.seen.has(agent) && this.seen.size < this.maxAgents) this.seen.add(agent);
    this.counter.inc({ agent: this.seen.has(agent) ? agent : OTHER_AGENTS_LABEL }, value);
  }
}

async function queueStatsOf(store: MessageStore): Promise<QueueStats[]> {
  const { queues } = await store
    .listQueuePage({ limit: MAX_QUEUES_REPORTED })
    .catch(() => ({ queues: [] as QueueName[] }));
  const stats = await mapBounded(queues, STATS_FAN_OUT, (agent) =>
    store.queueStats(agent).catch(() => undefined),
  );
  return stats.filter((stat) => stat !== undefined);
}

/** The sidecar's Prometheus metrics, in a registry of its own so several sidecars can share a process in tests. */
export class SidecarMetrics {
  readonly registry: Registry;
  readonly sent: Counter<"mode">;
  readonly delivered: AgentCounter;
  readonly acked: Counter;
  readonly nacked: Counter;
  readonly deadLettered: Counter<"reason">;
  readonly requestDuration: Histogram<"method" | "route" | "status">;
  readonly storeCallDuration: Histogram<"operation" | "outcome">;
  readonly breakerState: Gauge;
  readonly streamsClosed: Counter<"code">;

  constructor(
    store: MessageStore,
    options: { breakerState?: () => number; defaultMetrics?: boolean; maxAgentLabels?: number } = {},
  ) {
    this.registry = programRegistry("bmn_", options.defaultMetrics === true);
    const registers = [this.registry];
    const maxAgentLabels = options.maxAgentLabels ?? 256;
    this.sent = new Counter({
      name: "bmn_messages_sent_total",
      help: "Messages accepted for sending, by mode (direct or topic); duplicates are not counted",
      labelNames: ["mode"],
      registers,
    });
    this.delivered = new AgentCounter(
      new Counter({
        name: "bmn_messages_delivered_total",
        help: "Deliveries handed to agents (each lease counts once); agents past the label cap count as _other",
        labelNames: ["agent"],
        registers,
      }),
      maxAgentLabels,
    );
    this.streamsClosed = new Counter({
      name: "bmn_streams_closed_total",
      help: "WebSocket streams the sidecar closed for a limit, by close code (4008 slow consumer, 4009 bad frames)",
      labelNames: ["code"],
      registers,
    });
    this.acked = new Counter({ name: "bmn_messages_acked_total", help: "Deliveries acked", registers });
    this.nacked = new Counter({ name: "bmn_messages_nacked_total", help: "Deliveries nacked", registers });
    this.deadLettered = new Counter({
      name: "bmn_messages_dead_lettered_total",
      help: "Messages this sidecar saw dead-lettered, by reason",
      labelNames: ["reason"],
      registers,
    });
    this.requestDuration = new Histogram({
      name: "bmn_http_request_duration_seconds",
      help: "HTTP request latency by route and status",
      labelNames: ["method", "route", "status"],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5, 30],
      registers,
    });
    this.storeCallDuration = new Histogram({
      name: "bmn_store_call_duration_seconds",
      help: "Store call latency by operation and outcome",
      labelNames: ["operation", "outcome"],
      buckets: [0.0002, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 2],
      registers,
    });
    const breakerState = options.breakerState;
    this.breakerState = new Gauge({
      name: "bmn_store_breaker_state",
      help: "Store circuit breaker: 0 closed, 1 half-open, 2 open",
      registers,
      collect() {
        this.set(breakerState?.() ?? 0);
      },
    });
    // Queue gauges are read from the store at scrape time, so they are right whichever sidecar changed a queue.
    // One scrape collects all gauges at once; they share one read of the store.
    let snapshot: { at: number; stats: Promise<QueueStats[]> } | undefined;
    const readStats = (): Promise<QueueStats[]> => {
      if (snapshot === undefined || Date.now() - snapshot.at > SNAPSHOT_REUSE_MS) {
        snapshot = { at: Date.now(), stats: queueStatsOf(store) };
      }
      return snapshot.stats;
    };
    const perAgent = (name: string, help: string, value: (stats: QueueStats) => number): void => {
      new Gauge({
        name,
        help,
        labelNames: ["agent"],
        registers,
        async collect() {
          const stats = await readStats();
          this.reset();
          // Past the label cap, queues are summed under `_other`.
          let other: number | undefined;
          stats.forEach((stat, index) => {
            if (index < maxAgentLabels) this.set({ agent: stat.agent }, value(stat));
            else other = (other ?? 0) + value(stat);
          });
          if (other !== undefined) this.set({ agent: OTHER_AGENTS_LABEL }, other);
        },
      });
    };
    perAgent("bmn_queue_depth", "Messages waiting (ready or delayed) per agent", (stats) => stats.depth);
    perAgent("bmn_queue_in_flight", "Leased, unsettled messages per agent", (stats) => stats.inFlight);
    perAgent("bmn_queue_dead_letters", "Dead letters per agent", (stats) => stats.deadLettered);
    // The age of the message at the head of each ready line, from its `time`: one browse of one message per queue
    // with ready messages, within the label cap. A queue that cannot be read this scrape is left out.
    new Gauge({
      name: "bmn_queue_oldest_age_seconds",
      help: "Age of the next ready message per agent (from its time attribute), read from the store at scrape",
      labelNames: ["agent"],
      registers,
      async collect() {
        const waiting = (await readStats()).slice(0, maxAgentLabels).filter((stat) => stat.ready > 0);
        const now = Date.now();
        const ages = await mapBounded(waiting, STATS_FAN_OUT, async (stat) => {
          const ageMs = await readyHeadAgeMs(store, stat.agent, now).catch(() => undefined);
          return { agent: stat.agent, ageSeconds: ageMs === undefined ? undefined : ageMs / 1_000 };
        });
        this.reset();
        for (const { agent, ageSeconds } of ages)
          if (ageSeconds !== undefined) this.set({ agent }, ageSeconds);
      },
    });
    // Where the backend has a memory limit (Redis): how close it is. Absent for other backends.
    let memory: { at: number; status: Promise<StoreMemoryStatus | undefined> } | undefined;
    const readMemory = (): Promise<StoreMemoryStatus | undefined> => {
      if (memory === undefined || Date.now() - memory.at > SNAPSHOT_REUSE_MS)
        memory = { at: Date.now(), status: store.memoryStatus().catch(() => undefined) };
      return memory.status;
    };
    const memoryGauge = (name: string, help: string, value: (status: StoreMemoryStatus) => number): void => {
      new Gauge({
        name,
        help,
        registers,
        async collect() {
          const status = await readMemory();
          this.reset();
          if (status !== undefined) this.set(value(status));
        },
      });
    };
    memoryGauge("bmn_store_memory_used_bytes", "Memory the store backend uses", (status) => status.usedBytes);
    memoryGauge(
      "bmn_store_memory_max_bytes",
      "The store backend's memory limit; 0 means none",
      (s) => s.maxBytes,
    );
    new Gauge({
      name: "bmn_store_memory_policy",
      help: "The store backend's eviction policy (always 1; the policy is the label)",
      labelNames: ["policy"],
      registers,
      async collect() {
        const status = await readMemory();
        this.reset();
        if (status !== undefined) this.set({ policy: status.policy }, 1);
      },
    });
  }
}
