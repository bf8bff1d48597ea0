/**
 * One reconcile of one AgentEndpoint: read it and its MessageDomain, build the children with the pure builders,
 * server-side apply each of them (field manager `bmn-operator`, forced), delete owned children the spec no
 * longer asks for, then write `status` through the status subresource. Running it twice changes nothing.
 */
import {
  ApiException,
  CustomObjectsApi,
  KubernetesObjectApi,
  PatchStrategy,
  setHeaderOptions,
  type KubeConfig,
  type KubernetesObject,
  type V1Deployment,
} from "@kubernetes/client-node";
import { AGENT_ENDPOINT_KIND, type AgentEndpointStatus } from "../core/crds/agent-endpoint.js";
import { CRD_API_VERSION, CRD_GROUP, CRD_VERSION, type Condition } from "../core/crds/common.js";
import {
  agentChildName,
  agentEndpointSelector,
  buildAgentEndpointChildren,
  type AgentEndpointChildren,
} from "./builders/agent-endpoint.js";
import { BuildError, type BuildOptions } from "./builders/common.js";
import {
  CONDITION_DEGRADED,
  CONDITION_PROGRESSING,
  CONDITION_READY,
  setConditions,
  type ConditionUpdate,
} from "./conditions.js";
import type { AgentEndpoint, MessageDomain } from "./k8s-types.js";

/** The one field manager every write of the operator uses. */
export const FIELD_MANAGER = "bmn-operator";
export const AGENT_ENDPOINT_PLURAL = "agentendpoints";

export interface ReconcileResult {
  /** False when the AgentEndpoint does not exist (garbage collection removes its children). */
  found: boolean;
  /** True when the status subresource was written. */
  statusWritten: boolean;
}

export interface ReconcilerOptions extends BuildOptions {
  /** For tests: the clock used for condition transition times. */
  now?: () => Date;
}

export function isNotFound(error: unknown): boolean {
  return error instanceof ApiException && error.code === 404;
}

/** The children of an AgentEndpoint the spec may drop, and that are then deleted when this owner controls them. */
const OPTIONAL_CHILDREN = [
  { key: "service", apiVersion: "v1", kind: "Service" },
  { key: "horizontalPodAutoscaler", apiVersion: "autoscaling/v2", kind: "HorizontalPodAutoscaler" },
] as const satisfies readonly { key: keyof AgentEndpointChildren; apiVersion: string; kind: string }[];

function controlledBy(object: KubernetesObject, owner: AgentEndpoint): boolean {
  return (object.metadata?.ownerReferences ?? []).some(
    (ref) => ref.controller === true && ref.uid === owner.metadata.uid,
  );
}

/** What the child Deployment says, as condition updates for the AgentEndpoint. */
export function deploymentConditions(
  deployment: V1Deployment,
  desiredReplicas: number,
): { updates: ConditionUpdate[]; replicas: number; readyReplicas: number } {
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
  return { updates, replicas, readyReplicas };
}

/** Conditions for an AgentEndpoint that cannot be built (the message names the field or the missing domain). */
function blockedConditions(reason: string, message: string): ConditionUpdate[] {
  return [
    { type: CONDITION_READY, status: "False", reason, message },
    { type: CONDITION_PROGRESSING, status: "False", reason, message },
    { type: CONDITION_DEGRADED, status: "True", reason, message },
  ];
}

export class AgentEndpointReconciler {
  private readonly objects: KubernetesObjectApi;
  private readonly customObjects: CustomObjectsApi;
  private readonly now: () => Date;

  constructor(
    kubeConfig: KubeConfig,
    private readonly options: ReconcilerOptions = {},
  ) {
    this.objects = KubernetesObjectApi.makeApiClient(kubeConfig);
    this.customObjects = kubeConfig.makeApiClient(CustomObjectsApi);
    this.now = options.now ?? (() => new Date());
  }

  async reconcile(namespace: string, name: string): Promise<ReconcileResult> {
    const endpoint = await this.readOrUndefined<AgentEndpoint>({
      apiVersion: CRD_API_VERSION,
      kind: AGENT_ENDPOINT_KIND,
      metadata: { name, namespace },
    });
    if (endpoint === undefined) return { found: false, statusWritten: false };
    // Being deleted: garbage collection takes the children, and there is no finalizer to run.
    if ((endpoint.metadata as { deletionTimestamp?: unknown }).deletionTimestamp !== undefined)
      return { found: true, statusWritten: false };

    const domainName = endpoint.spec.domain;
    const domain = await this.readOrUndefined<MessageDomain>({
      apiVersion: CRD_API_VERSION,
      kind: "MessageDomain",
      metadata: { name: domainName, namespace },
    });
    if (domain === undefined) {
      const message = `MessageDomain ${domainName} not found in namespace ${namespace}`;
      return this.writeStatus(endpoint, blockedConditions("DomainNotFound", message), {});
    }

    let children: AgentEndpointChildren;
    try {
      children = buildAgentEndpointChildren(endpoint, domain, this.options);
    } catch (error) {
      if (error instanceof BuildError)
        return this.writeStatus(endpoint, blockedConditions("InvalidSpec", error.message), {});
      throw error;
    }

    const deployment = await this.apply<V1Deployment>(children.deployment);
    for (const optional of OPTIONAL_CHILDREN) {
      const wanted = children[optional.key];
      if (wanted !== undefined) await this.apply(wanted);
      else
        await this.deleteIfControlled(endpoint, optional.apiVersion, optional.kind, agentChildName(endpoint));
    }

    const desired = children.deployment.spec.replicas ?? 0;
    const { updates, replicas, readyReplicas } = deploymentConditions(deployment, desired);
    return this.writeStatus(endpoint, updates, {
      replicas,
      readyReplicas,
      selector: agentEndpointSelector(endpoint),
    });
  }

  private async readOrUndefined<T extends KubernetesObject>(header: {
    apiVersion: string;
    kind: string;
    metadata: { name: string; namespace: string };
  }): Promise<T | undefined> {
    try {
      return await this.objects.read<T>(header);
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  private async apply<T extends KubernetesObject>(child: object): Promise<T> {
    return await this.objects.patch<T>(
      child as T,
      undefined,
      undefined,
      FIELD_MANAGER,
      true,
      PatchStrategy.ServerSideApply,
    );
  }

  private async deleteIfControlled(
    owner: AgentEndpoint,
    apiVersion: string,
    kind: string,
    name: string,
  ): Promise<void> {
    const header = { apiVersion, kind, metadata: { name, namespace: owner.metadata.namespace } };
    const existing = await this.readOrUndefined(header);
    if (existing === undefined || !controlledBy(existing, owner)) return;
    try {
      await this.objects.delete(header);
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }

  /** Writes the status (server-side apply on the status subresource) unless it already says the same. */
  private async writeStatus(
    endpoint: AgentEndpoint,
    updates: readonly ConditionUpdate[],
    extra: Pick<AgentEndpointStatus, "replicas" | "readyReplicas" | "selector">,
  ): Promise<ReconcileResult> {
    const generation = endpoint.metadata.generation;
    const current = endpoint.status;
    const conditions: Condition[] = setConditions(current?.conditions, updates, {
      now: this.now(),
      observedGeneration: generation,
    });
    const status: AgentEndpointStatus = {
      ...(generation === undefined ? {} : { observedGeneration: generation }),
      conditions,
      ...extra,
    };
    if (sameStatus(current, status)) return { found: true, statusWritten: false };
    await this.customObjects.patchNamespacedCustomObjectStatus(
      {
        group: CRD_GROUP,
        version: CRD_VERSION,
        namespace: endpoint.metadata.namespace,
        plural: AGENT_ENDPOINT_PLURAL,
        name: endpoint.metadata.name,
        body: {
          apiVersion: CRD_API_VERSION,
          kind: AGENT_ENDPOINT_KIND,
          metadata: { name: endpoint.metadata.name, namespace: endpoint.metadata.namespace },
          status,
        },
        fieldManager: FIELD_MANAGER,
        force: true,
      },
      setHeaderOptions("Content-Type", PatchStrategy.ServerSideApply),
    );
    return { found: true, statusWritten: true };
  }
}

/** Field-by-field equality of the status the operator owns (key order does not matter). */
function sameStatus(current: AgentEndpointStatus | undefined, next: AgentEndpointStatus): boolean {
  if (current === undefined) return false;
  const keys: (keyof AgentEndpointStatus)[] = ["observedGeneration", "replicas", "readyReplicas", "selector"];
  if (keys.some((key) => current[key] !== next[key])) return false;
  const normalize = (conditions: readonly Condition[] | undefined): string =>
    JSON.stringify(
      (conditions ?? []).map((c) => [
        c.type,
        c.status,
        c.reason,
        c.message,
        c.lastTransitionTime,
        c.observedGeneration,
      ]),
    );
  return normalize(current.conditions) === normalize(next.conditions);
}
