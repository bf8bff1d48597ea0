import { createHash } from "node:crypto";
import { describeIssue } from "../../core/api/describe-issue.js";
import { CRD_API_VERSION } from "../../core/crds/common.js";
import type { z } from "zod";
import type { Autoscaling } from "../../core/crds/common.js";
import type {
  CustomResource,
  HorizontalPodAutoscaler,
  MetricSpec,
  ObjectMeta,
  OwnerReference,
} from "../k8s-types.js";

/** The sidecar's fixed port (BRIEF: sidecar HTTP at 7420). */
export const SIDECAR_PORT = 7420;
/** The sidecar's probe and metrics listener in pods: its agent API stays on loopback. */
export const SIDECAR_PROBE_PORT = 7421;
export const SIDECAR_CONTAINER_NAME = "bmn-sidecar";
/** Where the domain ConfigMap is mounted in sidecar and gateway containers. */
export const CONFIG_MOUNT_PATH = "/etc/bmn";
export const CONFIG_VOLUME_NAME = "bmn-domain-config";
/** Used when neither the resource nor its domain names an image; the operator may pass its own. */
export const DEFAULT_IMAGE = "ghcr.io/beast-mode-network/bmn:0.1.0";

export const LABEL_NAME = "app.kubernetes.io/name";
export const LABEL_INSTANCE = "app.kubernetes.io/instance";
export const LABEL_COMPONENT = "app.kubernetes.io/component";
export const LABEL_PART_OF = "app.kubernetes.io/part-of";
export const LABEL_MANAGED_BY = "app.kubernetes.io/managed-by";
export const LABEL_DOMAIN = "beastmode.network/domain";
export const LABEL_AGENT = "beastmode.network/agent";
export const ANNOTATION_CONFIG_HASH = "beastmode.network/config-hash";
export const MANAGED_BY = "bmn-operator";

/** Options every builder takes; all optional. */
export interface BuildOptions {
  /** Image when neither the resource nor its domain names one. */
  defaultImage?: string;
  /**
   * A metrics provider (e.g. prometheus-adapter) serves the gateways' queue depth: their HPAs then scale on
   * it as well as on CPU. Unset: CPU only.
   */
  queueDepthMetric?: QueueDepthMetric;
  /** False: no resource gets the default NetworkPolicy, whatever its spec says. Default true. */
  networkPolicies?: boolean;
}

export interface QueueDepthMetric {
  /** `Pods` (a per-pod custom metric) or `External` (one value per domain, selected by domain label). */
  type: "Pods" | "External";
  /** Default `bmn_gateway_queue_depth`. */
  name?: string;
  /** Messages waiting per replica the HPA aims for, e.g. `100`. */
  targetAverageValue: string;
}

export const DEFAULT_QUEUE_DEPTH_METRIC = "bmn_gateway_queue_depth";

/** The HPA metric for a domain's queue depth, as the options describe it. */
export function queueDepthMetricSpec(metric: QueueDepthMetric, domain: string): MetricSpec {
  const target = { type: "AverageValue" as const, averageValue: metric.targetAverageValue };
  const name = metric.name ?? DEFAULT_QUEUE_DEPTH_METRIC;
  return metric.type === "Pods"
    ? { type: "Pods", pods: { metric: { name }, target } }
    : {
        type: "External",
        external: { metric: { name, selector: { matchLabels: { [LABEL_DOMAIN]: domain } } }, target },
      };
}

/** Raised when a resource cannot be turned into children; `field` is the path in the custom resource. */
export class BuildError extends Error {
  override name = "BuildError";
  constructor(
    message: string,
    readonly field: string,
  ) {
    super(`${field}: ${message}`);
  }
}

type AnyResource = CustomResource<string, unknown, unknown>;

/** The owner reference that makes `owner` the controller of a child (garbage collection on delete). */
export function ownerReference(owner: AnyResource): OwnerReference {
  return {
    apiVersion: CRD_API_VERSION,
    kind: owner.kind,
    name: owner.metadata.name,
    uid: owner.metadata.uid,
    controller: true,
    blockOwnerDeletion: true,
  };
}

/**
 * Labels selecting a resource's pods. Deployment selectors are immutable, so these stay few and never
 * change for a given resource.
 */
export function selectorLabels(appName: string, owner: AnyResource): Record<string, string> {
  return { [LABEL_NAME]: appName, [LABEL_INSTANCE]: owner.metadata.name };
}

/** Selector labels plus the descriptive ones. */
export function commonLabels(
  appName: string,
  component: string,
  owner: AnyResource,
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    ...selectorLabels(appName, owner),
    [LABEL_COMPONENT]: component,
    [LABEL_PART_OF]: "beast-mode-network",
    [LABEL_MANAGED_BY]: MANAGED_BY,
    ...extra,
  };
}

/** Metadata of a child: same namespace, controller owner reference, labels. */
export function childMeta(owner: AnyResource, name: string, labels: Record<string, string>): ObjectMeta {
  return { name, namespace: owner.metadata.namespace, labels, ownerReferences: [ownerReference(owner)] };
}

/** `key=value,...` in key order: the form of a scale subresource's `labelSelectorPath` value. */
export function selectorString(labels: Record<string, string>): string {
  return Object.keys(labels)
    .sort()
    .map((key) => `${key}=${String(labels[key])}`)
    .join(",");
}

/** A short stable digest of some data, e.g. to roll pods when their config changes. */
export function digest(data: unknown): string {
  return createHash("sha256").update(JSON.stringify(data)).digest("hex").slice(0, 16);
}

/** Parses a custom resource's spec with defaults applied; a BuildError names the offending `spec.` field. */
export function parseSpec<S extends z.ZodType>(schema: S, spec: unknown): z.output<S> {
  const parsed = schema.safeParse(spec);
  if (parsed.success) return parsed.data;
  throw buildErrorOf(parsed.error, "spec");
}

/** The first issue of a failed parse as a BuildError naming the field below `prefix`. */
export function buildErrorOf(error: z.ZodError, prefix: string): BuildError {
  const { field, detail } = describeIssue(error.issues[0], { prefix });
  return new BuildError(detail, field ?? prefix);
}

/** The queue an HPA scales on: External metrics the operator serves, selected by these labels. */
export interface QueueDepthSource {
  /** Ready messages, for `targetQueueDepthPerReplica`. */
  metricName: string;
  /** The head's age in seconds, for `targetOldestAgeSeconds`. */
  oldestAgeMetricName: string;
  selector: Record<string, string>;
}

/**
 * An autoscaling/v2 HPA for `target` (a Deployment, or a resource's scale subresource) on what
 * `autoscaling.metric` names: CPU utilisation, the queue's ready depth per replica (External, AverageValue), or
 * both; plus the queue's oldest age (External, Value: one age for the whole queue, not per replica) when
 * `targetOldestAgeSeconds` is set; `extraMetrics` are added as they are.
 */
export function buildAutoscaler(
  owner: AnyResource,
  name: string,
  labels: Record<string, string>,
  target: { apiVersion: string; kind: string; name: string },
  autoscaling: Autoscaling,
  queue: QueueDepthSource,
  extraMetrics: readonly MetricSpec[] = [],
): HorizontalPodAutoscaler {
  const cpu: MetricSpec = {
    type: "Resource",
    resource: {
      name: "cpu",
      target: { type: "Utilization", averageUtilization: autoscaling.targetCPUUtilizationPercentage },
    },
  };
  const queueDepth: MetricSpec = {
    type: "External",
    external: {
      metric: { name: queue.metricName, selector: { matchLabels: queue.selector } },
      target: { type: "AverageValue", averageValue: String(autoscaling.targetQueueDepthPerReplica) },
    },
  };
  const metrics =
    autoscaling.metric === "cpu"
      ? [cpu]
      : autoscaling.metric === "queueDepth"
        ? [queueDepth]
        : [cpu, queueDepth];
  const oldestAge: MetricSpec[] =
    autoscaling.targetOldestAgeSeconds === undefined
      ? []
      : [
          {
            type: "External",
            external: {
              metric: { name: queue.oldestAgeMetricName, selector: { matchLabels: queue.selector } },
              target: { type: "Value", value: String(autoscaling.targetOldestAgeSeconds) },
            },
          },
        ];
  const stabilization = autoscaling.scaleDownStabilizationSeconds;
  return {
    apiVersion: "autoscaling/v2",
    kind: "HorizontalPodAutoscaler",
    metadata: childMeta(owner, name, labels),
    spec: {
      scaleTargetRef: target,
      minReplicas: autoscaling.minReplicas,
      maxReplicas: autoscaling.maxReplicas,
      metrics: [...metrics, ...oldestAge, ...extraMetrics],
      ...(stabilization === undefined
        ? {}
        : { behavior: { scaleDown: { stabilizationWindowSeconds: stabilization } } }),
    },
  };
}
