/**
 * `Autoscaled`: whether an HPA drives the replica count. While it does, `spec.replicas` is ignored, which the
 * condition says (True, reason `ReplicasIgnored`), with a Normal Event when autoscaling takes over.
 */
import type { Condition } from "../../core/crds/common.js";
import { findCondition, type ConditionUpdate } from "./conditions.js";
import type { OperatorEvent } from "./event-recorder.js";

export const CONDITION_AUTOSCALED = "Autoscaled";

export function autoscalingCondition(
  previous: readonly Condition[] | undefined,
  spec: { replicas: number; autoscaling?: { minReplicas: number; maxReplicas: number } | undefined },
  autoscalerName: string,
): { update: ConditionUpdate; event?: OperatorEvent } {
  if (spec.autoscaling === undefined)
    return {
      update: {
        type: CONDITION_AUTOSCALED,
        status: "False",
        reason: "NotConfigured",
        message: `spec.replicas (${String(spec.replicas)}) sets the replica count`,
      },
    };
  const { minReplicas, maxReplicas } = spec.autoscaling;
  const message =
    `spec.replicas (${String(spec.replicas)}) does not set the count while autoscaling is on: ` +
    `HorizontalPodAutoscaler ${autoscalerName} does, between ${String(minReplicas)} and ${String(maxReplicas)}`;
  const update: ConditionUpdate = {
    type: CONDITION_AUTOSCALED,
    status: "True",
    reason: "ReplicasIgnored",
    message,
  };
  const before = findCondition(previous, CONDITION_AUTOSCALED);
  return before?.status === "True"
    ? { update }
    : { update, event: { type: "Normal", reason: "ReplicasIgnored", message } };
}
