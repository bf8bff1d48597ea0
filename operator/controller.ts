/**
 * The operator's three controllers, each a `ResourceController` with its reconciler, the children it watches
 * (only those labelled `app.kubernetes.io/managed-by=bmn-operator`) and, for AgentEndpoints and Gateways,
 * the MessageDomain they name: a domain whose spec changes requeues them. `startControllers` runs all three
 * on one informer pool; the classes below run one kind on its own pool.
 */
import type { KubeConfig, KubernetesObject } from "@kubernetes/client-node";
import { AGENT_ENDPOINT_KIND } from "../core/crds/agent-endpoint.js";
import { CRD_API_VERSION } from "../core/crds/common.js";
import { GATEWAY_KIND } from "../core/crds/gateway.js";
import { MESSAGE_DOMAIN_KIND } from "../core/crds/message-domain.js";
import { LABEL_MANAGED_BY, MANAGED_BY } from "./builders/common.js";
import { InformerPool, type WatchedResource } from "./informer-pool.js";
import { AGENT_ENDPOINT_PLURAL, AgentEndpointReconciler } from "./reconcile-agent-endpoint.js";
import { GATEWAY_PLURAL, GatewayReconciler } from "./reconcile-gateway.js";
import { MESSAGE_DOMAIN_PLURAL, MessageDomainReconciler } from "./reconcile-message-domain.js";
import type { Reconciler, ReconcilerOptions } from "./reconciler.js";
import {
  objectKey,
  ResourceController,
  type ControllerDefinition,
  type RelatedResource,
} from "./resource-controller.js";
import type { WorkQueueOptions } from "./work-queue.js";

export { objectKey, ownerKey } from "./resource-controller.js";

export interface ControllerOptions extends ReconcilerOptions {
  /** Watch one namespace only; default all namespaces. */
  namespace?: string;
  /** Every cached resource is requeued this often. Default 5 minutes; 0 turns resync off. */
  resyncMs?: number;
  queue?: WorkQueueOptions;
  /** Reconcile failures, watch errors (both are retried) and failed Event writes. */
  onError?: (what: string, error: unknown) => void;
  /** Every finished reconcile, for metrics. */
  onReconciled?: (kind: string, seconds: number, outcome: "success" | "error") => void;
}

const MANAGED = `${LABEL_MANAGED_BY}=${MANAGED_BY}`;

function customResource(kind: string, plural: string): WatchedResource {
  return { apiVersion: CRD_API_VERSION, kind, plural };
}

export const MESSAGE_DOMAINS = customResource(MESSAGE_DOMAIN_KIND, MESSAGE_DOMAIN_PLURAL);
export const GATEWAYS = customResource(GATEWAY_KIND, GATEWAY_PLURAL);
export const AGENT_ENDPOINTS = customResource(AGENT_ENDPOINT_KIND, AGENT_ENDPOINT_PLURAL);

/** The children kinds, watched only where the operator's label is set. */
export const CHILDREN = {
  configMaps: { apiVersion: "v1", kind: "ConfigMap", plural: "configmaps", labelSelector: MANAGED },
  deployments: { apiVersion: "apps/v1", kind: "Deployment", plural: "deployments", labelSelector: MANAGED },
  services: { apiVersion: "v1", kind: "Service", plural: "services", labelSelector: MANAGED },
  podDisruptionBudgets: {
    apiVersion: "policy/v1",
    kind: "PodDisruptionBudget",
    plural: "poddisruptionbudgets",
    labelSelector: MANAGED,
  },
  horizontalPodAutoscalers: {
    apiVersion: "autoscaling/v2",
    kind: "HorizontalPodAutoscaler",
    plural: "horizontalpodautoscalers",
    labelSelector: MANAGED,
  },
} as const satisfies Record<string, WatchedResource>;

/**
 * Requeues the primaries (in the domain's namespace) whose `spec.domain` names a MessageDomain that was
 * added, deleted, or changed its spec. Status-only updates (the generation stays) are ignored.
 */
export function followDomain(): RelatedResource {
  const generations = new Map<string, number | undefined>();
  return {
    resource: MESSAGE_DOMAINS,
    keys(domain, verb, primaries) {
      const name = domain.metadata?.name;
      const namespace = domain.metadata?.namespace;
      if (name === undefined || namespace === undefined) return [];
      const key = objectKey(namespace, name);
      const generation = domain.metadata?.generation;
      if (verb === "delete") generations.delete(key);
      else {
        const changed = !generations.has(key) || generations.get(key) !== generation;
        generations.set(key, generation);
        if (verb === "update" && !changed) return [];
      }
      return primaries
        .filter(
          (primary: KubernetesObject & { spec?: { domain?: unknown } }) =>
            primary.metadata?.namespace === namespace && primary.spec?.domain === name,
        )
        .flatMap((primary) =>
          primary.metadata?.name === undefined ? [] : [objectKey(namespace, primary.metadata.name)],
        );
    },
  };
}

export function messageDomainDefinition(reconciler: Reconciler): ControllerDefinition {
  return {
    primary: MESSAGE_DOMAINS,
    reconciler,
    children: [CHILDREN.configMaps],
    related: [followGateways()],
  };
}

/**
 * Requeues a MessageDomain when a Gateway serving it comes, goes or changes its spec (the domain's ConfigMap
 * lists its gateways); status-only updates of a Gateway are skipped.
 */
export function followGateways(): RelatedResource {
  const seen = new Map<string, { generation: number | undefined; domain: unknown }>();
  return {
    resource: GATEWAYS,
    keys(gateway: KubernetesObject & { spec?: { domain?: unknown } }, verb) {
      const name = gateway.metadata?.name;
      const namespace = gateway.metadata?.namespace;
      if (name === undefined || namespace === undefined) return [];
      const key = objectKey(namespace, name);
      const before = seen.get(key);
      const now = { generation: gateway.metadata?.generation, domain: gateway.spec?.domain };
      if (verb === "delete") seen.delete(key);
      else seen.set(key, now);
      if (verb === "update" && before?.generation === now.generation) return [];
      // A Gateway moved to another domain changes both domains' lists.
      const domains = new Set([before?.domain, now.domain].filter((domain) => typeof domain === "string"));
      return [...domains].map((domain) => objectKey(namespace, domain));
    },
  };
}

export function gatewayDefinition(reconciler: Reconciler): ControllerDefinition {
  const { configMaps, deployments, services, podDisruptionBudgets, horizontalPodAutoscalers } = CHILDREN;
  return {
    primary: GATEWAYS,
    reconciler,
    children: [configMaps, deployments, services, podDisruptionBudgets, horizontalPodAutoscalers],
    related: [followDomain()],
  };
}

export function agentEndpointDefinition(reconciler: Reconciler): ControllerDefinition {
  const { deployments, services, horizontalPodAutoscalers } = CHILDREN;
  return {
    primary: AGENT_ENDPOINTS,
    reconciler,
    children: [deployments, services, horizontalPodAutoscalers],
    related: [followDomain()],
  };
}

/** One kind's controller on its own informer pool. */
abstract class SingleKindController<R extends Reconciler> {
  readonly reconciler: R;
  private readonly pool: InformerPool;
  private readonly controller: ResourceController;
  private running = false;

  constructor(
    kubeConfig: KubeConfig,
    options: ControllerOptions,
    makeReconciler: (kubeConfig: KubeConfig, options: ControllerOptions) => R,
    define: (reconciler: R) => ControllerDefinition,
  ) {
    this.reconciler = makeReconciler(kubeConfig, options);
    this.pool = new InformerPool(kubeConfig, poolOptions(options));
    this.controller = new ResourceController(this.pool, define(this.reconciler), controllerOptions(options));
  }

  /** Starts the informers (each lists, then watches) and the resync timer. */
  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    await this.pool.start();
    this.controller.start();
  }

  /** Requeues every cached resource of this kind. */
  resync(): void {
    this.controller.resync();
  }

  /** Stops the watches and timers and waits for running reconciles to finish. */
  async stop(): Promise<void> {
    this.running = false;
    await this.pool.stop();
    await this.controller.stop();
  }
}

export class AgentEndpointController extends SingleKindController<AgentEndpointReconciler> {
  constructor(kubeConfig: KubeConfig, options: ControllerOptions = {}) {
    super(kubeConfig, options, (k, o) => new AgentEndpointReconciler(k, o), agentEndpointDefinition);
  }
}

export class GatewayController extends SingleKindController<GatewayReconciler> {
  constructor(kubeConfig: KubeConfig, options: ControllerOptions = {}) {
    super(kubeConfig, options, (k, o) => new GatewayReconciler(k, o), gatewayDefinition);
  }
}

export class MessageDomainController extends SingleKindController<MessageDomainReconciler> {
  constructor(kubeConfig: KubeConfig, options: ControllerOptions = {}) {
    super(kubeConfig, options, (k, o) => new MessageDomainReconciler(k, o), messageDomainDefinition);
  }
}

export function poolOptions(options: ControllerOptions): ConstructorParameters<typeof InformerPool>[1] {
  return {
    ...(options.namespace === undefined ? {} : { namespace: options.namespace }),
    ...(options.onError === undefined ? {} : { onError: options.onError }),
  };
}

export function controllerOptions(
  options: ControllerOptions,
): ConstructorParameters<typeof ResourceController>[2] {
  return {
    ...(options.resyncMs === undefined ? {} : { resyncMs: options.resyncMs }),
    ...(options.queue === undefined ? {} : { queue: options.queue }),
    ...(options.onError === undefined ? {} : { onError: options.onError }),
    ...(options.onReconciled === undefined ? {} : { onReconciled: options.onReconciled }),
  };
}
