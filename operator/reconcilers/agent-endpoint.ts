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
} from "../builders/agent-endpoint.js";
import type { AgentEndpoint, MessageDomain } from "../k8s-types.js";
import type { ConditionUpdate } from "../status/conditions.js";
import { deploymentConditions, domainNotFoundConditions } from "../status/deployment-conditions.js";
import {
  BaseReconciler,
  BEING_DELETED,
  buildOrBlock,
  HORIZONTAL_POD_AUTOSCALER,
  isBeingDeleted,
  NETWORK_POLICY,
  NOT_FOUND,
  type ReconcileResult,
  SERVICE,
} from "./base.js";

export class AgentEndpointReconciler extends BaseReconciler {
  protected readonly plural = AGENT_ENDPOINT_PLURAL;

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
    const childName = agentChildName(endpoint);
    await this.applyOrDelete(endpoint, children.service, SERVICE, childName);
    await this.applyOrDelete(
      endpoint,
      children.horizontalPodAutoscaler,
      HORIZONTAL_POD_AUTOSCALER,
      childName,
    );
    await this.applyOrDelete(endpoint, children.networkPolicy, NETWORK_POLICY, childName);

    // Status.
    const desired = children.deployment.spec.replicas ?? 0;
    const { updates, counts } = deploymentConditions(deployment, desired);
    return this.write(endpoint, updates, { ...counts, selector: agentEndpointSelector(endpoint) });
  }

  private async write(
    endpoint: AgentEndpoint,
    updates: readonly ConditionUpdate[],
    extra: Omit<AgentEndpointStatus, "observedGeneration" | "conditions">,
  ): Promise<ReconcileResult> {
    return this.writeStatus<AgentEndpointStatus>(endpoint, AGENT_ENDPOINT_PLURAL, updates, extra);
  }
}
