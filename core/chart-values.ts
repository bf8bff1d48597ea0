/**
 * The Helm chart's values (charts/beast-mode-network/values.yaml). One source of truth: `npm run generate`
 * writes the chart's values.schema.json from this schema, so `helm install --set` refuses what zod refuses.
 */
import { z } from "zod";
import { monitoringValues } from "./chart-monitoring-values.js";
import { DNS_LABEL, DNS_LABEL_MAX } from "./names.js";

const dnsLabelSchema = z.string().max(DNS_LABEL_MAX).regex(DNS_LABEL, "must be a lowercase DNS label");

const quantity = z.union([z.string().min(1), z.number().nonnegative()]);
const resourceList = z.record(z.string(), quantity);
const stringMap = z.record(z.string(), z.string());
/** Opaque Kubernetes objects the chart passes through (affinity, tolerations). */
const opaque = z.record(z.string(), z.unknown());

const leaderElectionSchema = z
  .strictObject({
    enabled: z.boolean().default(true).describe("Only the Lease holder reconciles; needed with replicas > 1"),
    leaseName: dnsLabelSchema.default("bmn-operator"),
    leaseDurationSeconds: z.int().min(2).default(15),
    renewDeadlineSeconds: z.int().min(1).default(10),
    retryPeriodSeconds: z.int().min(1).default(2),
  })
  .refine(
    (value) =>
      value.retryPeriodSeconds < value.renewDeadlineSeconds &&
      value.renewDeadlineSeconds < value.leaseDurationSeconds,
    { error: "need retryPeriodSeconds < renewDeadlineSeconds < leaseDurationSeconds" },
  );

/** The operator pod's securityContext by default: Pod Security `restricted`, the image's `node` user. */
const DEFAULT_POD_SECURITY_CONTEXT = {
  runAsNonRoot: true,
  runAsUser: 1000,
  runAsGroup: 1000,
  seccompProfile: { type: "RuntimeDefault" },
};
/** The operator container's securityContext by default (Pod Security `restricted`). */
const DEFAULT_CONTAINER_SECURITY_CONTEXT = {
  runAsNonRoot: true,
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  capabilities: { drop: ["ALL"] },
  seccompProfile: { type: "RuntimeDefault" },
};

export const chartValuesSchema = z
  .strictObject({
    image: z
      .strictObject({
        repository: z.string().min(1).default("ghcr.io/beast-mode-network/bmn"),
        tag: z.string().default("").describe("Defaults to the chart's appVersion"),
        pullPolicy: z.enum(["Always", "IfNotPresent", "Never"]).default("IfNotPresent"),
      })
      .default({ repository: "ghcr.io/beast-mode-network/bmn", tag: "", pullPolicy: "IfNotPresent" }),
    imagePullSecrets: z.array(z.strictObject({ name: z.string().min(1) })).default([]),
    crds: z
      .strictObject({
        enabled: z
          .boolean()
          .default(true)
          .describe("Install and upgrade the CRDs with the release (false: manage them yourself)"),
        keep: z
          .boolean()
          .default(true)
          .describe("helm uninstall leaves the CRDs, and so every BMN resource and its pods, in place"),
      })
      .prefault({}),
    replicaCount: z.int().min(0).default(2).describe("Operator replicas; one leads, the others stand by"),
    createNamespace: z
      .boolean()
      .default(false)
      .describe(
        "Render the release Namespace (for the kubectl bundle; helm install uses --create-namespace)",
      ),
    operator: z
      .strictObject({
        watchNamespace: z
          .union([dnsLabelSchema, z.literal("")])
          .default("")
          .describe("Watch one namespace only (RBAC then binds there only); empty watches all namespaces"),
        defaultSidecarImage: z
          .string()
          .default("")
          .describe(
            "Sidecar image when neither a resource nor its MessageDomain names one; empty: the operator's",
          ),
        networkPolicies: z
          .boolean()
          .default(true)
          .describe(
            "Render the default NetworkPolicy for gateway and agent pods (each resource may opt out)",
          ),
        resyncSeconds: z.int().min(0).default(300),
        logLevel: z.enum(["trace", "debug", "info", "warn", "error", "fatal"]).default("info"),
        leaderElection: leaderElectionSchema.default({
          enabled: true,
          leaseName: "bmn-operator",
          leaseDurationSeconds: 15,
          renewDeadlineSeconds: 10,
          retryPeriodSeconds: 2,
        }),
      })
      .prefault({}),
    nameOverride: z
      .string()
      .max(40)
      .default("")
      .describe("Replaces the chart name in app.kubernetes.io/name and `bmn` in object names"),
    fullnameOverride: z
      .string()
      .max(40)
      .default("")
      .describe("The prefix of every object's name, instead of `<release>-bmn` (or the release name)"),
    rbac: z
      .strictObject({
        create: z.boolean().default(true),
        aggregateToDefaultRoles: z
          .boolean()
          .default(true)
          .describe("ClusterRoles aggregated into the default view, edit and admin roles, for BMN's kinds"),
        secretNamespaces: z
          .array(dnsLabelSchema)
          .default([])
          .describe(
            "Namespaces where the operator may `get` Secrets (MessageDomain store checks); no cluster-wide read",
          ),
      })
      .prefault({}),
    serviceAccount: z
      .strictObject({
        create: z.boolean().default(true),
        name: z.string().default("").describe("Defaults to the release's full name"),
        annotations: stringMap.default({}),
      })
      .prefault({}),
    metrics: z
      .strictObject({
        port: z.int().min(1).max(65_535).default(8080),
        service: z
          .strictObject({
            enabled: z.boolean().default(true),
            type: z.enum(["ClusterIP", "NodePort", "LoadBalancer"]).default("ClusterIP"),
          })
          .prefault({}),
      })
      .prefault({}),
    /**
     * The operator serves external.metrics.k8s.io (queue depths for AgentEndpoint and Gateway HPAs): an
     * APIService, its Service and a self-signed serving certificate generated at install. Turn it off where
     * KEDA or prometheus-adapter already serves external metrics (one APIService per group per cluster). Not
     * rendered with operator.watchNamespace (an APIService is cluster-scoped).
     */
    metricsApi: z
      .strictObject({
        enabled: z.boolean().default(true),
        port: z.int().min(1).max(65_535).default(6443),
      })
      .prefault({}),
    /** Sidecar injection by annotation (docs/injection.md); not rendered with operator.watchNamespace. */
    injection: z
      .strictObject({
        enabled: z.boolean().default(true),
        port: z.int().min(1).max(65_535).default(9443),
        failurePolicy: z
          .enum(["Ignore", "Fail"])
          .default("Ignore")
          .describe("Ignore: pods are created without the sidecar while no operator answers; Fail: refused"),
        timeoutSeconds: z.int().min(1).max(30).default(5),
        namespaceSelector: opaque
          .default({})
          .describe("matchLabels/matchExpressions ANDed with the built-in exclusion of system namespaces"),
        certManager: z
          .strictObject({
            enabled: z.boolean().default(false),
            issuerRef: opaque.default({}).describe("{name, kind, group}; empty: a self-signed Issuer"),
          })
          .prefault({}),
      })
      .prefault({}),
    resources: z
      .strictObject({ requests: resourceList.optional(), limits: resourceList.optional() })
      .default({ requests: { cpu: "50m", memory: "96Mi" }, limits: { memory: "256Mi" } }),
    podSecurityContext: opaque
      .default(DEFAULT_POD_SECURITY_CONTEXT)
      .describe("The operator pod's securityContext (core/v1 PodSecurityContext)"),
    securityContext: opaque
      .default(DEFAULT_CONTAINER_SECURITY_CONTEXT)
      .describe("The operator container's securityContext (core/v1 SecurityContext)"),
    topologySpreadConstraints: z
      .array(opaque)
      .default([])
      .describe("How the operator's pods spread over zones and nodes (core/v1 TopologySpreadConstraint)"),
    podDisruptionBudget: z
      .strictObject({
        enabled: z.boolean().default(true).describe("A PodDisruptionBudget for the operator's pods"),
        maxUnavailable: z
          .union([z.int().min(0), z.string().regex(/^\d{1,3}%$/, "must be a count or a percentage")])
          .default(1)
          .describe("Operator pods a voluntary disruption (a node drain) may take down at once"),
      })
      .prefault({}),
    extraArgs: z
      .array(z.string().min(1))
      .default([])
      .describe("More arguments of `bmn operator`, e.g. --store-probe-interval=10"),
    extraEnv: z
      .array(opaque)
      .default([])
      .describe("More environment variables of the operator container (core/v1 EnvVar)"),
    podAnnotations: stringMap.default({}),
    podLabels: stringMap.default({}),
    priorityClassName: z.string().default(""),
    nodeSelector: stringMap.default({}),
    tolerations: z.array(opaque).default([]),
    affinity: opaque.default({}),
    ...monitoringValues,
    /** Helm passes `global` to every chart; accepted so `additionalProperties: false` does not refuse it. */
    global: opaque.optional(),
  })
  .prefault({});

export type ChartValues = z.output<typeof chartValuesSchema>;
