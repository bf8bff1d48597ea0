/**
 * What each of the operator's three controllers watches: its primary kind, the children it creates (watched
 * only where labelled `app.kubernetes.io/managed-by=bmn-operator`, each event requeues the controlling owner)
 * and related resources whose changes requeue primaries (the MessageDomain an AgentEndpoint or a Gateway names;
 * the Gateways a MessageDomain lists).
 */
import type { KubernetesObject } from "@kubernetes/client-node";
import { AGENT_ENDPOINT_KIND, AGENT_ENDPOINT_PLURAL } from "../../core/crds/agent-endpoint.js";
import { CRD_API_VERSION } from "../../core/crds/common.js";
import { GATEWAY_KIND, GATEWAY_PLURAL } from "../../core/crds/gateway.js";
import { MESSAGE_DOMAIN_KIND, MESSAGE_DOMAIN_PLURAL } from "../../core/crds/message-domain.js";
import { LABEL_DOMAIN, LABEL_MANAGED_BY, MANAGED_BY } from "../builders/common.js";
import type { Reconciler } from "../reconcilers/base.js";
import type { WatchedResource } from "./informer-pool.js";
import { objectKey } from "./object-keys.js";
import type { ControllerDefinition, RelatedResource } from "./resource-controller.js";

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
  networkPolicies: {
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    plural: "networkpolicies",
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
    // Deployments, Services and NetworkPolicies: the console's and the legacy bridge's.
    children: [CHILDREN.configMaps, CHILDREN.deployments, CHILDREN.services, CHILDREN.networkPolicies],
    related: [followGateways(), followDataPlaneReadiness()],
  };
}

/**
 * Requeues a MessageDomain, so its store is probed at once, when one of its sidecar or gateway Deployments loses a
 * ready pod: their readiness includes the store, so that is the data plane reporting a store error. A rollout's
 * old pods going away counts too; an extra probe is cheap.
 */
export function followDataPlaneReadiness(): RelatedResource {
  const ready = new Map<string, number>();
  return {
    resource: CHILDREN.deployments,
    keys(deployment: KubernetesObject & { status?: { readyReplicas?: number } }, verb) {
      const name = deployment.metadata?.name;
      const namespace = deployment.metadata?.namespace;
      const domain = deployment.metadata?.labels?.[LABEL_DOMAIN];
      if (name === undefined || namespace === undefined || domain === undefined) return [];
      const key = objectKey(namespace, name);
      const before = ready.get(key);
      if (verb === "delete") {
        ready.delete(key);
        return [];
      }
      const now = deployment.status?.readyReplicas ?? 0;
      ready.set(key, now);
      return before !== undefined && now < before ? [objectKey(namespace, domain)] : [];
    },
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
  const {
    configMaps,
    deployments,
    services,
    podDisruptionBudgets,
    horizontalPodAutoscalers,
    networkPolicies,
  } = CHILDREN;
  return {
    primary: GATEWAYS,
    reconciler,
    children: [
      configMaps,
      deployments,
      services,
      podDisruptionBudgets,
      horizontalPodAutoscalers,
      networkPolicies,
    ],
    related: [followDomain()],
  };
}

export function agentEndpointDefinition(reconciler: Reconciler): ControllerDefinition {
  const { deployments, services, horizontalPodAutoscalers, networkPolicies } = CHILDREN;
  return {
    primary: AGENT_ENDPOINTS,
    reconciler,
    children: [deployments, services, horizontalPodAutoscalers, networkPolicies],
    related: [followDomain()],
  };
}
