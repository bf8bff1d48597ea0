/**
 * The few Kubernetes object shapes the pure builders produce, typed minimally (fields this project sets or
 * reads), so a builder's output is exactly what is applied. `@kubernetes/client-node`'s models are used only
 * where the operator talks to the apiserver.
 */
import type { AgentEndpointSpec, AgentEndpointStatus } from "../core/crds/agent-endpoint.js";
import type { GatewaySpec, GatewayStatus } from "../core/crds/gateway.js";
import type { MessageDomainSpec, MessageDomainStatus } from "../core/crds/message-domain.js";
import type { JSONSchemaProps } from "./generate/crd-schema.js";

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller: true;
  blockOwnerDeletion: true;
}

export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  generation?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
}

/** A custom resource as read from the apiserver: metadata has name, namespace and uid. */
export interface CustomResource<Kind extends string, Spec, Status> {
  apiVersion: string;
  kind: Kind;
  metadata: ObjectMeta & { namespace: string; uid: string };
  spec: Spec;
  status?: Status;
}
export type MessageDomain = CustomResource<"MessageDomain", MessageDomainSpec, MessageDomainStatus>;
export type Gateway = CustomResource<"Gateway", GatewaySpec, GatewayStatus>;
export type AgentEndpoint = CustomResource<"AgentEndpoint", AgentEndpointSpec, AgentEndpointStatus>;

export interface LabelSelector {
  matchLabels: Record<string, string>;
}

export interface SecretKeySelector {
  name: string;
  key: string;
}

export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: SecretKeySelector; configMapKeyRef?: SecretKeySelector };
}

export interface EnvFromSource {
  configMapRef?: { name: string };
  secretRef?: { name: string };
}

export interface ContainerPort {
  name?: string;
  containerPort: number;
  protocol?: "TCP" | "UDP";
}

/** One of httpGet (answers) or tcpSocket (the port accepts connections). */
export type Probe = (
  { httpGet: { path: string; port: number | string } } | { tcpSocket: { port: number | string } }
) & {
  initialDelaySeconds?: number;
  periodSeconds?: number;
  timeoutSeconds?: number;
  failureThreshold?: number;
};

export type ResourceList = Record<string, number | string>;

export interface VolumeMount {
  name: string;
  mountPath: string;
  readOnly?: boolean;
}

export interface Volume {
  name: string;
  configMap?: { name: string };
  [other: string]: unknown;
}

export interface Container {
  name: string;
  image?: string;
  command?: string[];
  args?: string[];
  ports?: ContainerPort[];
  env?: EnvVar[];
  envFrom?: EnvFromSource[];
  resources?: { requests?: ResourceList | undefined; limits?: ResourceList | undefined };
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  volumeMounts?: VolumeMount[];
  securityContext?: Record<string, unknown>;
  /** `Always` on an init container makes it a native sidecar (Kubernetes 1.29+). */
  restartPolicy?: "Always";
  [other: string]: unknown;
}

export interface PodSpec {
  containers: Container[];
  initContainers?: Container[];
  volumes?: Volume[];
  securityContext?: Record<string, unknown>;
  automountServiceAccountToken?: boolean;
  [other: string]: unknown;
}

export interface PodTemplateSpec {
  metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> };
  spec: PodSpec;
}

export interface ConfigMap {
  apiVersion: "v1";
  kind: "ConfigMap";
  metadata: ObjectMeta;
  data: Record<string, string>;
}

export interface Deployment {
  apiVersion: "apps/v1";
  kind: "Deployment";
  metadata: ObjectMeta;
  spec: {
    /** Omitted when an HPA owns the replica count, so applying the Deployment never fights the HPA. */
    replicas?: number;
    /** `Recreate` stops the old pod before the new one starts: for workloads that must never run twice. */
    strategy?: { type: "Recreate" | "RollingUpdate" };
    selector: LabelSelector;
    template: PodTemplateSpec;
  };
}

export interface ServicePort {
  name: string;
  port: number;
  targetPort: number | string;
  protocol: "TCP";
}

export interface Service {
  apiVersion: "v1";
  kind: "Service";
  metadata: ObjectMeta;
  spec: {
    type: "ClusterIP" | "NodePort" | "LoadBalancer";
    selector: Record<string, string>;
    ports: ServicePort[];
  };
}

export interface NetworkPolicyPort {
  port: number | string;
  protocol: "TCP";
}

/** One ingress rule: `from` absent means from anywhere; `podSelector: {}` means every pod of the namespace. */
export interface NetworkPolicyIngressRule {
  from?: { podSelector: { matchLabels?: Record<string, string> } }[];
  ports: NetworkPolicyPort[];
}

export interface NetworkPolicy {
  apiVersion: "networking.k8s.io/v1";
  kind: "NetworkPolicy";
  metadata: ObjectMeta;
  spec: { podSelector: LabelSelector; policyTypes: ["Ingress"]; ingress: NetworkPolicyIngressRule[] };
}

export interface PodDisruptionBudget {
  apiVersion: "policy/v1";
  kind: "PodDisruptionBudget";
  metadata: ObjectMeta;
  spec: { selector: LabelSelector; maxUnavailable: number | string };
}

export interface HorizontalPodAutoscaler {
  apiVersion: "autoscaling/v2";
  kind: "HorizontalPodAutoscaler";
  metadata: ObjectMeta;
  spec: {
    scaleTargetRef: { apiVersion: string; kind: string; name: string };
    minReplicas: number;
    maxReplicas: number;
    metrics: MetricSpec[];
    behavior?: { scaleDown?: { stabilizationWindowSeconds: number } };
  };
}

/** An autoscaling/v2 metric: CPU utilisation, or a custom per-pod or external metric (e.g. queue depth). */
export type MetricSpec =
  | {
      type: "Resource";
      resource: { name: "cpu"; target: { type: "Utilization"; averageUtilization: number } };
    }
  | {
      type: "Pods";
      pods: {
        metric: { name: string; selector?: LabelSelector };
        target: { type: "AverageValue"; averageValue: string };
      };
    }
  | {
      type: "External";
      external: {
        metric: { name: string; selector?: LabelSelector };
        /** AverageValue divides the metric by the replicas; Value takes it as it is (e.g. an age). */
        target: { type: "AverageValue"; averageValue: string } | { type: "Value"; value: string };
      };
    };

export interface PrinterColumn {
  name: string;
  type: "string" | "integer" | "number" | "boolean" | "date";
  jsonPath: string;
  description?: string;
  priority?: number;
}

export interface CustomResourceDefinition {
  apiVersion: "apiextensions.k8s.io/v1";
  kind: "CustomResourceDefinition";
  metadata: { name: string; labels?: Record<string, string> };
  spec: {
    group: string;
    names: {
      kind: string;
      listKind: string;
      plural: string;
      singular: string;
      shortNames: string[];
      categories: string[];
    };
    scope: "Namespaced";
    versions: {
      name: string;
      served: true;
      storage: true;
      schema: { openAPIV3Schema: JSONSchemaProps };
      subresources: {
        status: Record<string, never>;
        scale?: { specReplicasPath: string; statusReplicasPath: string; labelSelectorPath: string };
      };
      additionalPrinterColumns: PrinterColumn[];
    }[];
  };
}
