/**
 * One reconcile of one AgentEndpoint: read it and its MessageDomain, build the children with the pure builders,
 * server-side apply each of them (field manager `bmn-operator`, forced), delete owned children the spec no
 * longer asks for, then write `status` through the status subresource. Running it twice changes nothing.
 */
import type { V1Deployment } from "@kubernetes/client-node";
import { AGENT_ENDPOINT_KIND, type AgentEndpointStatus } from "../core/crds/agent-endpoint.js";
import {
  agentChildName,
  agentEndpointSelector,
  buildAgentEndpointChildren,
  type AgentEndpointChildren,
} from "./builders/agent-endpoint.js";
import { deploymentConditions } from "./deployment-conditions.js";
import { DomainMemberReconciler } from "./domain-member-reconciler.js";
import type { AgentEndpoint } from "./k8s-types.js";
import type { BaseReconciler, ReconcileResult } from "./reconciler.js";

export { deploymentConditions } from "./deployment-conditions.js";
export { FIELD_MANAGER, isNotFound } from "./kube-objects.js";
export type { ReconcileResult, ReconcilerOptions } from "./reconciler.js";

export const AGENT_ENDPOINT_PLURAL = "agentendpoints";

/** The children of an AgentEndpoint the spec may drop, and that are then deleted when this owner controls them. */
const OPTIONAL_CHILDREN = [
  { key: "service", apiVersion: "v1", kind: "Service" },
  { key: "horizontalPodAutoscaler", apiVersion: "autoscaling/v2", kind: "HorizontalPodAutoscaler" },
] as const satisfies readonly { key: keyof AgentEndpointChildren; apiVersion: string; kind: string }[];

export class AgentEndpointReconciler extends DomainMemberReconciler {
  async reconcile(namespace: string, name: string): Promise<ReconcileResult> {
    // Being deleted: garbage collection takes the children, and there is no finalizer to run.
    const prepared = await this.prepare<AgentEndpoint, AgentEndpointChildren>(
      AGENT_ENDPOINT_KIND,
      namespace,
      name,
      (endpoint, domain) => buildAgentEndpointChildren(endpoint, domain, this.options),
      (endpoint, updates) => this.write(endpoint, updates, {}),
    );
    if (prepared.done !== undefined) return prepared.done;
    const { resource: endpoint, children } = prepared;

    const deployment = await this.applyChild<V1Deployment>(endpoint, children.deployment);
    for (const optional of OPTIONAL_CHILDREN) {
      const wanted = children[optional.key];
      if (wanted !== undefined) await this.applyChild(endpoint, wanted);
      else
        await this.deleteChild(endpoint, {
          apiVersion: optional.apiVersion,
          kind: optional.kind,
          metadata: { name: agentChildName(endpoint), namespace },
        });
    }

    const desired = children.deployment.spec.replicas ?? 0;
    const { updates, replicas, readyReplicas } = deploymentConditions(deployment, desired);
    return this.write(endpoint, updates, {
      replicas,
      readyReplicas,
      selector: agentEndpointSelector(endpoint),
    });
  }

  private async write(
    endpoint: AgentEndpoint,
    updates: Parameters<BaseReconciler["writeStatus"]>[2],
    extra: Pick<AgentEndpointStatus, "replicas" | "readyReplicas" | "selector">,
  ): Promise<ReconcileResult> {
    return this.writeStatus<AgentEndpointStatus>(endpoint, AGENT_ENDPOINT_PLURAL, updates, extra);
  }
}
