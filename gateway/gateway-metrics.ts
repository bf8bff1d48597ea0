import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import { programRegistry } from "../runtime/observability/metrics-registry.js";

/** One destination outbox's backlog, as the forwarder sees it. */
export interface OutboxBacklog {
  destination: string;
  depth: number;
  inFlight: number;
  /** Age of the oldest message this gateway holds or last saw at the head of the outbox; 0 when empty. */
  oldestAgeMs: number;
}

/** The gateway's Prometheus metrics, in a registry of its own (several gateways may share a process in tests). */
export class GatewayMetrics {
  readonly registry: Registry;
  /** Bytes of batch bodies, before (`uncompressed`) and after (`wire`) compression, per peer and direction. */
  readonly bytes: Counter<"peer" | "direction" | "stage">;
  readonly batchMessages: Histogram<"peer">;
  readonly batchBytes: Histogram<"peer">;
  readonly linkRtt: Histogram<"peer">;
  /** Outcomes of forwarded messages: forwarded, duplicate, refused, failed (dead-lettered at the source). */
  readonly forwarded: Counter<"peer" | "outcome">;
  /** Messages received from peers by status: accepted, duplicate, refused. */
  readonly received: Counter<"peer" | "status">;
  readonly forwardAttempts: Counter<"peer" | "outcome">;
  /** Sends that waited for the link's bandwidth limit (`bandwidthBytesPerSecond`), and how long in total. */
  readonly bandwidthDelays: Counter<"peer">;
  readonly bandwidthDelaySeconds: Counter<"peer">;

  constructor(options: {
    backlog: () => Promise<OutboxBacklog[]>;
    linkStates: () => { peer: string; state: number }[];
    defaultMetrics?: boolean;
  }) {
    this.registry = programRegistry("bmn_gateway_", options.defaultMetrics === true);
    const registers = [this.registry];
    this.bytes = new Counter({
      name: "bmn_gateway_bytes_total",
      help: "Batch body bytes per peer: direction sent or received, stage uncompressed (JSON) or wire (as sent)",
      labelNames: ["peer", "direction", "stage"],
      registers,
    });
    this.batchMessages = new Histogram({
      name: "bmn_gateway_batch_messages",
      help: "Messages per batch sent to a peer",
      labelNames: ["peer"],
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024],
      registers,
    });
    this.batchBytes = new Histogram({
      name: "bmn_gateway_batch_bytes",
      help: "Uncompressed bytes per batch sent to a peer",
      labelNames: ["peer"],
      buckets: [1_024, 4_096, 16_384, 65_536, 262_144, 1_048_576, 4_194_304],
      registers,
    });
    this.linkRtt = new Histogram({
      name: "bmn_gateway_link_rtt_seconds",
      help: "Round trip of a batch or route probe to a peer (until its answer is read)",
      labelNames: ["peer"],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
      registers,
    });
    this.forwarded = new Counter({
      name: "bmn_gateway_messages_forwarded_total",
      help: "Messages this gateway forwarded, by outcome: forwarded, duplicate, refused, failed",
      labelNames: ["peer", "outcome"],
      registers,
    });
    this.received = new Counter({
      name: "bmn_gateway_messages_received_total",
      help: "Messages received from peers, by status: accepted, duplicate, refused",
      labelNames: ["peer", "status"],
      registers,
    });
    this.forwardAttempts = new Counter({
      name: "bmn_gateway_forward_attempts_total",
      help: "Batch sends to peers, by outcome: ok, failed, throttled",
      labelNames: ["peer", "outcome"],
      registers,
    });
    this.bandwidthDelays = new Counter({
      name: "bmn_gateway_bandwidth_delays_total",
      help: "Batch sends that waited for the peer link's bandwidth limit (bandwidthBytesPerSecond)",
      labelNames: ["peer"],
      registers,
    });
    this.bandwidthDelaySeconds = new Counter({
      name: "bmn_gateway_bandwidth_delay_seconds_total",
      help: "Time batch sends waited for the peer link's bandwidth limit, in seconds",
      labelNames: ["peer"],
      registers,
    });
    let snapshot: { at: number; backlog: Promise<OutboxBacklog[]> } | undefined;
    const read = (): Promise<OutboxBacklog[]> => {
      if (snapshot === undefined || Date.now() - snapshot.at > 500)
        snapshot = { at: Date.now(), backlog: options.backlog().catch(() => []) };
      return snapshot.backlog;
    };
    new Gauge({
      name: "bmn_gateway_outbox_depth",
      help: "Messages waiting in the outbox for a destination domain (ready, delayed and in flight)",
      labelNames: ["destination"],
      registers,
      async collect() {
        const backlog = await read();
        this.reset();
        for (const entry of backlog)
          this.set({ destination: entry.destination }, entry.depth + entry.inFlight);
      },
    });
    new Gauge({
      name: "bmn_gateway_outbox_oldest_age_seconds",
      help: "Age of the oldest message waiting for a destination domain, as this gateway last saw it",
      labelNames: ["destination"],
      registers,
      async collect() {
        const backlog = await read();
        this.reset();
        for (const entry of backlog) this.set({ destination: entry.destination }, entry.oldestAgeMs / 1_000);
      },
    });
    new Gauge({
      name: "bmn_gateway_link_state",
      help: "Link to a peer: 0 up, 1 unknown (not probed yet), 2 down",
      labelNames: ["peer"],
      registers,
      collect() {
        this.reset();
        for (const link of options.linkStates()) this.set({ peer: link.peer }, link.state);
      },
    });
  }
}
