/**
 * One reconcile of one MessageDomain, in order: get it, stop if it is being deleted, build its ConfigMap (the
 * resolved config) and apply it (server-side apply, owner reference), run or remove the console
 * (`spec.console`: its token Secret, generated once when the user names none, Deployment, Service,
 * NetworkPolicy) and the legacy bridge (`spec.legacyBridge`: Deployment, NetworkPolicy), check that the Secret holding the store URL exists and has the key, check that the store
 * answers, and write status (`Ready`, `Progressing`, `Degraded`, `SecretResolved`, `StoreReachable`,
 * `ConsoleReady`, `LegacyBridgeReady`). While a Secret or the store is missing it asks to be reconciled again later: no watch sees
 * a store come up.
 */
import type { KubeConfig, V1Deployment } from "@kubernetes/client-node";
import { CRD_API_VERSION } from "../../core/crds/common.js";
import {
  MESSAGE_DOMAIN_KIND,
  MESSAGE_DOMAIN_PLURAL,
  type MessageDomainStatus,
} from "../../core/crds/message-domain.js";
import { BuildError, digest } from "../builders/common.js";
import {
  buildConsoleChildren,
  buildConsoleTokenSecret,
  consoleChildName,
  consoleTokenRef,
  enabledConsole,
  generatedTokenSecretName,
  newConsoleToken,
} from "../builders/domain-console.js";
import {
  buildLegacyBridgeChildren,
  declaredLegacyBridge,
  legacyBridgeChildName,
} from "../builders/legacy-bridge.js";
import { withWorkloadConditions, workloadConditions } from "../status/domain-workload-conditions.js";
import { readSecretKey } from "./secret-key.js";
import { GATEWAY_KIND } from "../../core/crds/gateway.js";
import { gatewayServiceUrl, requiresClientCert } from "../builders/gateway.js";
import { buildDomainConfigMap, resolveDomainSpec } from "../builders/message-domain.js";
import { domainConditions, storeEndpoint, type StoreCheck } from "../status/domain-conditions.js";
import type { Gateway, MessageDomain } from "../k8s-types.js";
import type { ConditionUpdate } from "../status/conditions.js";
import {
  BaseReconciler,
  BEING_DELETED,
  DEFAULT_NOT_READY_REQUEUE_MS,
  DEPLOYMENT,
  NETWORK_POLICY,
  SECRET,
  SERVICE,
  buildOrBlock,
  isBeingDeleted,
  NOT_FOUND,
  type OptionalKind,
  type ReconcileResult,
  type ReconcilerOptions,
} from "./base.js";
import { connectingStoreProbe, type StoreProbe } from "./store-probe.js";
import { lookupStoreSecret } from "./store-secret.js";

const DEFAULT_STORE_PROBE_INTERVAL_MS = 30_000;

export const CONDITION_CONSOLE_READY = "ConsoleReady";
export const CONDITION_LEGACY_BRIDGE_READY = "LegacyBridgeReady";

type ConsoleStatus = NonNullable<MessageDomainStatus["console"]>;
type LegacyBridgeStatus = NonNullable<MessageDomainStatus["legacyBridge"]>;

/** What running (or removing) one of the domain's workloads gave: its conditions and its status section. */
interface WorkloadOutcome<S> {
  updates: ConditionUpdate[];
  retry: boolean;
  status?: S;
}

/** metav1.Time: RFC 3339 in UTC with whole seconds. */
function metaTime(now: Date): string {
  return `${now.toISOString().slice(0, 19)}Z`;
}

function errorMessage(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length > 0) return errorMessage(error.errors[0]);
  return error instanceof Error ? error.message : String(error);
}

export class MessageDomainReconciler extends BaseReconciler {
  protected readonly plural = MESSAGE_DOMAIN_PLURAL;

  private readonly storeProbe: StoreProbe;

  constructor(kubeConfig: KubeConfig, options: ReconcilerOptions = {}) {
    super(kubeConfig, options);
    this.storeProbe = options.storeProbe ?? connectingStoreProbe();
  }

  /** The admin URLs of the Gateways serving this domain, for the sidecars' `routing.gateways`. */
  private async gatewayUrlsOf(namespace: string, domainName: string): Promise<string[]> {
    const gateways = await this.objects.list<Gateway>(CRD_API_VERSION, GATEWAY_KIND, namespace);
    return gateways.flatMap((gateway) => {
      if (isBeingDeleted(gateway) || gateway.spec.domain !== domainName) return [];
      try {
        // Under mTLS the gateway answers only peers presenting a client certificate, which sidecars have not.
        return requiresClientCert(gateway) ? [] : [gatewayServiceUrl(gateway)];
      } catch (error) {
        // An invalid Gateway is reported on its own status; the domain goes on without it.
        if (error instanceof BuildError) return [];
        throw error;
      }
    });
  }

  async reconcile(namespace: string, name: string): Promise<ReconcileResult> {
    // Get.
    const domain = await this.get<MessageDomain>(MESSAGE_DOMAIN_KIND, namespace, name);
    if (domain === undefined) return NOT_FOUND;
    // Deletion: garbage collection takes the ConfigMap, and there is no finalizer to run.
    if (isBeingDeleted(domain)) return BEING_DELETED;

    // Build.
    const gatewayUrls = await this.gatewayUrlsOf(namespace, name);
    const built = buildOrBlock(() => buildDomainConfigMap(domain, gatewayUrls));
    if ("blocked" in built) return this.write(domain, built.blocked, {});
    const configMap = built.children;

    // Apply.
    await this.applyChild(domain, configMap);
    const consoleOutcome = await this.reconcileConsole(domain);
    const bridgeOutcome = await this.reconcileLegacyBridge(domain);

    // Status: the Secret and the store, which no watch sees.

    const spec = resolveDomainSpec(domain);
    const lookup = await lookupStoreSecret(this.objects, namespace, spec);
    let store: StoreCheck | undefined;
    if (lookup.state === "resolved" && spec.store.type !== "memory") {
      try {
        await this.storeProbe.check(spec.store.type, lookup.value);
        store = { reachable: true };
      } catch (error) {
        store = { reachable: false, error: errorMessage(error) };
      }
    }
    const own = domainConditions(spec, lookup, store);
    const updates = withWorkloadConditions(own.updates, [
      ...consoleOutcome.updates,
      ...bridgeOutcome.updates,
    ]);
    const retry = own.retry || consoleOutcome.retry || bridgeOutcome.retry;
    const storeStatus: NonNullable<MessageDomainStatus["store"]> = {
      type: spec.store.type,
      ...(lookup.state === "resolved" ? { endpoint: storeEndpoint(lookup.value) } : {}),
      ...(store === undefined ? {} : { reachable: store.reachable, lastProbeTime: metaTime(this.now()) }),
    };
    const result = await this.write(domain, updates, {
      configMapName: configMap.metadata.name,
      store: storeStatus,
      ...(consoleOutcome.status === undefined ? {} : { console: consoleOutcome.status }),
      ...(bridgeOutcome.status === undefined ? {} : { legacyBridge: bridgeOutcome.status }),
    });
    if (retry)
      return { ...result, requeueAfterMs: this.options.notReadyRequeueMs ?? DEFAULT_NOT_READY_REQUEUE_MS };
    // A healthy store is probed again on an interval: no watch sees a store die.
    if (spec.store.type !== "memory")
      return {
        ...result,
        requeueAfterMs: this.options.storeProbeIntervalMs ?? DEFAULT_STORE_PROBE_INTERVAL_MS,
      };
    return result;
  }

  /**
   * Runs the console when `spec.console.enabled`, or deletes what it left (its generated token Secret too; a
   * Secret the user named is never touched). The token Secret is generated once, when absent: one that is there
   * is used as it is.
   */
  private async reconcileConsole(domain: MessageDomain): Promise<WorkloadOutcome<ConsoleStatus>> {
    const { namespace } = domain.metadata;
    const name = consoleChildName(domain);
    if (enabledConsole(domain) === undefined) {
      // Only after a console ran (its status says so), so a domain without one costs no reads per reconcile; the
      // status goes once the children are gone.
      const ran = domain.status?.console;
      if (ran === undefined)
        return workloadConditions({ type: CONDITION_CONSOLE_READY, field: "spec.console" });
      await this.deleteChildren(domain, [DEPLOYMENT, SERVICE, NETWORK_POLICY], name);
      // The generated token only: a Secret the user named is never touched, nor read where it may not be.
      if (ran.tokenSecret.name === generatedTokenSecretName(domain))
        await this.deleteChild(domain, {
          ...SECRET,
          metadata: { name: generatedTokenSecretName(domain), namespace },
        });
      return workloadConditions({ type: CONDITION_CONSOLE_READY, field: "spec.console" });
    }
    const ref = consoleTokenRef(domain);
    let token = await readSecretKey(this.objects, namespace, ref);
    if (ref.generated && (token.state === "secretNotFound" || token.state === "keyNotFound")) {
      const value = newConsoleToken();
      await this.applyChild(domain, buildConsoleTokenSecret(domain, value));
      token = { state: "found", value };
    }
    const children = buildConsoleChildren(
      domain,
      this.options,
      token.state === "found" ? digest(token.value) : undefined,
    );
    const deployment = await this.applyChild<V1Deployment>(domain, children.deployment);
    await this.applyChild(domain, children.service);
    await this.applyOrDelete(domain, children.networkPolicy, NETWORK_POLICY, name);
    return {
      ...workloadConditions({
        type: CONDITION_CONSOLE_READY,
        field: "spec.console",
        secret: { ref, field: "spec.console.tokenSecretRef", lookup: token },
        deployment,
      }),
      status: {
        serviceName: children.service.metadata.name,
        tokenSecret: { name: ref.name, key: ref.key },
        readyReplicas: deployment.status?.readyReplicas ?? 0,
      },
    };
  }

  /**
   * Runs the legacy bridge the domain declares (one replica, `Recreate`), or deletes what it left. The Redis URL
   * Secret is read only to report it missing and to roll the pod when it changes; the pod gets it as a reference.
   */
  private async reconcileLegacyBridge(domain: MessageDomain): Promise<WorkloadOutcome<LegacyBridgeStatus>> {
    const name = legacyBridgeChildName(domain);
    const bridge = declaredLegacyBridge(domain);
    if (bridge === undefined) {
      // Only after a bridge ran (its status says so): a domain without one costs no reads per reconcile.
      if (domain.status?.legacyBridge !== undefined)
        await this.deleteChildren(domain, [DEPLOYMENT, NETWORK_POLICY], name);
      return workloadConditions({ type: CONDITION_LEGACY_BRIDGE_READY, field: "spec.legacyBridge" });
    }
    const ref = bridge.redisUrlSecretRef;
    const url = await readSecretKey(this.objects, domain.metadata.namespace, ref);
    const children = buildLegacyBridgeChildren(
      domain,
      bridge,
      this.options,
      url.state === "found" ? digest(url.value) : undefined,
    );
    const deployment = await this.applyChild<V1Deployment>(domain, children.deployment);
    await this.applyOrDelete(domain, children.networkPolicy, NETWORK_POLICY, name);
    return {
      ...workloadConditions({
        type: CONDITION_LEGACY_BRIDGE_READY,
        field: "spec.legacyBridge",
        secret: { ref, field: "spec.legacyBridge.redisUrlSecretRef", lookup: url },
        deployment,
      }),
      status: { readyReplicas: deployment.status?.readyReplicas ?? 0 },
    };
  }

  private async deleteChildren(
    domain: MessageDomain,
    kinds: readonly OptionalKind[],
    name: string,
  ): Promise<void> {
    for (const kind of kinds)
      await this.deleteChild(domain, { ...kind, metadata: { name, namespace: domain.metadata.namespace } });
  }

  private async write(
    domain: MessageDomain,
    updates: readonly ConditionUpdate[],
    extra: Pick<MessageDomainStatus, "configMapName" | "store" | "console" | "legacyBridge">,
  ): Promise<ReconcileResult> {
    return this.writeStatus<MessageDomainStatus>(domain, MESSAGE_DOMAIN_PLURAL, updates, extra);
  }
}
