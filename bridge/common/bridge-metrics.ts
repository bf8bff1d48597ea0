import { Counter, Gauge, type Registry } from "prom-client";
import { programRegistry } from "../../runtime/observability/metrics-registry.js";

/** What happened to one message on one path of a bridge; the label values of `bmn_bridge_messages_total`. */
export type BridgeOutcome =
  | "bridged"
  | "duplicate"
  | "dead-lettered"
  | "unknown-type"
  | "skipped-loop"
  /** Lost before the bridge could store it (only the legacy pub/sub channel, when its backlog is full). */
  | "dropped";

/**
 * The counters of one bridge process: every message is counted once per path with its outcome, so an operator
 * (and the tests) can see how many crossed, were deduplicated or went to the BMN DLQ.
 */
export class BridgeMetrics {
  readonly registry: Registry;
  private readonly messages: Counter<"bridge" | "path" | "outcome">;
  private readonly counts = new Map<string, number>();

  constructor(readonly bridge: string) {
    this.registry = programRegistry("bmn_bridge_", true);
    this.messages = new Counter({
      name: "bmn_bridge_messages_total",
      help: "Messages a bridge handled, by path (e.g. legacy-mailbox-in) and outcome",
      labelNames: ["bridge", "path", "outcome"],
      registers: [this.registry],
    });
  }

  /** A gauge of this bridge's registry, made on first use (e.g. `legacy_agents`: the agents it carries now). */
  gauge(name: string, help: string): Gauge {
    const full = `bmn_bridge_${name}`;
    const existing = this.registry.getSingleMetric(full);
    if (existing instanceof Gauge) return existing;
    return new Gauge({ name: full, help, registers: [this.registry] });
  }

  count(path: string, outcome: BridgeOutcome, by = 1): void {
    this.messages.inc({ bridge: this.bridge, path, outcome }, by);
    const key = `${path}/${outcome}`;
    this.counts.set(key, (this.counts.get(key) ?? 0) + by);
  }

  /** `path/outcome` → count, for the summary line printed at exit. */
  snapshot(): Record<string, number> {
    return Object.fromEntries([...this.counts].sort(([a], [b]) => a.localeCompare(b)));
  }
}
