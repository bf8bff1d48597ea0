/**
 * The condition of a workload a MessageDomain runs for itself (`ConsoleReady` for spec.console,
 * `LegacyBridgeReady` for spec.legacyBridge): the Secret key it needs, then its Deployment. A failure also turns
 * the domain `Degraded` (which records a Warning Event), unless the domain is already degraded for its own
 * reasons; `Ready` stays about messaging. Pure, so every case is unit-tested without an apiserver.
 */
import type { SecretKeySelector } from "../k8s-types.js";
import { CONDITION_DEGRADED, CONDITION_READY, type ConditionUpdate } from "./conditions.js";
import { deploymentConditions, type DeploymentState } from "./deployment-conditions.js";

/** What reading one Secret key gave. The value never goes into a condition or an Event. */
export type SecretKeyLookup =
  | { state: "found"; value: string }
  | { state: "secretNotFound" }
  | { state: "keyNotFound" }
  | { state: "forbidden" };

export interface WorkloadState {
  /** The condition type, e.g. `ConsoleReady`. */
  type: string;
  /** The spec field that turns it on, e.g. `spec.console`. */
  field: string;
  /** The Secret key the pod needs and the spec field naming it, or nothing to check. */
  secret?: { ref: SecretKeySelector; field: string; lookup: SecretKeyLookup };
  /** The Deployment as applied; undefined when the workload is not asked for. */
  deployment?: DeploymentState;
}

/** The workload's condition, and a `Degraded` update when it is failing. */
export function workloadConditions(state: WorkloadState): { updates: ConditionUpdate[]; retry: boolean } {
  const { type } = state;
  if (state.deployment === undefined)
    return {
      updates: [{ type, status: "True", reason: "NotEnabled", message: `${state.field} is not enabled` }],
      retry: false,
    };
  const secret = state.secret === undefined ? undefined : secretProblem(state.secret);
  if (secret !== undefined) {
    const update: ConditionUpdate = { type, ...secret };
    const degraded: ConditionUpdate[] =
      secret.status === "False" ? [{ ...update, type: CONDITION_DEGRADED, status: "True" }] : [];
    return { updates: [update, ...degraded], retry: true };
  }
  const { updates } = deploymentConditions(state.deployment, 1);
  const ready = updates.find((update) => update.type === CONDITION_READY);
  const degraded = updates.find((update) => update.type === CONDITION_DEGRADED && update.status === "True");
  return {
    updates: [
      ...(ready === undefined ? [] : [{ ...ready, type }]),
      ...(degraded === undefined ? [] : [degraded]),
    ],
    retry: false,
  };
}

function secretProblem(
  secret: NonNullable<WorkloadState["secret"]>,
): Omit<ConditionUpdate, "type"> | undefined {
  const { ref, field, lookup } = secret;
  switch (lookup.state) {
    case "found":
      return undefined;
    case "secretNotFound":
      return {
        status: "False",
        reason: "SecretNotFound",
        message: `Secret ${ref.name} (${field}) not found; the pod cannot start until it exists`,
      };
    case "keyNotFound":
      return {
        status: "False",
        reason: "SecretKeyNotFound",
        message: `Secret ${ref.name} (${field}) has no non-empty key ${ref.key}; the pod cannot start until it has`,
      };
    case "forbidden":
      return {
        status: "Unknown",
        reason: "SecretNotReadable",
        message: `the operator may not read Secret ${ref.name} (see the chart's rbac.secretNamespaces)`,
      };
  }
}

/**
 * Adds the workloads' updates after the domain's own: a workload's `Degraded` only when the domain's own
 * `Degraded` is False (a store problem stays the reason shown).
 */
export function withWorkloadConditions(
  domain: readonly ConditionUpdate[],
  workloads: readonly ConditionUpdate[],
): ConditionUpdate[] {
  const domainDegraded = domain.some(
    (update) => update.type === CONDITION_DEGRADED && update.status === "True",
  );
  const ownDegraded = workloads.filter((update) => update.type === CONDITION_DEGRADED);
  const [firstDegraded] = ownDegraded;
  return [
    ...domain,
    ...workloads.filter((update) => update.type !== CONDITION_DEGRADED),
    ...(domainDegraded || firstDegraded === undefined ? [] : [firstDegraded]),
  ];
}
