import {
  CoreV1Api,
  PatchStrategy,
  setHeaderOptions,
  type KubeConfig,
  type V1Pod,
} from "@kubernetes/client-node";
import type { Logger } from "pino";
import { raceTimeout } from "../../core/race-timeout.js";
import { LABEL_COMPONENT, LABEL_MANAGED_BY, MANAGED_BY, SIDECAR_PROBE_PORT } from "../builders/common.js";

/** The annotation the ReplicaSet controller reads when it picks pods to remove: the lowest cost goes first. */
export const DELETION_COST_ANNOTATION = "controller.kubernetes.io/pod-deletion-cost";
const LEASES_HELD = /^bmn_sidecar_leases_held(?:\{[^}]*\})? (\d+(?:\.\d+)?)$/m;
const INTERVAL_MS = 5_000;
const SCRAPE_TIMEOUT_MS = 2_000;
/** Pods looked at per round at most, so one round stays short however many agents run. */
const MAX_PODS_PER_ROUND = 500;
/** A cost is an int32; the leases held are far below, but a bad answer must not make an invalid patch. */
const MAX_COST = 1_000_000;

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
    return response.ok ? leasesHeld(await response.text()) : undefined;
  };

  const round = async (): Promise<void> => {
    const list =
      options.namespace === undefined
        ? await api.listPodForAllNamespaces({ labelSelector: selector, limit: MAX_PODS_PER_ROUND })
        : await api.listNamespacedPod({
            namespace: options.namespace,
            labelSelector: selector,
            limit: MAX_PODS_PER_ROUND,
          });
    for (const pod of list.items) {
      if (stopped || !options.isLeader()) return;
      await updatePod(pod);
    }
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
