/**
 * Which Events a status change deserves. Only transitions count, judged against the status the resource
 * already has, so a resync (or an operator restart) that finds the same state records nothing.
 */
import type { Condition } from "../../core/crds/common.js";
import { CONDITION_DEGRADED, findCondition, type ConditionUpdate } from "./conditions.js";
import type { ApplyChange } from "../kube-objects.js";
import type { OperatorEvent } from "./event-recorder.js";

/** `Degraded` is bad when True; every other condition this operator reports is bad when False. */
function isBad(condition: Pick<Condition, "type" | "status">): boolean {
  return condition.type === CONDITION_DEGRADED ? condition.status === "True" : condition.status === "False";
}

/**
 * Events for the watched condition types: a Warning (reason = the condition's reason) when one turns bad or
 * changes reason while bad, a Normal `Recovered` when a bad one turns good. A condition seen for the first
 * time in a good state records nothing.
 */
export function conditionEvents(
  previous: readonly Condition[] | undefined,
  updates: readonly ConditionUpdate[],
  watched: readonly string[] = [CONDITION_DEGRADED],
): OperatorEvent[] {
  const events: OperatorEvent[] = [];
  for (const update of updates) {
    if (!watched.includes(update.type)) continue;
    const before = findCondition(previous, update.type);
    const wasBad = before !== undefined && isBad(before);
    if (isBad(update)) {
      if (!wasBad || before.reason !== update.reason)
        events.push({ type: "Warning", reason: update.reason, message: update.message || update.reason });
    } else if (wasBad) {
      events.push({
        type: "Normal",
        reason: "Recovered",
        message: `${update.type} is ${update.status} again (was ${before.reason})`,
      });
    }
  }
  return events;
}

/** A Normal event for a child that was created or changed; none when the apply changed nothing. */
export function childEvent(
  change: ApplyChange | "deleted",
  child: { kind?: string | undefined; metadata?: { name?: string; uid?: string; resourceVersion?: string } },
): OperatorEvent | undefined {
  if (change === "unchanged") return undefined;
  const verb = { created: "Created", updated: "Updated", deleted: "Deleted" }[change];
  return {
    type: "Normal",
    reason: verb,
    message: `${verb.toLowerCase()} ${child.kind ?? "object"} ${child.metadata?.name ?? ""}`,
    dedupeKey: `${child.metadata?.uid ?? ""}/${child.metadata?.resourceVersion ?? ""}`,
  };
}
