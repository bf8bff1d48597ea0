import {
  CoreV1Api,
  PatchStrategy,
  setHeaderOptions,
  type KubeConfig,
  type V1Pod,
} from "@kubernetes/client-node";
import type { Logger } from "pino";
import { raceTimeout } from "../../core/race-timeout.js";
import { readBoundedText } from "../../runtime/http/read-bounded.js";
import { LABEL_COMPONENT, LABEL_MANAGED_BY, MANAGED_BY, SIDECAR_PROBE_PORT } from "../builders/common.js";

/** The annotation the ReplicaSet controller reads when it picks pods to remove: the lowest cost goes first. */
export const DELETION_COST_ANNOTATION = "controller.kubernetes.io/pod-deletion-cost";
const LEASES_HELD = /^bmn_sidecar_leases_held(?:\{[^}]*\})? (\d+(?:\.\d+)?)$/m;
const INTERVAL_MS = 5_000;
const SCRAPE_TIMEOUT_MS = 2_000;
/** A sidecar's /metrics is a few KiB; a pod answering more is not one. */
const MAX_METRICS_BYTES = 256 * 1024;
/** Sidecars scraped at once: a round of slow pods takes rounds × the timeout, not pods × the timeout. */
const SCRAPE_CONCURRENCY = 16;
/** Pods listed per page, and looked at per round at most, so one round stays bounded however many agents run. */
const PAGE_SIZE = 500;
const MAX_PODS_PER_ROUND = 5_000;
/** A cost is an int32; the leases held are far below, but a bad answer must not make an invalid patch. */
const MAX_COST = 1_000_000;

/**
 * The cost only steers a ReplicaSet's scale-down, and the operator's agent pods are a ReplicaSet's (through their
 * Deployment): a bare pod that merely carries the labels is not scraped.
 */
export function ownedByReplicaSet(
  owners: readonly { kind: string; apiVersion: string; controller?: boolean | undefined }[] | undefined,
): boolean {
  return (owners ?? []).some(
    (owner) => owner.kind === "ReplicaSet" && owner.apiVersion === "apps/v1" && owner.controller === true,
  );
}

/** The leases a sidecar reports on its probe listener's /metrics, or undefined when it does not answer. */
export function leasesHeld(metricsText: string): number | undefined {
  const value = LEASES_HELD.exec(metricsText)?.[1];
  return value === undefined ? undefined : Math.min(Math.floor(Number(value)), MAX_COST);
}

export interface DeletionCostUpdater {
  stop(): Promise<void>;
}

/**
 * While `isLeader()`, every INTERVAL_MS: for each running agent pod the operator made, read the leases its
 * sidecar holds (`bmn_sidecar_leases_held` on the probe port) and set `pod-deletion-cost` to it, so a scale-down
 * removes idle pods first and pods holding work last. A pod whose sidecar does not answer keeps its annotation.
 */
export function startDeletionCostUpdater(
  kubeConfig: KubeConfig,
  options: { namespace?: string; isLeader: () => boolean; logger: Logger },
): DeletionCostUpdater {
  const api = kubeConfig.makeApiClient(CoreV1Api);
  const selector = `${LABEL_MANAGED_BY}=${MANAGED_BY},${LABEL_COMPONENT}=agent`;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;

  const scrape = async (ip: string): Promise<number | undefined> => {
    const response = await raceTimeout(
      fetch(`http://${ip}:${SIDECAR_PROBE_PORT}/metrics`, { signal: AbortSignal.timeout(SCRAPE_TIMEOUT_MS) }),
      SCRAPE_TIMEOUT_MS,
      () => new Error("no answer"),
    );
    if (!response.ok) {
      await response.body?.cancel().catch(() => undefined);
      return undefined;
    }
    return leasesHeld(await readBoundedText(response, MAX_METRICS_BYTES));
  };

  const round = async (): Promise<void> => {
    let seen = 0;
    let page: string | undefined;
    do {
      const query = {
        labelSelector: selector,
        limit: PAGE_SIZE,
        ...(page === undefined ? {} : { _continue: page }),
      };
      const list =
        options.namespace === undefined
          ? await api.listPodForAllNamespaces(query)
          : await api.listNamespacedPod({ namespace: options.namespace, ...query });
      const pods = list.items.filter((pod) => ownedByReplicaSet(pod.metadata?.ownerReferences));
      seen += list.items.length;
      for (let start = 0; start < pods.length; start += SCRAPE_CONCURRENCY) {
        if (stopped || !options.isLeader()) return;
        const results = await Promise.allSettled(
          pods.slice(start, start + SCRAPE_CONCURRENCY).map(updatePod),
        );
        const failed = results.find((result) => result.status === "rejected");
        if (failed !== undefined)
          options.logger.warn({ err: failed.reason }, "pod-deletion-cost: a pod could not be annotated");
      }
      const next = list.metadata?._continue;
      page = next === undefined || next === "" ? undefined : next;
    } while (page !== undefined && seen < MAX_PODS_PER_ROUND);
  };

  const updatePod = async (pod: V1Pod): Promise<void> => {
    if (pod.metadata === undefined) return;
    const { name, namespace, annotations, deletionTimestamp } = pod.metadata;
    const ip = pod.status?.podIP;
    if (name === undefined || namespace === undefined || ip === undefined || deletionTimestamp !== undefined)
      return;
    if (pod.status?.phase !== "Running") return;
    let held: number | undefined;
    try {
      held = await scrape(ip);
    } catch {
      return; // not answering (starting, stopping): try again next round
    }
    if (held === undefined || annotations?.[DELETION_COST_ANNOTATION] === String(held)) return;
    await api.patchNamespacedPod(
      { name, namespace, body: { metadata: { annotations: { [DELETION_COST_ANNOTATION]: String(held) } } } },
      setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
    );
  };

  const tick = (): void => {
    if (stopped) return;
    if (!options.isLeader()) {
      timer = setTimeout(tick, INTERVAL_MS);
      return;
    }
    running = round()
      .catch((error: unknown) => {
        options.logger.warn({ err: error }, "pod-deletion-cost: a round failed; trying again");
      })
      .finally(() => {
        if (!stopped) timer = setTimeout(tick, INTERVAL_MS);
      });
  };
  tick();
  return {
    async stop() {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
      await running;
    },
  };
}
