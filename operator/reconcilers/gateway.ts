/**
 * One reconcile of one Gateway, in order: get it (and its MessageDomain), stop if it is being deleted, build
 * the children (ConfigMap, Deployment, Service, PodDisruptionBudget, and an HPA when autoscaling is on),
 * server-side apply them, delete an HPA no longer asked for, and write status from the Deployment, as for an
 * AgentEndpoint.
 */
import { ApiException, type V1Deployment, type V1Secret } from "@kubernetes/client-node";
import { GATEWAY_KIND, GATEWAY_PLURAL, type GatewayStatus } from "../../core/crds/gateway.js";
import { MESSAGE_DOMAIN_KIND } from "../../core/crds/message-domain.js";
import { digest } from "../builders/common.js";
import {
  buildGatewayChildren,
  gatewayChildName,
  gatewaySecretKeys,
  gatewaySelector,
  resolveGatewaySpec,
  type GatewayChildren,
  type GatewaySecretKey,
} from "../builders/gateway.js";
import { gatewaySecretConditions } from "../status/gateway-secrets.js";
import { autoscalingCondition } from "../status/autoscaling-condition.js";
import { readPeerLinks } from "./gateway-links.js";
import type { Gateway, MessageDomain } from "../k8s-types.js";
import type { ConditionUpdate } from "../status/conditions.js";
import { deploymentConditions, domainNotFoundConditions } from "../status/deployment-conditions.js";
import {
  BaseReconciler,
  BEING_DELETED,
  DEFAULT_NOT_READY_REQUEUE_MS,
  DEFAULT_REFRESH_INTERVAL_MS,
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

    // The Secret keys the pods mount, which no watch sees: missing ones are reported, and a digest of the
    // present ones rolls the pods when a token or certificate rotates.
    const keys = buildOrBlock(() => gatewaySecretKeys(gateway));
    if ("blocked" in keys) return this.write(gateway, keys.blocked, {});
    const secrets = await this.readSecretKeys(namespace, keys.children);

    // Build.
    const built = buildOrBlock(() => buildGatewayChildren(gateway, domain, this.options, secrets.hash));
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

    // Status: the Secrets, the Deployment, autoscaling and the peer links.
    const { updates, counts } = deploymentConditions(deployment, desiredReplicas(children, deployment));
    const autoscaling = autoscalingCondition(
      gateway.status?.conditions,
      resolveGatewaySpec(gateway),
      childName,
    );
    const links = await readPeerLinks(gateway, this.options);
    const result = await this.write(
      gateway,
      [...updates, autoscaling.update, ...gatewaySecretConditions(keys.children, secrets.missing)],
      { ...counts, selector: gatewaySelector(gateway), ...links },
    );
    await this.record(gateway, [autoscaling.event]);
    if (secrets.missing.length > 0)
      return { ...result, requeueAfterMs: this.options.notReadyRequeueMs ?? DEFAULT_NOT_READY_REQUEUE_MS };
    // Read again on an interval: no watch sees a Secret rotate or a peer link go down.
    return { ...result, requeueAfterMs: this.options.refreshIntervalMs ?? DEFAULT_REFRESH_INTERVAL_MS };
  }

  /**
   * The keys that are not there (a Secret the operator may not read counts as there: RBAC grants Secret reads
   * per namespace only, and elsewhere the kubelet is the judge), and a digest of the values of those that are.
   */
  private async readSecretKeys(
    namespace: string,
    keys: readonly GatewaySecretKey[],
  ): Promise<{ missing: GatewaySecretKey[]; hash: string | undefined }> {
    const missing: GatewaySecretKey[] = [];
    const values: string[] = [];
    const secrets = new Map<string, V1Secret | undefined | "forbidden">();
    for (const key of keys) {
      let secret = secrets.get(key.name);
      if (!secrets.has(key.name)) {
        try {
          secret = await this.objects.read<V1Secret>({
            apiVersion: "v1",
            kind: "Secret",
            metadata: { name: key.name, namespace },
          });
        } catch (error) {
          if (!(error instanceof ApiException && error.code === 403)) throw error;
          secret = "forbidden";
        }
        secrets.set(key.name, secret);
      }
      if (secret === "forbidden") continue;
      const value = secret?.data?.[key.key];
      if (value === undefined) missing.push(key);
      else values.push(`${key.name}/${key.key}=${value}`);
    }
    return { missing, hash: values.length === 0 ? undefined : digest(values) };
  }

  private async write(
    gateway: Gateway,
    updates: readonly ConditionUpdate[],
    extra: Omit<GatewayStatus, "observedGeneration" | "conditions">,
  ): Promise<ReconcileResult> {
    return this.writeStatus<GatewayStatus>(gateway, GATEWAY_PLURAL, updates, extra);
  }
}
