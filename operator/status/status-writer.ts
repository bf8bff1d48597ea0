/**
 * Writes a custom resource's `status` through the status subresource (server-side apply, the operator's
 * field manager), and only when it differs from what the resource already says, so a reconcile that changes
 * nothing writes nothing.
 */
import { CustomObjectsApi, PatchStrategy, setHeaderOptions, type KubeConfig } from "@kubernetes/client-node";
import { CRD_API_VERSION, CRD_GROUP, CRD_VERSION, type Condition } from "../../core/crds/common.js";
import { setConditions, type ConditionUpdate } from "./conditions.js";
import { FIELD_MANAGER } from "../kube-objects.js";

export interface BaseStatus {
  observedGeneration?: number | undefined;
  conditions?: Condition[] | undefined;
}

/** The resource whose status is written: what identifies it, its generation and its current status. */
export interface StatusTarget<S extends BaseStatus> {
  kind: string;
  metadata: { name: string; namespace: string; generation?: number | undefined };
  status?: S | undefined;
}

/** JSON with object keys sorted, so two statuses compare equal whatever order the apiserver kept. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, inner: unknown) =>
    inner !== null && typeof inner === "object" && !Array.isArray(inner)
      ? Object.fromEntries(Object.entries(inner).sort(([a], [b]) => a.localeCompare(b)))
      : inner,
  );
}

/** True when two statuses say the same thing (key order and absent-vs-undefined do not matter). */
export function statusEqual(current: object | undefined, next: object): boolean {
  return current !== undefined && canonical(current) === canonical(next);
}

/**
 * The next status: `extra` fields, the conditions updated (transition times move only on a status change),
 * and `observedGeneration` on the status and on each condition.
 */
export function nextStatus<S extends BaseStatus>(
  target: StatusTarget<S>,
  updates: readonly ConditionUpdate[],
  extra: Omit<S, keyof BaseStatus>,
  now: Date,
): S {
  const generation = target.metadata.generation;
  const conditions = setConditions(target.status?.conditions, updates, {
    now,
    observedGeneration: generation,
  });
  return {
    ...(generation === undefined ? {} : { observedGeneration: generation }),
    conditions,
    ...extra,
  } as S;
}

export class StatusWriter {
  private readonly customObjects: CustomObjectsApi;

  constructor(kubeConfig: KubeConfig) {
    this.customObjects = kubeConfig.makeApiClient(CustomObjectsApi);
  }

  /** Applies `status` unless the target already has it; true when it wrote. */
  async write<S extends BaseStatus>(target: StatusTarget<S>, plural: string, status: S): Promise<boolean> {
    if (statusEqual(target.status, status)) return false;
    const { name, namespace } = target.metadata;
    await this.customObjects.patchNamespacedCustomObjectStatus(
      {
        group: CRD_GROUP,
        version: CRD_VERSION,
        namespace,
        plural,
        name,
        body: { apiVersion: CRD_API_VERSION, kind: target.kind, metadata: { name, namespace }, status },
        fieldManager: FIELD_MANAGER,
        force: true,
      },
      setHeaderOptions("Content-Type", PatchStrategy.ServerSideApply),
    );
    return true;
  }
}
