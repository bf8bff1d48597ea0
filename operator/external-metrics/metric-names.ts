/**
 * The External metrics the operator serves on `external.metrics.k8s.io` (docs/autoscaling.md), and the labels an
 * HPA selects them by. Values come from the domain's store, per agent queue or per domain outbox.
 */
export const EXTERNAL_METRICS_GROUP = "external.metrics.k8s.io";
export const EXTERNAL_METRICS_VERSION = "v1beta1";

export const QUEUE_METRICS = {
  /** Messages ready for the agent now (not leased, not delayed). */
  readyDepth: "bmn_queue_ready_depth",
  /** Messages leased by the agent's pods and not yet acknowledged. */
  inFlight: "bmn_queue_in_flight",
  /** Seconds since the message at the head of the ready line was sent (0 when nothing is ready). */
  oldestAgeSeconds: "bmn_queue_oldest_age_seconds",
} as const;

export const OUTBOX_METRICS = {
  /** Messages in the domain's outboxes waiting for a gateway to forward them. */
  readyDepth: "bmn_outbox_ready_depth",
  /** Outbox messages a gateway has leased and not yet forwarded. */
  inFlight: "bmn_outbox_in_flight",
  /** The largest head age over the domain's outboxes, in seconds (0 when nothing waits). */
  oldestAgeSeconds: "bmn_outbox_oldest_age_seconds",
} as const;

export type QueueMetricName = (typeof QUEUE_METRICS)[keyof typeof QUEUE_METRICS];
export type OutboxMetricName = (typeof OUTBOX_METRICS)[keyof typeof OUTBOX_METRICS];
export const EXTERNAL_METRIC_NAMES: readonly string[] = [
  ...Object.values(QUEUE_METRICS),
  ...Object.values(OUTBOX_METRICS),
];
