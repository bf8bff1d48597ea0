import { z } from "zod";

/** API group and version of every Beast Mode Network custom resource. */
export const CRD_GROUP = "beastmode.network";
export const CRD_VERSION = "v1alpha1";
export const CRD_API_VERSION = `${CRD_GROUP}/${CRD_VERSION}`;

/** A Kubernetes object name that is a DNS subdomain (Secrets, ConfigMaps, images' pull secrets). */
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
export const objectNameSchema = z
  .string()
  .min(1)
  .max(253, { error: "must be at most 253 characters" })
  .regex(DNS_SUBDOMAIN, { error: "must be a lowercase DNS subdomain (a-z, 0-9, '-' and '.')" });

/** A key inside a Secret's data. */
export const secretDataKeySchema = z
  .string()
  .min(1)
  .max(253)
  .regex(/^[-._a-zA-Z0-9]+$/, { error: "must be letters, digits, '-', '_' or '.'" });

/** A key of a Secret in the resource's namespace, described for `kubectl explain`. */
export function secretKeySelectorSchema(description: string) {
  return z
    .object({
      name: objectNameSchema.describe("Name of the Secret, in the resource's namespace."),
      key: secretDataKeySchema.describe("Key inside the Secret's data."),
    })
    .strict()
    .describe(description);
}

/** A value held in a Secret of the same namespace; never the value itself. */
export const secretKeyRefSchema = z
  .object({
    secretRef: secretKeySelectorSchema("The Secret key holding the value."),
  })
  .strict();
export type SecretKeyRef = z.infer<typeof secretKeyRefSchema>;

/** A Kubernetes resource quantity such as `100m`, `128Mi` or `2`. */
const QUANTITY =
  /^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$/;
export const quantitySchema = z.union([
  z.number().int().min(0),
  z.string().regex(QUANTITY, { error: "must be a Kubernetes quantity such as 100m, 128Mi or 2" }),
]);

/** Container resources, as in a pod spec (`requests`/`limits` by resource name). */
export const resourceRequirementsSchema = z
  .object({
    requests: z
      .record(z.string(), quantitySchema.describe("A quantity such as 100m, 128Mi or 2."))
      .optional()
      .describe("Resources the container is guaranteed, by name (cpu, memory...)."),
    limits: z
      .record(z.string(), quantitySchema.describe("A quantity such as 100m, 128Mi or 2."))
      .optional()
      .describe("The most the container may use, by name (cpu, memory...)."),
  })
  .strict();
export type ResourceRequirements = z.infer<typeof resourceRequirementsSchema>;

/**
 * A core/v1 PodSecurityContext or SecurityContext, kept opaque like a pod template: the apiserver validates it
 * when the operator applies the Deployment. Its keys replace the operator's defaults one by one.
 */
export const securityContextSchema = z
  .record(z.string(), z.unknown())
  .meta({ "x-kubernetes-preserve-unknown-fields": true });
export type SecurityContextOverride = z.infer<typeof securityContextSchema>;

/** The NetworkPolicy the operator renders for a resource's pods. */
export const networkPolicySettingsSchema = z
  .object({
    /** Default true; false leaves the pods without the operator's policy (other policies still apply). */
    enabled: z
      .boolean()
      .default(true)
      .describe("False leaves the pods without the operator's default NetworkPolicy (other policies still apply)."),
  })
  .strict();

export const replicasSchema = z.number().int().min(0).max(1_000);

/** What the HPA scales on: CPU use, the queue's depth (an External metric the operator serves), or both. */
export const AUTOSCALING_METRICS = ["cpu", "queueDepth", "both"] as const;

/**
 * Horizontal autoscaling on CPU, queue depth or both. When present, an HPA drives `replicas`;
 * `minReplicas <= maxReplicas` is checked here and by the apiserver (CEL).
 */
export const autoscalingSchema = z
  .object({
    minReplicas: z.number().int().min(1).max(1_000).default(1).describe("Fewest replicas the HPA keeps."),
    maxReplicas: z.number().int().min(1).max(1_000).describe("Most replicas the HPA may run."),
    targetCPUUtilizationPercentage: z
      .number()
      .int()
      .min(1)
      .max(100)
      .default(80)
      .describe("Average CPU use, in percent of the requests, the HPA aims for."),
    metric: z
      .enum(AUTOSCALING_METRICS)
      .default("cpu")
      .describe(
        "cpu, queueDepth (ready messages per replica, an External metric the operator serves through " +
          "external.metrics.k8s.io) or both (the HPA takes the larger count).",
      ),
    targetQueueDepthPerReplica: z
      .number()
      .int()
      .min(1)
      .max(1_000_000)
      .default(100)
      .describe("Ready messages per replica the HPA aims for (metric queueDepth or both)."),
    targetOldestAgeSeconds: z
      .number()
      .int()
      .min(1)
      .max(86_400)
      .optional()
      .describe(
        "When set, the HPA also scales on the age of the next ready message (an External metric the operator " +
          "serves), adding replicas in proportion while it is older than this; with any metric, the HPA takes " +
          "the largest count.",
      ),
    scaleDownStabilizationSeconds: z
      .number()
      .int()
      .min(0)
      .max(3_600)
      .optional()
      .describe("How long the HPA waits before removing replicas (Kubernetes' default: 300)."),
  })
  .strict()
  .refine((value) => value.minReplicas <= value.maxReplicas, {
    error: "must not be greater than maxReplicas",
    path: ["minReplicas"],
  })
  .meta({
    "x-kubernetes-validations": [
      {
        rule: "!has(self.minReplicas) || self.minReplicas <= self.maxReplicas",
        message: "minReplicas must not be greater than maxReplicas",
        fieldPath: ".minReplicas",
        reason: "FieldValueInvalid",
      },
    ],
  });
export type Autoscaling = z.infer<typeof autoscalingSchema>;

/** A metav1.Condition. */
export const conditionSchema = z
  .object({
    type: z
      .string()
      .max(316)
      .regex(/^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$/)
      .describe("The condition's type: Ready, Progressing, Degraded, or one of the kind's own (docs/operator.md)."),
    status: z.enum(["True", "False", "Unknown"]).describe("True, False or Unknown."),
    observedGeneration: z
      .number()
      .int()
      .min(0)
      .optional()
      .describe("The metadata.generation the condition was set from."),
    lastTransitionTime: z.iso
      .datetime({ offset: true })
      .describe("When the status last changed."),
    reason: z
      .string()
      .min(1)
      .max(1_024)
      .regex(/^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$/)
      .describe("Why, in CamelCase; docs/operator.md lists every reason and what to do about it."),
    message: z.string().max(32_768).describe("Details for people."),
  })
  .strict();
export type Condition = z.infer<typeof conditionSchema>;
export type ConditionStatus = Condition["status"];

/** Status fields every kind shares. */
export const baseStatusShape = {
  observedGeneration: z
    .number()
    .int()
    .min(0)
    .optional()
    .describe("The metadata.generation the operator last reconciled."),
  conditions: z
    .array(conditionSchema.describe("One condition."))
    .max(32)
    .optional()
    .meta({ "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["type"] })
    .describe("The resource's state: Ready, Progressing and Degraded, and per kind more."),
};

/** The replica counts of a kind that runs a Deployment (Gateway, AgentEndpoint); the printer columns read them. */
export const replicaStatusShape = {
  replicas: z
    .number()
    .int()
    .min(0)
    .optional()
    .describe("Pods of the Deployment, surge pods of a rollout included (the scale subresource's status)."),
  desiredReplicas: z
    .number()
    .int()
    .min(0)
    .optional()
    .describe("What the Deployment is asked to run: spec.replicas, or the HPA's count while autoscaling."),
  updatedReplicas: z.number().int().min(0).optional().describe("Pods of the current revision."),
  readyReplicas: z.number().int().min(0).optional().describe("Ready pods."),
  availableReplicas: z
    .number()
    .int()
    .min(0)
    .optional()
    .describe("Pods ready for at least minReadySeconds (what the Available column shows)."),
};
