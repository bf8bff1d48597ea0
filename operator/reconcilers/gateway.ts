/**
 * One reconcile of one Gateway, in order: get it (and its MessageDomain), stop if it is being deleted, build
 * the children (ConfigMap, Deployment, Service, PodDisruptionBudget, and an HPA when autoscaling is on),
 * server-side apply them, delete an HPA no longer asked for, and write status from the Deployment, as for an
 * AgentEndpoint.
 */
import { ApiException, type V1Deployment, type V1Secret } from "@kubernetes/client-node";
import { GATEWAY_KIND, GATEWAY_PLURAL, type GatewayStatus } from "../../core/crds/gateway.js";
import { MESSAGE_DOMAIN_KIND } from "../../core/crds/message-domain.js";
import {
  buildGatewayChildren,
  gatewayChildName,
  gatewaySelector,
  type GatewayChildren,
} from "../builders/gateway.js";
import type { Gateway, MessageDomain } from "../k8s-types.js";
import { CONDITION_DEGRADED, type ConditionUpdate } from "../status/conditions.js";
import { deploymentConditions, domainNotFoundConditions } from "../status/deployment-conditions.js";
import {
  BaseReconciler,
  BEING_DELETED,
  DEFAULT_NOT_READY_REQUEUE_MS,
  buildOrBlock,
  HORIZONTAL_POD_AUTOSCALER,
  isBeingDeleted,
  NETWORK_POLICY,
  NOT_FOUND,
  type ReconcileResult,
} from "./base.js";

export const CONDITION_PEER_SECRETS_RESOLVED = "PeerSecretsResolved";

/** `PeerSecretsResolved`, and `Degraded` with reason `PeerSecretNotFound` while a peer token is missing. */
function peerSecretConditions(missing: readonly string[]): ConditionUpdate[] {
  if (missing.length === 0)
    return [
      {
        type: CONDITION_PEER_SECRETS_RESOLVED,
        status: "True",
        reason: "PeerSecretsFound",
        message: "every peer's token Secret is there",
      },
    ];
  const message = `missing peer token Secret key: ${missing.join(", ")}; the pods cannot start until it exists`;
  return [
    { type: CONDITION_PEER_SECRETS_RESOLVED, status: "False", reason: "PeerSecretNotFound", message },
    { type: CONDITION_DEGRADED, status: "True", reason: "PeerSecretNotFound", message },
  ];
}

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

    // Status: the peer Secrets, which no watch sees, then the Deployment.
    const missing = await this.missingPeerSecrets(gateway);
    const { updates, counts } = deploymentConditions(deployment, desiredReplicas(children, deployment));
    const result = await this.write(gateway, [...updates, ...peerSecretConditions(missing)], {
      ...counts,
      selector: gatewaySelector(gateway),
    });
    return missing.length === 0
      ? result
      : { ...result, requeueAfterMs: this.options.notReadyRequeueMs ?? DEFAULT_NOT_READY_REQUEUE_MS };
  }

  /** `secret/key` of each peer token that is not there (a Secret the operator may not read counts as there). */
  private async missingPeerSecrets(gateway: Gateway): Promise<string[]> {
    const missing: string[] = [];
    for (const peer of gateway.spec.peers) {
      const { name, key } = peer.tokenSecretRef;
      let secret: V1Secret | undefined;
      try {
        secret = await this.objects.read<V1Secret>({
          apiVersion: "v1",
          kind: "Secret",
          metadata: { name, namespace: gateway.metadata.namespace },
        });
      } catch (error) {
        // RBAC grants Secret reads per namespace only: elsewhere the kubelet is the judge.
        if (error instanceof ApiException && error.code === 403) continue;
        throw error;
      }
      if (secret?.data?.[key] === undefined) missing.push(`${name}/${key} (peer ${peer.name})`);
    }
    return missing;
  }

  private async write(
    gateway: Gateway,
    updates: readonly ConditionUpdate[],
    extra: Omit<GatewayStatus, "observedGeneration" | "conditions">,
  ): Promise<ReconcileResult> {
    return this.writeStatus<GatewayStatus>(gateway, GATEWAY_PLURAL, updates, extra);
  }
}
