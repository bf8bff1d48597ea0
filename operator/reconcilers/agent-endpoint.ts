/**
 * One reconcile of one AgentEndpoint, in order: get it (and its MessageDomain), stop if it is being deleted,
 * build the children with the pure builders, server-side apply each of them (field manager `bmn-operator`,
 * forced) and delete owned children the spec no longer asks for, then write `status` through the status
 * subresource. Running it twice changes nothing.
 */
import type { KubeConfig, V1Deployment } from "@kubernetes/client-node";
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
  removedSubscriptions,
  resolveAgentEndpointSpec,
} from "../builders/agent-endpoint.js";
import { resolveDomainSpec } from "../builders/message-domain.js";
import { autoscalingCondition } from "../status/autoscaling-condition.js";
import { storeQueueReader, type QueueReader } from "./queue-reader.js";
import { lookupStoreSecret } from "./store-secret.js";
import type { AgentEndpoint, MessageDomain } from "../k8s-types.js";
import type { ConditionUpdate } from "../status/conditions.js";
import { deploymentConditions, domainNotFoundConditions } from "../status/deployment-conditions.js";
import {
  BaseReconciler,
  BEING_DELETED,
  buildOrBlock,
  DEFAULT_REFRESH_INTERVAL_MS,
  HORIZONTAL_POD_AUTOSCALER,
  isBeingDeleted,
  NETWORK_POLICY,
  NOT_FOUND,
  type ReconcileResult,
  type ReconcilerOptions,
  SERVICE,
} from "./base.js";

export class AgentEndpointReconciler extends BaseReconciler {
  protected readonly plural = AGENT_ENDPOINT_PLURAL;

  private readonly queueReader: QueueReader;

  constructor(kubeConfig: KubeConfig, options: ReconcilerOptions = {}) {
    super(kubeConfig, options);
    this.queueReader = options.queueReader ?? storeQueueReader();
  }

  /** Closes the store clients the queue reads opened. */
  async close(): Promise<void> {
    await this.queueReader.close();
  }

  async reconcile(namespace: string, name: string): Promise<ReconcileResult> {
    // Get.
    const endpoint = await this.get<AgentEndpoint>(AGENT_ENDPOINT_KIND, namespace, name);
    if (endpoint === undefined) return NOT_FOUND;
    // Deletion: garbage collection takes the children, and there is no finalizer to run.
    if (isBeingDeleted(endpoint)) return BEING_DELETED;
    const domain = await this.get<MessageDomain>(MESSAGE_DOMAIN_KIND, namespace, endpoint.spec.domain);
    if (domain === undefined) return this.write(endpoint, domainNotFoundConditions(endpoint), {});

    // Build. Patterns dropped from spec.subscriptions are read off the current Deployment, which the sidecar
    // then removes at start (the sidecar's store keeps subscriptions, not the spec).
    const current = await this.objects.read<V1Deployment>({
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: agentChildName(endpoint), namespace },
    });
    const ownsCurrent = current?.metadata?.ownerReferences?.some(
      (owner) => owner.controller === true && owner.uid === endpoint.metadata.uid,
    );
    const unsubscribe =
      ownsCurrent === true ? removedSubscriptions(current, endpoint.spec.subscriptions) : [];
    const built = buildOrBlock(() => buildAgentEndpointChildren(endpoint, domain, this.options, unsubscribe));
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

    // Status: the Deployment, autoscaling, and the agent's queue in the domain's store.
    const desired = children.deployment.spec.replicas ?? deployment.spec?.replicas ?? 0;
    const { updates, counts } = deploymentConditions(deployment, desired);
    const spec = resolveAgentEndpointSpec(endpoint);
    const autoscaling = autoscalingCondition(endpoint.status?.conditions, spec, childName);
    const domainName = domain.metadata.name;
    const queue = await this.readQueue(domain, spec.agent);
    const result = await this.write(endpoint, [...updates, autoscaling.update], {
      ...counts,
      selector: agentEndpointSelector(endpoint),
      address: `${spec.agent}@${domainName}`,
      ...(queue === undefined ? {} : { queue }),
    });
    await this.record(endpoint, [autoscaling.event]);
    // A queue changes without any watch event: read it again on an interval.
    return queue === undefined
      ? result
      : { ...result, requeueAfterMs: this.options.refreshIntervalMs ?? DEFAULT_REFRESH_INTERVAL_MS };
  }

  /** The agent's queue in the domain's store; undefined for a memory store or when it cannot be read. */
  private async readQueue(domain: MessageDomain, agent: string): Promise<AgentEndpointStatus["queue"]> {
    const spec = resolveDomainSpec(domain);
    if (spec.store.type === "memory") return undefined;
    const lookup = await lookupStoreSecret(this.objects, domain.metadata.namespace, spec);
    if (lookup.state !== "resolved") return undefined;
    try {
      const { depth, inFlight, deadLettered } = await this.queueReader.stats(domain, lookup.value, agent);
      return { depth, inFlight, deadLettered };
    } catch (error) {
      // The domain's own status reports its store; this one just has no queue figures for now.
      this.options.onError?.(`reading the queue of ${agent}@${domain.metadata.name}`, error);
      return undefined;
    }
  }

  private async write(
    endpoint: AgentEndpoint,
    updates: readonly ConditionUpdate[],
    extra: Omit<AgentEndpointStatus, "observedGeneration" | "conditions">,
  ): Promise<ReconcileResult> {
    return this.writeStatus<AgentEndpointStatus>(endpoint, AGENT_ENDPOINT_PLURAL, updates, extra);
  }
}
