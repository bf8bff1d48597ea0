/**
 * One reconcile of one Gateway: read it and its MessageDomain, build the children (ConfigMap, Deployment,
 * Service, PodDisruptionBudget, and an HPA when autoscaling is on), server-side apply them, delete an HPA no
 * longer asked for, and write status from the Deployment, as for an AgentEndpoint.
 */
import type { V1Deployment } from "@kubernetes/client-node";
import { CRD_API_VERSION } from "../core/crds/common.js";
import { GATEWAY_KIND, type GatewayStatus } from "../core/crds/gateway.js";
import { MESSAGE_DOMAIN_KIND } from "../core/crds/message-domain.js";
import { BuildError } from "./builders/common.js";
import { buildGatewayChildren, gatewayChildName, type GatewayChildren } from "./builders/gateway.js";
import { blockedConditions, deploymentConditions } from "./deployment-conditions.js";
import type { Gateway, MessageDomain } from "./k8s-types.js";
import { BaseReconciler, isBeingDeleted, type ReconcileResult } from "./reconciler.js";

export const GATEWAY_PLURAL = "gateways";

/** The replica count the Deployment should reach: the spec's, or the HPA's when it owns the count. */
function desiredReplicas(children: GatewayChildren, deployment: V1Deployment): number {
  return children.deployment.spec.replicas ?? deployment.spec?.replicas ?? 1;
}

export class GatewayReconciler extends BaseReconciler {
  async reconcile(namespace: string, name: string): Promise<ReconcileResult> {
    const gateway = await this.readResource<Gateway>(CRD_API_VERSION, GATEWAY_KIND, namespace, name);
    if (gateway === undefined) return { found: false, statusWritten: false };
    if (isBeingDeleted(gateway)) return { found: true, statusWritten: false };

    const domainName = gateway.spec.domain;
    const domain = await this.readResource<MessageDomain>(
      CRD_API_VERSION,
      MESSAGE_DOMAIN_KIND,
      namespace,
      domainName,
    );
    if (domain === undefined) {
      const message = `MessageDomain ${domainName} not found in namespace ${namespace}`;
      return this.write(gateway, blockedConditions("DomainNotFound", message), {});
    }

    let children: GatewayChildren;
    try {
      children = buildGatewayChildren(gateway, domain, this.options);
    } catch (error) {
      if (error instanceof BuildError)
        return this.write(gateway, blockedConditions("InvalidSpec", error.message), {});
      throw error;
    }

    // The ConfigMap first: the Deployment's pods mount it.
    await this.applyChild(gateway, children.configMap);
    const deployment = await this.applyChild<V1Deployment>(gateway, children.deployment);
    await this.applyChild(gateway, children.service);
    await this.applyChild(gateway, children.podDisruptionBudget);
    if (children.horizontalPodAutoscaler !== undefined)
      await this.applyChild(gateway, children.horizontalPodAutoscaler);
    else
      await this.deleteChild(gateway, {
        apiVersion: "autoscaling/v2",
        kind: "HorizontalPodAutoscaler",
        metadata: { name: gatewayChildName(gateway), namespace },
      });

    const { updates, replicas, readyReplicas } = deploymentConditions(
      deployment,
      desiredReplicas(children, deployment),
    );
    return this.write(gateway, updates, { replicas, readyReplicas });
  }

  private async write(
    gateway: Gateway,
    updates: Parameters<BaseReconciler["writeStatus"]>[2],
    extra: Pick<GatewayStatus, "replicas" | "readyReplicas">,
  ): Promise<ReconcileResult> {
    return this.writeStatus<GatewayStatus>(gateway, GATEWAY_PLURAL, updates, extra);
  }
}
