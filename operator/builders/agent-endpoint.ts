import { agentEndpointSpecSchema, type AgentEndpointSpec } from "../../core/crds/agent-endpoint.js";
import { CRD_API_VERSION } from "../../core/crds/common.js";
import type {
  AgentEndpoint,
  Container,
  Deployment,
  EnvVar,
  HorizontalPodAutoscaler,
  MessageDomain,
  NetworkPolicy,
  PodTemplateSpec,
  Service,
  Volume,
  VolumeMount,
} from "../k8s-types.js";
import {
  ANNOTATION_CONFIG_HASH,
  BuildError,
  type BuildOptions,
  childMeta,
  commonLabels,
  DEFAULT_IMAGE,
  LABEL_AGENT,
  LABEL_DOMAIN,
  selectorLabels,
  selectorString,
  SIDECAR_CONTAINER_NAME,
  SIDECAR_PORT,
  SIDECAR_PROBE_PORT,
  buildAutoscaler,
  parseSpec,
} from "./common.js";
import { QUEUE_METRICS } from "../external-metrics/metric-names.js";
import { fromAnywhere, ingressOnlyPolicy } from "./network-policy.js";
import { RESTRICTED_POD_SECURITY_CONTEXT, withOverride } from "./pod-security.js";
import { loopbackSidecar } from "./domain-sidecar.js";
import { domainConfigHash, domainConfigVolume, ownDomainName, resolveDomainSpec } from "./message-domain.js";

const APP = "bmn-agent";
export { SIDECAR_ARGS } from "./domain-sidecar.js";
const API_TOKEN_VOLUME = "bmn-api-token";
export const API_TOKEN_DIR = "/etc/bmn-api-token";
export const API_TOKEN_FILE = `${API_TOKEN_DIR}/token`;
const API_TOKEN_MOUNT: VolumeMount = { name: API_TOKEN_VOLUME, mountPath: API_TOKEN_DIR, readOnly: true };

export interface AgentEndpointChildren {
  deployment: Deployment;
  /** Present when `spec.service` is set. */
  service?: Service;
  /** Present when `spec.autoscaling` is set; it scales the AgentEndpoint through its scale subresource. */
  horizontalPodAutoscaler?: HorizontalPodAutoscaler;
  /** Present unless turned off (`spec.networkPolicy.enabled`, or the operator's option). */
  networkPolicy?: NetworkPolicy;
}

export function agentChildName(endpoint: AgentEndpoint): string {
  return endpoint.metadata.name;
}

/** The pods' selector as the scale subresource wants it in `status.selector`. */
export function agentEndpointSelector(endpoint: AgentEndpoint): string {
  return selectorString(selectorLabels(APP, endpoint));
}

export function resolveAgentEndpointSpec(endpoint: AgentEndpoint): AgentEndpointSpec {
  return parseSpec(agentEndpointSpecSchema, endpoint.spec);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Checks the opaque pod template just enough to inject into it; the apiserver validates the rest. */
export function toPodTemplate(template: unknown): PodTemplateSpec {
  if (!isRecord(template)) throw new BuildError("must be a pod template object", "spec.template");
  const { spec } = template;
  if (!isRecord(spec)) throw new BuildError("is required", "spec.template.spec");
  const { containers } = spec;
  if (!Array.isArray(containers) || containers.length === 0)
    throw new BuildError("must list at least one container", "spec.template.spec.containers");
  containers.forEach((container: unknown, index) => {
    if (!isRecord(container) || typeof container.name !== "string" || container.name === "")
      throw new BuildError("needs a name", `spec.template.spec.containers[${index}].name`);
  });
  return structuredClone(template) as unknown as PodTemplateSpec;
}

/** Replaces the entry with the same name, or appends: what makes injection idempotent. */
function upsertByName<T extends { name: string }>(items: readonly T[] | undefined, item: T): T[] {
  const list = [...(items ?? [])];
  const index = list.findIndex((existing) => existing.name === item.name);
  if (index === -1) list.push(item);
  else list[index] = item;
  return list;
}

/** Adds env vars the container does not set itself (the user's own values win). */
function withDefaultEnv(container: Container, defaults: EnvVar[]): Container {
  const env = [...(container.env ?? [])];
  for (const variable of defaults)
    if (!env.some((existing) => existing.name === variable.name)) env.push(variable);
  return { ...container, env };
}

function withMounts(container: Container, mounts: readonly VolumeMount[]): Container {
  if (mounts.length === 0) return container;
  let volumeMounts = container.volumeMounts;
  for (const mount of mounts) volumeMounts = upsertByName(volumeMounts, mount);
  return { ...container, ...(volumeMounts === undefined ? {} : { volumeMounts }) };
}

export interface SidecarInjection {
  sidecar: Container;
  volumes: Volume[];
  /** Env added to the user's containers when absent, e.g. `BMN_URL`. */
  appEnv: EnvVar[];
  /** Mounts added to (or replaced by name in) the user's containers, e.g. the agent API token. */
  appMounts?: VolumeMount[];
}

/**
 * Puts the sidecar into a pod template as a native sidecar: the first init container, with `restartPolicy:
 * Always`, so it starts before the agent's containers and stops after them (the agent can still ack or nack
 * while it shuts down). The entry named `bmn-sidecar` is replaced (or added; one in `containers`, the shape of
 * earlier versions, is removed), volumes are replaced by name, and app containers gain `BMN_URL`/`BMN_AGENT`
 * unless they set them. Injecting twice gives the same template as injecting once.
 */
export function injectSidecar(template: PodTemplateSpec, injection: SidecarInjection): PodTemplateSpec {
  const appContainers = template.spec.containers
    .filter((container) => container.name !== SIDECAR_CONTAINER_NAME)
    .map((container) => withMounts(withDefaultEnv(container, injection.appEnv), injection.appMounts ?? []));
  const userInitContainers = (template.spec.initContainers ?? []).filter(
    (container) => container.name !== SIDECAR_CONTAINER_NAME,
  );
  let volumes = template.spec.volumes;
  for (const volume of injection.volumes) volumes = upsertByName(volumes, volume);
  return {
    ...template,
    spec: {
      ...template.spec,
      initContainers: [{ ...injection.sidecar, restartPolicy: "Always" }, ...userInitContainers],
      containers: appContainers,
      ...(volumes === undefined ? {} : { volumes }),
    },
  };
}

/** The Secret volume holding the agent API token, when the AgentEndpoint names one. */
function apiTokenVolume(spec: AgentEndpointSpec): Volume | undefined {
  const ref = spec.sidecar.apiTokenSecretRef;
  if (ref === undefined) return undefined;
  return {
    name: API_TOKEN_VOLUME,
    // Readable by any user: the agent's pod may run under any user and fsGroup. Only this pod mounts it.
    secret: { secretName: ref.name, items: [{ key: ref.key, path: "token" }], defaultMode: 0o444 },
  };
}

/**
 * The sidecar container for one agent of one domain. Its agent API listens on loopback only (the agent's
 * containers share the pod's network); the kubelet's probes and Prometheus reach a second listener that
 * serves nothing else.
 */
export function sidecarContainer(
  endpoint: AgentEndpoint,
  domain: MessageDomain,
  options: BuildOptions = {},
  removedSubscriptions: readonly string[] = [],
): Container {
  const spec = resolveAgentEndpointSpec(endpoint);
  const token = spec.sidecar.apiTokenSecretRef !== undefined;
  return loopbackSidecar(domain, {
    image:
      spec.sidecar.image ?? resolveDomainSpec(domain).sidecarImage ?? options.defaultImage ?? DEFAULT_IMAGE,
    env: [
      { name: "BMN_AGENT", value: spec.agent },
      { name: SUBSCRIPTIONS_ENV, value: spec.subscriptions.join(",") },
      ...(removedSubscriptions.length === 0
        ? []
        : [{ name: UNSUBSCRIBE_ENV, value: removedSubscriptions.join(",") }]),
      ...(spec.a2a === undefined ? [] : [{ name: "BMN_A2A_CARD", value: JSON.stringify(spec.a2a) }]),
      ...(token ? [{ name: "BMN_API_TOKEN_FILE", value: API_TOKEN_FILE }] : []),
      ...(spec.sidecar.logLevel === undefined
        ? []
        : [{ name: "BMN_LOG_LEVEL", value: spec.sidecar.logLevel }]),
    ],
    resources: spec.sidecar.resources,
    securityContext: spec.sidecar.securityContext,
    mounts: token ? [API_TOKEN_MOUNT] : [],
  });
}

interface CurrentContainer {
  name: string;
  env?: { name: string; value?: string | undefined }[] | undefined;
}

/** The parts of a Deployment read back from the apiserver that `removedSubscriptions` looks at. */
export interface CurrentDeployment {
  spec?:
    | {
        template?:
          | {
              spec?:
                | {
                    containers?: CurrentContainer[] | undefined;
                    initContainers?: CurrentContainer[] | undefined;
                  }
                | undefined;
            }
          | undefined;
      }
    | undefined;
}

const SUBSCRIPTIONS_ENV = "BMN_SUBSCRIPTIONS";
const UNSUBSCRIBE_ENV = "BMN_UNSUBSCRIBE";
/** As many as the sidecar config takes. */
const MAX_REMOVED_SUBSCRIPTIONS = 256;

/**
 * The patterns the sidecar must remove at start: those the current Deployment's sidecar subscribes to or already
 * removes, and `wanted` no longer lists. Sorted, so the pod template changes only when the set does.
 */
export function removedSubscriptions(
  current: CurrentDeployment | undefined,
  wanted: readonly string[],
): string[] {
  // The sidecar is a native sidecar (an init container); Deployments written before that have it in containers.
  const podSpec = current?.spec?.template?.spec;
  const sidecar = [...(podSpec?.initContainers ?? []), ...(podSpec?.containers ?? [])].find(
    (c) => c.name === SIDECAR_CONTAINER_NAME,
  );
  const listed = (name: string): string[] =>
    (sidecar?.env?.find((env) => env.name === name)?.value ?? "")
      .split(",")
      .filter((pattern) => pattern !== "");
  const keep = new Set(wanted);
  const removed = new Set([...listed(SUBSCRIPTIONS_ENV), ...listed(UNSUBSCRIBE_ENV)]);
  return [...removed]
    .filter((pattern) => !keep.has(pattern))
    .sort()
    .slice(0, MAX_REMOVED_SUBSCRIPTIONS);
}

/**
 * What the pods of one agent get: the sidecar with the domain's config, its volumes, and the env and mounts the
 * agent's containers need to reach it. The AgentEndpoint's pod template and the injection webhook both use it.
 */
export function agentSidecarInjection(
  endpoint: AgentEndpoint,
  domain: MessageDomain,
  options: BuildOptions = {},
  unsubscribe: readonly string[] = [],
): SidecarInjection {
  const spec = resolveAgentEndpointSpec(endpoint);
  const tokenVolume = apiTokenVolume(spec);
  return {
    sidecar: sidecarContainer(endpoint, domain, options, unsubscribe),
    volumes: [domainConfigVolume(domain).volume, ...(tokenVolume === undefined ? [] : [tokenVolume])],
    appEnv: [
      { name: "BMN_URL", value: `http://127.0.0.1:${SIDECAR_PORT}` },
      { name: "BMN_AGENT", value: spec.agent },
      // The agent's containers present the same token to the sidecar.
      ...(tokenVolume === undefined ? [] : [{ name: "BMN_API_TOKEN_FILE", value: API_TOKEN_FILE }]),
    ],
    appMounts: tokenVolume === undefined ? [] : [API_TOKEN_MOUNT],
  };
}

/** Deployment (user template + sidecar), optional Service and optional HPA for one AgentEndpoint. */
export function buildAgentEndpointChildren(
  endpoint: AgentEndpoint,
  domain: MessageDomain,
  options: BuildOptions = {},
  /** Patterns dropped from `spec.subscriptions` that the sidecar removes at start (`removedSubscriptions`). */
  unsubscribe: readonly string[] = [],
): AgentEndpointChildren {
  const spec = resolveAgentEndpointSpec(endpoint);
  const domainName = ownDomainName(spec.domain, domain);
  const name = agentChildName(endpoint);
  const labels = commonLabels(APP, "agent", endpoint, {
    [LABEL_DOMAIN]: domainName,
    [LABEL_AGENT]: spec.agent,
  });
  const selector = selectorLabels(APP, endpoint);

  const injected = injectSidecar(
    toPodTemplate(spec.template),
    agentSidecarInjection(endpoint, domain, options, unsubscribe),
  );
  const template: PodTemplateSpec = {
    ...injected,
    metadata: {
      ...injected.metadata,
      // Ours win: the selector must match.
      labels: { ...injected.metadata?.labels, ...labels },
      annotations: {
        // The sidecar's metrics, unless the user's template points Prometheus elsewhere.
        "prometheus.io/scrape": "true",
        "prometheus.io/port": String(SIDECAR_PROBE_PORT),
        "prometheus.io/path": "/metrics",
        ...injected.metadata?.annotations,
        [ANNOTATION_CONFIG_HASH]: domainConfigHash(domain),
      },
    },
    spec: {
      ...injected.spec,
      // Restricted by default; the template's own keys win.
      securityContext: withOverride(RESTRICTED_POD_SECURITY_CONTEXT, injected.spec.securityContext),
      // The sidecar never calls the apiserver: a token only where the template asks for one.
      automountServiceAccountToken: injected.spec.automountServiceAccountToken ?? false,
    },
  };

  const children: AgentEndpointChildren = {
    deployment: {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: childMeta(endpoint, name, labels),
      // Replicas always follow spec.replicas: an HPA scales the AgentEndpoint, not the Deployment.
      spec: { replicas: spec.replicas, selector: { matchLabels: selector }, template },
    },
  };
  if (spec.service !== undefined) {
    children.service = {
      apiVersion: "v1",
      kind: "Service",
      metadata: childMeta(endpoint, name, labels),
      spec: {
        type: "ClusterIP",
        selector,
        ports: [
          {
            name: "http",
            port: spec.service.port,
            targetPort: spec.service.targetPort ?? spec.service.port,
            protocol: "TCP",
          },
        ],
      },
    };
  }
  if (spec.networkPolicy.enabled && options.networkPolicies !== false) {
    // The agent API is on loopback; from outside only the probe port and the Service's port are open.
    const servicePort = spec.service === undefined ? [] : [spec.service.targetPort ?? spec.service.port];
    children.networkPolicy = ingressOnlyPolicy(
      childMeta(endpoint, name, labels),
      selector,
      [SIDECAR_PROBE_PORT, ...servicePort].map(fromAnywhere),
    );
  }
  if (spec.autoscaling !== undefined) {
    children.horizontalPodAutoscaler = buildAutoscaler(
      endpoint,
      name,
      labels,
      { apiVersion: CRD_API_VERSION, kind: endpoint.kind, name: endpoint.metadata.name },
      spec.autoscaling,
      {
        metricName: QUEUE_METRICS.readyDepth,
        oldestAgeMetricName: QUEUE_METRICS.oldestAgeSeconds,
        selector: { [LABEL_DOMAIN]: domainName, [LABEL_AGENT]: spec.agent },
      },
    );
  }
  return children;
}
