/**
 * `spec.legacyBridge` of a MessageDomain → Deployment `<domain>-bmn-legacy-bridge`: one pod running `bmn bridge
 * legacy` beside an unbound sidecar of the domain on its loopback (the bridge talks to BMN only through a
 * sidecar's API), and the default NetworkPolicy. Exactly one replica with the `Recreate` strategy: two bridges
 * would both announce and read the same legacy mailbox groups as one consumer, even for a moment in a rollout.
 * The legacy Redis URL is a Secret reference, never a value.
 */
import type { LegacyBridge } from "../../core/crds/message-domain.js";
import type { MessageDomain } from "../k8s-types.js";
import type { BuildOptions } from "./common.js";
import {
  buildDomainWorkload,
  DEFAULT_WORKLOAD_RESOURCES,
  domainWorkloadName,
  LOOPBACK_SIDECAR_URL,
  type DomainWorkloadChildren,
} from "./domain-sidecar.js";
import { resolveDomainSpec } from "./message-domain.js";

const APP = "bmn-legacy-bridge";
/** The bridge's probe and metrics port (`/healthz`, `/readyz`, `/metrics`); the sidecar's is 7421. */
export const BRIDGE_PROBE_PORT = 7422;
/** On the pod template: a digest of the Redis URL, so a changed URL rolls the pod (the bridge reads it at start). */
export const ANNOTATION_REDIS_URL_HASH = "beastmode.network/redis-url-hash";

/** The name of the bridge's Deployment and NetworkPolicy. */
export function legacyBridgeChildName(domain: MessageDomain): string {
  return domainWorkloadName(domain, APP);
}

/** The bridge's spec, or undefined when the domain declares none. */
export function declaredLegacyBridge(domain: MessageDomain): LegacyBridge | undefined {
  return resolveDomainSpec(domain).legacyBridge;
}

/** `bmn bridge legacy` in the pod: probes on the pod IP, BMN through the sidecar beside it. */
export function legacyBridgeArgs(bridge: LegacyBridge): string[] {
  return [
    "bridge",
    "legacy",
    "--host",
    "0.0.0.0",
    "--port",
    String(BRIDGE_PROBE_PORT),
    ...bridge.topics.flatMap((topic) => ["--topic", topic]),
    ...(bridge.topicPrefix === undefined ? [] : ["--topic-prefix", bridge.topicPrefix]),
  ];
}

/** Deployment and NetworkPolicy of a declared bridge; `redisUrlHash` is a digest of the URL the reconciler read. */
export function buildLegacyBridgeChildren(
  domain: MessageDomain,
  bridge: LegacyBridge,
  options: BuildOptions = {},
  redisUrlHash?: string,
): DomainWorkloadChildren {
  return buildDomainWorkload(
    domain,
    {
      app: APP,
      component: "legacy-bridge",
      image: bridge.image,
      container: {
        name: "bridge",
        args: legacyBridgeArgs(bridge),
        ports: [{ name: "bridge", containerPort: BRIDGE_PROBE_PORT, protocol: "TCP" }],
        env: [
          { name: "BMN_URL", value: LOOPBACK_SIDECAR_URL },
          { name: "BMN_LEGACY_REDIS_URL", valueFrom: { secretKeyRef: { ...bridge.redisUrlSecretRef } } },
        ],
        resources: bridge.resources ?? DEFAULT_WORKLOAD_RESOURCES,
        // Ready once both Redis and BMN are connected; alive while the process answers.
        readinessProbe: {
          httpGet: { path: "/readyz", port: "bridge" },
          periodSeconds: 5,
          failureThreshold: 3,
        },
        livenessProbe: {
          httpGet: { path: "/healthz", port: "bridge" },
          initialDelaySeconds: 10,
          periodSeconds: 10,
          failureThreshold: 6,
        },
      },
      strategy: { type: "Recreate" },
      annotations: {
        // The bridge's counts (bmn_bridge_messages_total) rather than its sidecar's.
        "prometheus.io/port": String(BRIDGE_PROBE_PORT),
        ...(redisUrlHash === undefined ? {} : { [ANNOTATION_REDIS_URL_HASH]: redisUrlHash }),
      },
      // Probes and metrics only: the bridge connects out to Redis and serves nothing else.
      ingressPorts: [BRIDGE_PROBE_PORT],
    },
    options,
  );
}
