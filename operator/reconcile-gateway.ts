/**
 * One reconcile of one Gateway: read it and its MessageDomain, build the children (ConfigMap, Deployment,
 * Service, PodDisruptionBudget, and an HPA when autoscaling is on), server-side apply them, delete an HPA no
 * longer asked for, and write status from the Deployment, as for an AgentEndpoint.
 */
import type { V1Deployment } from "@kubernetes/client-node";
import { GATEWAY_KIND, type GatewayStatus } from "../core/crds/gateway.js";
import { buildGatewayChildren, gatewayChildName, type GatewayChildren } from "./builders/gateway.js";
import { deploymentConditions } from "./deployment-conditions.js";
import { DomainMemberReconciler } from "./domain-member-reconciler.js";
import type { Gateway } from "./k8s-types.js";
import type { BaseReconciler, ReconcileResult } from "./reconciler.js";

export const GATEWAY_PLURAL = "gateways";

/** The replica count the Deployment should reach: the spec's, or the HPA's when it owns the count. */
function desiredReplicas(children: GatewayChildren, deployment: V1Deployment): number {
  return children.deployment.spec.replicas ?? deployment.spec?.replicas ?? 1;
}

export class GatewayReconciler extends DomainMemberReconciler {
  async reconcile(namespace: string, name: string): Promise<ReconcileResult> {
    const prepared = await this.prepare<Gateway, GatewayChildren>(
      GATEWAY_KIND,
      namespace,
      name,
      (gateway, domain) => buildGatewayChildren(gateway, domain, this.options),
      (gateway, updates) => this.write(gateway, updates, {}),
    );
    if (prepared.done !== undefined) return prepared.done;
    const { resource: gateway, children } = prepared;

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
