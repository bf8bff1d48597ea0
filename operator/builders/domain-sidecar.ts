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
  ObjectMeta,
  VolumeMount,
  Volume,
} from "../k8s-types.js";
import {
  ANNOTATION_CONFIG_HASH,
  SIDECAR_CONTAINER_NAME,
  SIDECAR_PORT,
  SIDECAR_PROBE_PORT,
} from "./common.js";
import { domainConfigHash, domainConfigVolume, domainStoreEnv } from "./message-domain.js";
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
  return {
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
  };
}

/** What a domain-wide workload (console, legacy bridge) runs beside the sidecar. */
export interface DomainWorkload {
  metadata: ObjectMeta;
  selector: Record<string, string>;
  labels: Record<string, string>;
  image: string;
  container: Container;
  volumes: readonly Volume[];
  /** Pod template annotations besides the config hash and the sidecar's metrics. */
  annotations?: Record<string, string>;
  strategy?: { type: "Recreate" | "RollingUpdate" };
}

/**
 * One replica of `container` with an unbound sidecar of the domain (it may act for any agent of the domain: the
 * workload is the domain's own) as a native sidecar that must answer `/healthz` before the container starts. The
 * pod is Pod Security "restricted" and has no ServiceAccount token: none of them calls the apiserver.
 */
export function domainWorkloadDeployment(domain: MessageDomain, workload: DomainWorkload): Deployment {
  const sidecar = loopbackSidecar(domain, {
    image: workload.image,
    resources: { requests: { cpu: "50m", memory: "64Mi" }, limits: { memory: "256Mi" } },
  });
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: workload.metadata,
    spec: {
      replicas: 1,
      ...(workload.strategy === undefined ? {} : { strategy: workload.strategy }),
      selector: { matchLabels: workload.selector },
      template: {
        metadata: {
          labels: workload.labels,
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
          containers: [workload.container],
          volumes: [domainConfigVolume(domain).volume, ...workload.volumes],
        },
      },
    },
  };
}
