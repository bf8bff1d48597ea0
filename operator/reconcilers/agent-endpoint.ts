/**
 * One reconcile of one AgentEndpoint, in order: get it (and its MessageDomain), stop if it is being deleted,
 * build the children with the pure builders, server-side apply each of them (field manager `bmn-operator`,
 * forced) and delete owned children the spec no longer asks for, then write `status` through the status
 * subresource. Running it twice changes nothing.
 */
import type { V1Deployment } from "@kubernetes/client-node";
import {
  AGENT_ENDPOINT_KIND,
  AGENT_ENDPOINT_PLURAL,
  type AgentEndpointStatus,
} from "../../core/crds/agent-endpoint.js";
import { MESSAGE_DOMAIN_KIND } from "../../core/crds/message-domain.js";
import {
  agentChildName,
  agentEndpointSelector,
  buildAgentEndpointChildren,
  type AgentEndpointChildren,
} from "../builders/agent-endpoint.js";
import type { AgentEndpoint, MessageDomain } from "../k8s-types.js";
import type { ConditionUpdate } from "../status/conditions.js";
import { deploymentConditions, domainNotFoundConditions } from "../status/deployment-conditions.js";
import {
  BaseReconciler,
  BEING_DELETED,
  buildOrBlock,
  isBeingDeleted,
  NOT_FOUND,
  type ReconcileResult,
} from "./base.js";

/** The children of an AgentEndpoint the spec may drop, and that are then deleted when this owner controls them. */
const OPTIONAL_CHILDREN = [
  { key: "service", apiVersion: "v1", kind: "Service" },
  { key: "horizontalPodAutoscaler", apiVersion: "autoscaling/v2", kind: "HorizontalPodAutoscaler" },
  { key: "networkPolicy", apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy" },
] as const satisfies readonly { key: keyof AgentEndpointChildren; apiVersion: string; kind: string }[];

export class AgentEndpointReconciler extends BaseReconciler {
  async reconcile(namespace: string, name: string): Promise<ReconcileResult> {
    // Get.
    const endpoint = await this.get<AgentEndpoint>(AGENT_ENDPOINT_KIND, namespace, name);
    if (endpoint === undefined) return NOT_FOUND;
    // Deletion: garbage collection takes the children, and there is no finalizer to run.
    if (isBeingDeleted(endpoint)) return BEING_DELETED;
    const domain = await this.get<MessageDomain>(MESSAGE_DOMAIN_KIND, namespace, endpoint.spec.domain);
    if (domain === undefined) return this.write(endpoint, domainNotFoundConditions(endpoint), {});

    // Build.
    const built = buildOrBlock(() => buildAgentEndpointChildren(endpoint, domain, this.options));
    if ("blocked" in built) return this.write(endpoint, built.blocked, {});
    const { children } = built;

    // Apply.
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

    // Status.
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
    updates: readonly ConditionUpdate[],
    extra: Pick<AgentEndpointStatus, "replicas" | "readyReplicas" | "selector">,
  ): Promise<ReconcileResult> {
    return this.writeStatus<AgentEndpointStatus>(endpoint, AGENT_ENDPOINT_PLURAL, updates, extra);
  }
}
