/**
 * One reconcile of one Gateway, in order: get it (and its MessageDomain), stop if it is being deleted, build
 * the children (ConfigMap, Deployment, Service, PodDisruptionBudget, and an HPA when autoscaling is on),
 * server-side apply them, delete an HPA no longer asked for, and write status from the Deployment, as for an
 * AgentEndpoint.
 */
import type { V1Deployment } from "@kubernetes/client-node";
import { GATEWAY_KIND, GATEWAY_PLURAL, type GatewayStatus } from "../../core/crds/gateway.js";
import { MESSAGE_DOMAIN_KIND } from "../../core/crds/message-domain.js";
import { buildGatewayChildren, gatewayChildName, type GatewayChildren } from "../builders/gateway.js";
import type { Gateway, MessageDomain } from "../k8s-types.js";
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
} from "./base.js";

/** The replica count the Deployment should reach: the spec's, or the HPA's when it owns the count. */
function desiredReplicas(children: GatewayChildren, deployment: V1Deployment): number {
  return children.deployment.spec.replicas ?? deployment.spec?.replicas ?? 1;
}

export class GatewayReconciler extends BaseReconciler {
  protected readonly plural = GATEWAY_PLURAL;

  async reconcile(namespace: string, name: string): Promise<ReconcileResult> {
    // Get.
    const gateway = await this.get<Gateway>(GATEWAY_KIND, namespace, name);
    if (gateway === undefined) return NOT_FOUND;
    // Deletion: garbage collection takes the children, and there is no finalizer to run.
    if (isBeingDeleted(gateway)) return BEING_DELETED;
    const domain = await this.get<MessageDomain>(MESSAGE_DOMAIN_KIND, namespace, gateway.spec.domain);
    if (domain === undefined) return this.write(gateway, domainNotFoundConditions(gateway), {});

    // Build.
    const built = buildOrBlock(() => buildGatewayChildren(gateway, domain, this.options));
    if ("blocked" in built) return this.write(gateway, built.blocked, {});
    const { children } = built;

    // Apply. The ConfigMap first: the Deployment's pods mount it.
    await this.applyChild(gateway, children.configMap);
    const deployment = await this.applyChild<V1Deployment>(gateway, children.deployment);
    await this.applyChild(gateway, children.service);
    await this.applyChild(gateway, children.podDisruptionBudget);
    const childName = gatewayChildName(gateway);
    await this.applyOrDelete(gateway, children.horizontalPodAutoscaler, HORIZONTAL_POD_AUTOSCALER, childName);
    await this.applyOrDelete(gateway, children.networkPolicy, NETWORK_POLICY, childName);

    // Status.
    const { updates, replicas, readyReplicas } = deploymentConditions(
      deployment,
      desiredReplicas(children, deployment),
    );
    return this.write(gateway, updates, { replicas, readyReplicas });
  }

  private async write(
    gateway: Gateway,
    updates: readonly ConditionUpdate[],
    extra: Pick<GatewayStatus, "replicas" | "readyReplicas">,
  ): Promise<ReconcileResult> {
    return this.writeStatus<GatewayStatus>(gateway, GATEWAY_PLURAL, updates, extra);
  }
}
