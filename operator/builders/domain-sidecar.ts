/**
 * The domain's sidecar (`bmn start`) in a pod the operator renders: its agent API on the pod's loopback (only the
 * pod's own containers reach it), its probes and metrics on a second listener on the pod IP. AgentEndpoints,
 * the domain's console and its legacy bridge all run it this way.
 */
import type { SecurityContextOverride } from "../../core/crds/common.js";
import type {
  Container,
  Deployment,
  EnvVar,
  MessageDomain,
  NetworkPolicy,
  Volume,
  VolumeMount,
} from "../k8s-types.js";
import {
  ANNOTATION_CONFIG_HASH,
  type BuildOptions,
  childMeta,
  commonLabels,
  DEFAULT_IMAGE,
  LABEL_DOMAIN,
  selectorLabels,
  SIDECAR_CONTAINER_NAME,
  SIDECAR_PORT,
  SIDECAR_PROBE_PORT,
} from "./common.js";
import {
  domainConfigHash,
  domainConfigVolume,
  domainNameOf,
  domainStoreEnv,
  resolveDomainSpec,
} from "./message-domain.js";
import { fromAnywhere, ingressOnlyPolicy } from "./network-policy.js";
import { withNodeHeap } from "./node-heap.js";
import { IMAGE_USER_ID, RESTRICTED_CONTAINER_SECURITY_CONTEXT, withOverride } from "./pod-security.js";

/** `bmn start`, as arguments of the image's entrypoint (`node dist/cli/bmn.js`, see Dockerfile). */
export const SIDECAR_ARGS = ["start"];
export const SIDECAR_PROBE_PORT_NAME = "bmn-probe";
/** Where the pod's other containers reach the sidecar's agent API. */
export const LOOPBACK_SIDECAR_URL = `http://127.0.0.1:${String(SIDECAR_PORT)}`;

export interface LoopbackSidecarSettings {
  image: string;
  /** Added after the store and listener env (e.g. `BMN_AGENT`). */
  env?: readonly EnvVar[];
  resources: NonNullable<Container["resources"]>;
  securityContext?: SecurityContextOverride | undefined;
  /** Mounted besides the domain ConfigMap. */
  mounts?: readonly VolumeMount[];
}

/** The sidecar container: the domain's config and store, the agent API on loopback, probes on the pod IP. */
export function loopbackSidecar(domain: MessageDomain, settings: LoopbackSidecarSettings): Container {
  return withNodeHeap({
    name: SIDECAR_CONTAINER_NAME,
    image: settings.image,
    args: [...SIDECAR_ARGS],
    ports: [{ name: SIDECAR_PROBE_PORT_NAME, containerPort: SIDECAR_PROBE_PORT, protocol: "TCP" }],
    env: [
      ...domainStoreEnv(domain),
      { name: "BMN_PORT", value: String(SIDECAR_PORT) },
      { name: "BMN_HOST", value: "127.0.0.1" },
      { name: "BMN_PROBE_HOST", value: "0.0.0.0" },
      { name: "BMN_PROBE_PORT", value: String(SIDECAR_PROBE_PORT) },
      ...(settings.env ?? []),
    ],
    resources: settings.resources,
    readinessProbe: {
      httpGet: { path: "/readyz", port: SIDECAR_PROBE_PORT_NAME },
      periodSeconds: 5,
      failureThreshold: 3,
    },
    livenessProbe: {
      httpGet: { path: "/healthz", port: SIDECAR_PROBE_PORT_NAME },
      initialDelaySeconds: 5,
      periodSeconds: 10,
      failureThreshold: 6,
    },
    volumeMounts: [domainConfigVolume(domain).mount, ...(settings.mounts ?? [])],
    securityContext: withOverride(RESTRICTED_CONTAINER_SECURITY_CONTEXT, settings.securityContext),
  });
}

/** The resources of a domain-wide workload's own container (console, legacy bridge) unless its spec names some. */
export const DEFAULT_WORKLOAD_RESOURCES = {
  requests: { cpu: "50m", memory: "96Mi" },
  limits: { memory: "256Mi" },
};

/** What a domain-wide workload (console, legacy bridge) runs beside the sidecar. */
export interface DomainWorkload {
  /** `app.kubernetes.io/name`, e.g. `bmn-console`; the children are named `<domain>-<app>`. */
  app: string;
  component: string;
  /** The workload's own image, if its spec names one. */
  image: string | undefined;
  /** The container; its image is set here, the same as the sidecar's. */
  container: Container;
  volumes?: readonly Volume[];
  /** Pod template annotations besides the config hash (these win over the sidecar's metrics ones). */
  annotations?: Record<string, string>;
  strategy?: { type: "Recreate" | "RollingUpdate" };
  /** Ports the NetworkPolicy opens besides the sidecar's probe port. */
  ingressPorts: readonly number[];
}

export interface DomainWorkloadChildren {
  deployment: Deployment;
  /** Present unless the operator's option turns NetworkPolicies off. */
  networkPolicy?: NetworkPolicy;
  /** The children's labels and the pods' selector, for more children of the same workload. */
  labels: Record<string, string>;
  selector: Record<string, string>;
}

/** The name of a domain workload's children. */
export function domainWorkloadName(domain: MessageDomain, app: string): string {
  return `${domainNameOf(domain)}-${app}`;
}

/**
 * One replica of the workload's container with an unbound sidecar of the domain (it may act for any agent of the
 * domain: the workload is the domain's own) as a native sidecar that must answer `/healthz` before the container
 * starts, owned by the domain. The pod is Pod Security "restricted" and has no ServiceAccount token: nothing in
 * it calls the apiserver. The NetworkPolicy opens the workload's ports and the sidecar's probe port.
 */
export function buildDomainWorkload(
  domain: MessageDomain,
  workload: DomainWorkload,
  options: BuildOptions = {},
): DomainWorkloadChildren {
  const name = domainWorkloadName(domain, workload.app);
  const labels = commonLabels(workload.app, workload.component, domain, {
    [LABEL_DOMAIN]: domainNameOf(domain),
  });
  const selector = selectorLabels(workload.app, domain);
  const image =
    workload.image ?? resolveDomainSpec(domain).sidecarImage ?? options.defaultImage ?? DEFAULT_IMAGE;
  const sidecar = loopbackSidecar(domain, {
    image,
    resources: { requests: { cpu: "50m", memory: "64Mi" }, limits: { memory: "256Mi" } },
  });
  const deployment: Deployment = {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: childMeta(domain, name, labels),
    spec: {
      replicas: 1,
      ...(workload.strategy === undefined ? {} : { strategy: workload.strategy }),
      selector: { matchLabels: selector },
      template: {
        metadata: {
          labels,
          annotations: {
            "prometheus.io/scrape": "true",
            "prometheus.io/port": String(SIDECAR_PROBE_PORT),
            "prometheus.io/path": "/metrics",
            ...workload.annotations,
            [ANNOTATION_CONFIG_HASH]: domainConfigHash(domain),
          },
        },
        spec: {
          securityContext: {
            runAsNonRoot: true,
            runAsUser: IMAGE_USER_ID,
            runAsGroup: IMAGE_USER_ID,
            // Mounted Secret files are readable by the image's group (mode 0440).
            fsGroup: IMAGE_USER_ID,
            seccompProfile: { type: "RuntimeDefault" },
          },
          automountServiceAccountToken: false,
          initContainers: [
            {
              ...sidecar,
              restartPolicy: "Always",
              // The container starts once the sidecar answers: it talks to it at once.
              startupProbe: {
                httpGet: { path: "/healthz", port: SIDECAR_PROBE_PORT_NAME },
                periodSeconds: 1,
                failureThreshold: 120,
              },
            },
          ],
          containers: [
            withNodeHeap({
              ...workload.container,
              image,
              securityContext: { ...RESTRICTED_CONTAINER_SECURITY_CONTEXT },
            }),
          ],
          volumes: [domainConfigVolume(domain).volume, ...(workload.volumes ?? [])],
        },
      },
    },
  };
  const children: DomainWorkloadChildren = { deployment, labels, selector };
  if (options.networkPolicies !== false)
    children.networkPolicy = ingressOnlyPolicy(
      childMeta(domain, name, labels),
      selector,
      [...workload.ingressPorts, SIDECAR_PROBE_PORT].map(fromAnywhere),
    );
  return children;
}
