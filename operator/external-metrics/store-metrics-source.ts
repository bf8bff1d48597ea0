import type { KubeConfig, V1Secret } from "@kubernetes/client-node";
import { sidecarConfigSchema } from "../../core/config.js";
import { CRD_API_VERSION } from "../../core/crds/common.js";
import { OUTBOX_QUEUE_PREFIX } from "../../core/names.js";
import { createStore } from "../../store/create-store.js";
import { readyHeadAgeMs } from "../../store/ready-head-age.js";
import type { MessageStore } from "../../store/store.js";
import { domainSidecarConfig, resolveDomainSpec } from "../builders/message-domain.js";
import { LABEL_AGENT, LABEL_DOMAIN } from "../builders/common.js";
import type { MessageDomain } from "../k8s-types.js";
import { KubeObjects } from "../kube-objects.js";
import { lookupSecret } from "../status/domain-conditions.js";
import { OUTBOX_METRICS, QUEUE_METRICS } from "./metric-names.js";

/** Why a metric has no value; the server answers it as a 4xx/5xx with this message. */
export class MetricUnavailableError extends Error {
  override name = "MetricUnavailableError";
  constructor(
    message: string,
    readonly status: 400 | 404 | 503,
  ) {
    super(message);
  }
}

export interface MetricValue {
  value: number;
  labels: Record<string, string>;
}

/** Reads one External metric's value for a namespace and label selector. */
export interface MetricsSource {
  read(namespace: string, metricName: string, selector: Record<string, string>): Promise<MetricValue>;
  close(): Promise<void>;
}

/**
 * One metric over some queues: depths add up; the oldest age is the largest head age, in seconds to the
 * millisecond (a quantity the HPA reads as it is), 0 when nothing is ready.
 */
export async function valueOf(
  store: Pick<MessageStore, "queueStats" | "browseQueue">,
  metricName: string,
  queues: readonly string[],
  now = Date.now(),
): Promise<number> {
  if (metricName === QUEUE_METRICS.oldestAgeSeconds || metricName === OUTBOX_METRICS.oldestAgeSeconds) {
    let oldestMs = 0;
    for (const queue of queues) oldestMs = Math.max(oldestMs, (await readyHeadAgeMs(store, queue, now)) ?? 0);
    return Math.round(oldestMs) / 1_000;
  }
  const inFlight = metricName === QUEUE_METRICS.inFlight || metricName === OUTBOX_METRICS.inFlight;
  let value = 0;
  for (const queue of queues) {
    const stats = await store.queueStats(queue);
    value += inFlight ? stats.inFlight : stats.ready;
  }
  return value;
}

/** Open stores kept at most: one per MessageDomain asked about; the least recently used is closed first. */
const MAX_OPEN_STORES = 32;

interface OpenStore {
  /** The URL it was opened with: a changed Secret opens a new one. */
  url: string;
  store: Promise<MessageStore>;
}

/**
 * Metric values straight from a MessageDomain's store (the one its sidecars use), found through the
 * MessageDomain named by the selector's `beastmode.network/domain` label in the asked namespace and the Secret
 * holding its URL. The operator needs `get` on that Secret (the chart's rbac.secretNamespaces).
 */
export class StoreMetricsSource implements MetricsSource {
  private readonly objects: KubeObjects;
  private readonly stores = new Map<string, OpenStore>();

  constructor(kubeConfig: KubeConfig) {
    this.objects = new KubeObjects(kubeConfig);
  }

  async read(namespace: string, metricName: string, selector: Record<string, string>): Promise<MetricValue> {
    const domainName = selector[LABEL_DOMAIN];
    if (domainName === undefined) {
      throw new MetricUnavailableError(`labelSelector must name ${LABEL_DOMAIN}`, 400);
    }
    const isQueueMetric = (Object.values(QUEUE_METRICS) as string[]).includes(metricName);
    const isOutboxMetric = (Object.values(OUTBOX_METRICS) as string[]).includes(metricName);
    if (!isQueueMetric && !isOutboxMetric) throw new MetricUnavailableError(`no metric ${metricName}`, 404);
    const agent = selector[LABEL_AGENT];
    if (isQueueMetric && agent === undefined) {
      throw new MetricUnavailableError(`labelSelector must name ${LABEL_AGENT} for ${metricName}`, 400);
    }
    const store = await this.storeOf(namespace, domainName);
    const queues = isQueueMetric
      ? [agent ?? ""]
      : (await store.listQueues()).filter((queue) => queue.startsWith(OUTBOX_QUEUE_PREFIX));
    return { value: await valueOf(store, metricName, queues), labels: { ...selector } };
  }

  private async storeOf(namespace: string, domainName: string): Promise<MessageStore> {
    const domain = await this.objects.read<MessageDomain>({
      apiVersion: CRD_API_VERSION,
      kind: "MessageDomain",
      metadata: { name: domainName, namespace },
    });
    if (domain === undefined) {
      throw new MetricUnavailableError(`no MessageDomain ${domainName} in namespace ${namespace}`, 404);
    }
    const spec = resolveDomainSpec(domain);
    const ref = spec.store.type === "memory" ? undefined : spec.store.connection?.secretRef;
    if (ref === undefined) {
      throw new MetricUnavailableError(
        `MessageDomain ${domainName} has a memory store: nothing to read`,
        404,
      );
    }
    const secret = await this.objects.read<V1Secret>({
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: ref.name, namespace },
    });
    const lookup = lookupSecret(spec, secret);
    if (lookup.state !== "resolved") {
      throw new MetricUnavailableError(
        `the store Secret of MessageDomain ${domainName} is ${lookup.state}`,
        503,
      );
    }
    const key = `${namespace}/${domainName}`;
    const open = this.stores.get(key);
    if (open?.url === lookup.value) {
      // Most recently used last.
      this.stores.delete(key);
      this.stores.set(key, open);
      return open.store;
    }
    if (open !== undefined) await this.closeOne(key, open);
    const base = domainSidecarConfig(domain);
    const config = sidecarConfigSchema.parse({
      ...base,
      store:
        spec.store.type === "redis"
          ? { ...base.store, redis: { ...base.store?.redis, url: lookup.value } }
          : { type: "sql", sql: { urls: lookup.value.split(",").map((url) => url.trim()) } },
    });
    const store = createStore(config, "bmn-operator-metrics");
    const entry = { url: lookup.value, store };
    this.stores.set(key, entry);
    // A store that cannot be opened is forgotten, so the next read tries again.
    store.catch(() => {
      if (this.stores.get(key) === entry) this.stores.delete(key);
    });
    while (this.stores.size > MAX_OPEN_STORES) {
      const [oldestKey, oldest] = this.stores.entries().next().value ?? [];
      if (oldestKey === undefined || oldest === undefined) break;
      await this.closeOne(oldestKey, oldest);
    }
    return store;
  }

  private async closeOne(key: string, open: OpenStore): Promise<void> {
    this.stores.delete(key);
    try {
      await (await open.store).close();
    } catch {
      // It failed to open or to close: nothing is left to release.
    }
  }

  async close(): Promise<void> {
    for (const [key, open] of [...this.stores]) await this.closeOne(key, open);
  }
}
