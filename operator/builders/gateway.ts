import { stringify } from "yaml";
import { gatewaySpecSchema, type GatewaySpec } from "../../core/crds/gateway.js";
import type {
  ConfigMap,
  Container,
  Deployment,
  EnvVar,
  Gateway,
  HorizontalPodAutoscaler,
  MessageDomain,
  PodDisruptionBudget,
  Service,
} from "../k8s-types.js";
import {
  ANNOTATION_CONFIG_HASH,
  type BuildOptions,
  childMeta,
  commonLabels,
  DEFAULT_IMAGE,
  digest,
  envName,
  LABEL_DOMAIN,
  selectorLabels,
  cpuAutoscaler,
  parseSpec,
  queueDepthMetricSpec,
} from "./common.js";
import {
  domainConfigHash,
  domainConfigVolume,
  ownDomainName,
  domainStoreEnv,
  resolveDomainSpec,
} from "./message-domain.js";

const APP = "bmn-gateway";
const GATEWAY_CONFIG_KEY = "gateway.yaml";
const GATEWAY_CONFIG_PATH = "/etc/bmn-gateway";

export const DEFAULT_GATEWAY_RESOURCES = {
  requests: { cpu: "100m", memory: "128Mi" },
  limits: { memory: "256Mi" },
};

/**
 * PLACEHOLDER until the gateway exists: `bmn gateway` is not a command yet. The Deployment is otherwise
 * complete, so only this line changes when it does.
 */
export const GATEWAY_COMMAND = ["node", "cli/bin/bmn.js", "gateway"];

export interface GatewayChildren {
  configMap: ConfigMap;
  deployment: Deployment;
  service: Service;
  podDisruptionBudget: PodDisruptionBudget;
  /** Present when `spec.autoscaling` is set. */
  horizontalPodAutoscaler?: HorizontalPodAutoscaler;
}

export function gatewayChildName(gateway: Gateway): string {
  return `${gateway.metadata.name}-bmn-gateway`;
}

function resolveGatewaySpec(gateway: Gateway): GatewaySpec {
  return parseSpec(gatewaySpecSchema, gateway.spec);
}

/** Deployment, Service, PDB, optional HPA and a ConfigMap of gateway settings (tokens stay in Secrets). */
export function buildGatewayChildren(
  gateway: Gateway,
  domain: MessageDomain,
  options: BuildOptions = {},
): GatewayChildren {
  const spec = resolveGatewaySpec(gateway);
  const domainName = ownDomainName(spec.domain, domain);
  const name = gatewayChildName(gateway);
  const labels = commonLabels(APP, "gateway", gateway, { [LABEL_DOMAIN]: domainName });
  const selector = selectorLabels(APP, gateway);

  const settings = {
    port: spec.port,
    peers: spec.peers.map((peer) => ({
      name: peer.name,
      endpoints: peer.endpoints,
      tokenEnv: envName("BMN_PEER_TOKEN_", peer.name),
    })),
    batching: spec.batching,
    compression: spec.compression,
    retry: spec.retry,
    breaker: spec.breaker,
  };
  const configData = { [GATEWAY_CONFIG_KEY]: stringify(settings) };
  const configMap: ConfigMap = {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: childMeta(gateway, name, labels),
    data: configData,
  };

  const tokenEnv: EnvVar[] = spec.peers.map((peer) => ({
    name: envName("BMN_PEER_TOKEN_", peer.name),
    valueFrom: { secretKeyRef: { ...peer.tokenSecretRef } },
  }));
  const domainVolume = domainConfigVolume(domain);
  const container: Container = {
    name: "gateway",
    image: spec.image ?? resolveDomainSpec(domain).sidecarImage ?? options.defaultImage ?? DEFAULT_IMAGE,
    command: [...GATEWAY_COMMAND],
    ports: [{ name: "gateway", containerPort: spec.port, protocol: "TCP" }],
    env: [
      ...domainStoreEnv(domain),
      { name: "BMN_GATEWAY_CONFIG", value: `${GATEWAY_CONFIG_PATH}/${GATEWAY_CONFIG_KEY}` },
      ...tokenEnv,
    ],
    resources: spec.resources ?? DEFAULT_GATEWAY_RESOURCES,
    readinessProbe: { httpGet: { path: "/readyz", port: "gateway" }, periodSeconds: 5, failureThreshold: 3 },
    livenessProbe: { httpGet: { path: "/healthz", port: "gateway" }, periodSeconds: 10, failureThreshold: 6 },
    volumeMounts: [
      domainVolume.mount,
      { name: "bmn-gateway-config", mountPath: GATEWAY_CONFIG_PATH, readOnly: true },
    ],
    securityContext: { runAsNonRoot: true, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true },
  };

  const deployment: Deployment = {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: childMeta(gateway, name, labels),
    spec: {
      // With an HPA the replica count is the HPA's; leaving it out keeps apply from fighting it.
      ...(spec.autoscaling === undefined ? { replicas: spec.replicas } : {}),
      selector: { matchLabels: selector },
      template: {
        metadata: {
          labels,
          annotations: { [ANNOTATION_CONFIG_HASH]: digest([domainConfigHash(domain), configData]) },
        },
        spec: {
          containers: [container],
          volumes: [domainVolume.volume, { name: "bmn-gateway-config", configMap: { name } }],
        },
      },
    },
  };

  const service: Service = {
    apiVersion: "v1",
    kind: "Service",
    metadata: childMeta(gateway, name, labels),
    spec: {
      type: "ClusterIP",
      selector,
      ports: [{ name: "gateway", port: spec.port, targetPort: "gateway", protocol: "TCP" }],
    },
  };

  const podDisruptionBudget: PodDisruptionBudget = {
    apiVersion: "policy/v1",
    kind: "PodDisruptionBudget",
    metadata: childMeta(gateway, name, labels),
    spec: { selector: { matchLabels: selector }, maxUnavailable: 1 },
  };

  const children: GatewayChildren = { configMap, deployment, service, podDisruptionBudget };
  if (spec.autoscaling !== undefined) {
    children.horizontalPodAutoscaler = cpuAutoscaler(
      gateway,
      name,
      labels,
      { apiVersion: "apps/v1", kind: "Deployment", name },
      spec.autoscaling,
      options.queueDepthMetric === undefined
        ? []
        : [queueDepthMetricSpec(options.queueDepthMetric, domainName)],
    );
  }
  return children;
}
