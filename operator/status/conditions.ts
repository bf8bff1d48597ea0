/** Status conditions: the types every resource reports, and how one update changes a list of conditions. */
import type { Condition, ConditionStatus } from "../../core/crds/common.js";

/** The condition types every Beast Mode Network resource reports. */
export const CONDITION_READY = "Ready";
export const CONDITION_PROGRESSING = "Progressing";
export const CONDITION_DEGRADED = "Degraded";

export interface ConditionUpdate {
  type: string;
  status: ConditionStatus;
  /** CamelCase, e.g. `SecretNotFound`. */
  reason: string;
  message: string;
}

/** metav1.Time: RFC 3339 in UTC with whole seconds. */
function metaTime(now: Date): string {
  return `${now.toISOString().slice(0, 19)}Z`;
}

export function findCondition(
  conditions: readonly Condition[] | undefined,
  type: string,
): Condition | undefined {
  return conditions?.find((condition) => condition.type === type);
}

/**
 * Sets one condition and returns a new list (the input is not changed). `lastTransitionTime` moves only
 * when the status changes; reason, message and observedGeneration always follow the update. Other
 * conditions keep their place; a new one is appended.
 */
export function setCondition(
  conditions: readonly Condition[] | undefined,
  update: ConditionUpdate,
  context: { now: Date; observedGeneration?: number | undefined },
): Condition[] {
  const list = [...(conditions ?? [])];
  const index = list.findIndex((condition) => condition.type === update.type);
  const previous = index === -1 ? undefined : list[index];
  const next: Condition = {
    type: update.type,
    status: update.status,
    reason: update.reason,
    message: update.message,
    lastTransitionTime:
      previous?.status === update.status ? previous.lastTransitionTime : metaTime(context.now),
    ...(context.observedGeneration === undefined ? {} : { observedGeneration: context.observedGeneration }),
  };
  if (index === -1) list.push(next);
  else list[index] = next;
  return list;
}

/** Sets several conditions at once, in order. */
export function setConditions(
  conditions: readonly Condition[] | undefined,
  updates: readonly ConditionUpdate[],
  context: { now: Date; observedGeneration?: number | undefined },
): Condition[] {
  return updates.reduce<Condition[]>(
    (list, update) => setCondition(list, update, context),
    [...(conditions ?? [])],
  );
}
