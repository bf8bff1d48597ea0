/**
 * Conditions of a resource whose workload is a Deployment: `Ready`, `Progressing` and `Degraded` from the
 * Deployment's status, or all three saying why nothing could be built.
 */
import {
  CONDITION_DEGRADED,
  CONDITION_PROGRESSING,
  CONDITION_READY,
  type ConditionUpdate,
} from "./conditions.js";

/** The parts of a Deployment (as read from the apiserver) the conditions come from. */
export interface DeploymentState {
  metadata?: { generation?: number | undefined } | undefined;
  status?:
    | {
        replicas?: number | undefined;
        readyReplicas?: number | undefined;
        updatedReplicas?: number | undefined;
        availableReplicas?: number | undefined;
        observedGeneration?: number | undefined;
        conditions?: {
          type: string;
          status: string;
          reason?: string | undefined;
          message?: string | undefined;
        }[];
      }
    | undefined;
}

/** The replica counts an owner's status shows (its printer columns read them). */
export interface ReplicaCounts {
  /** Pods of the Deployment, surge pods of a rollout included (the scale subresource's status). */
  replicas: number;
  /** What the Deployment is asked to run: the spec's count, or the HPA's while autoscaling. */
  desiredReplicas: number;
  updatedReplicas: number;
  readyReplicas: number;
  availableReplicas: number;
}

/** What a child Deployment says, as condition updates for its owner (an AgentEndpoint or a Gateway). */
export function deploymentConditions(
  deployment: DeploymentState,
  desiredReplicas: number,
): { updates: ConditionUpdate[]; counts: ReplicaCounts } {
  const status = deployment.status;
  const replicas = status?.replicas ?? 0;
  const readyReplicas = status?.readyReplicas ?? 0;
  const updatedReplicas = status?.updatedReplicas ?? 0;
  const generation = deployment.metadata?.generation ?? 0;
  const observed = (status?.observedGeneration ?? 0) >= generation;
  const failure = (status?.conditions ?? []).find(
    (condition) =>
      (condition.type === "ReplicaFailure" && condition.status === "True") ||
      (condition.type === "Progressing" &&
        condition.status === "False" &&
        condition.reason === "ProgressDeadlineExceeded"),
  );
  const rolledOut =
    observed &&
    updatedReplicas >= desiredReplicas &&
    replicas === desiredReplicas &&
    readyReplicas >= desiredReplicas;
  const updates: ConditionUpdate[] = [
    rolledOut
      ? {
          type: CONDITION_READY,
          status: "True",
          reason: "ReplicasReady",
          message: `${readyReplicas}/${desiredReplicas} replicas ready`,
        }
      : {
          type: CONDITION_READY,
          status: "False",
          reason: observed ? "ReplicasNotReady" : "RolloutPending",
          message: `${readyReplicas}/${desiredReplicas} replicas ready`,
        },
    rolledOut
      ? {
          type: CONDITION_PROGRESSING,
          status: "False",
          reason: "RolloutComplete",
          message: "rollout complete",
        }
      : {
          type: CONDITION_PROGRESSING,
          status: "True",
          reason: "RollingOut",
          message: `${updatedReplicas}/${desiredReplicas} replicas updated`,
        },
    failure === undefined
      ? { type: CONDITION_DEGRADED, status: "False", reason: "AsExpected", message: "" }
      : {
          type: CONDITION_DEGRADED,
          status: "True",
          reason: failure.reason ?? "DeploymentFailing",
          message: failure.message ?? "",
        },
  ];
  return {
    updates,
    counts: {
      replicas,
      desiredReplicas,
      updatedReplicas,
      readyReplicas,
      availableReplicas: status?.availableReplicas ?? 0,
    },
  };
}

/** Conditions for a resource that cannot be built (the message names the field or the missing domain). */
export function blockedConditions(reason: string, message: string): ConditionUpdate[] {
  return [
    { type: CONDITION_READY, status: "False", reason, message },
    { type: CONDITION_PROGRESSING, status: "False", reason, message },
    { type: CONDITION_DEGRADED, status: "True", reason, message },
  ];
}

/** Conditions for a resource whose MessageDomain does not exist (yet). */
export function domainNotFoundConditions(resource: {
  metadata: { namespace: string };
  spec: { domain: string };
}): ConditionUpdate[] {
  const message = `MessageDomain ${resource.spec.domain} not found in namespace ${resource.metadata.namespace}`;
  return blockedConditions("DomainNotFound", message);
}
