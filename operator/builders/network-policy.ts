/**
 * The default NetworkPolicy of the pods the operator renders: ingress only on the listed ports, everything
 * else refused. Policies add up, so a user's own NetworkPolicy can open more; egress is not restricted.
 */
import type { NetworkPolicy, NetworkPolicyIngressRule, ObjectMeta } from "../k8s-types.js";

export function ingressOnlyPolicy(
  metadata: ObjectMeta,
  podLabels: Record<string, string>,
  ingress: NetworkPolicyIngressRule[],
): NetworkPolicy {
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    metadata,
    spec: { podSelector: { matchLabels: podLabels }, policyTypes: ["Ingress"], ingress },
  };
}

/** A port reachable from anywhere the pod is routed to. */
export function fromAnywhere(port: number | string): NetworkPolicyIngressRule {
  return { ports: [{ port, protocol: "TCP" }] };
}
