import { z } from "zod";
import { agentNameSchema, domainNameSchema, topicPatternSchema } from "../names.js";
import {
  autoscalingSchema,
  baseStatusShape,
  replicasSchema,
  resourceRequirementsSchema,
  secretDataKeySchema,
  objectNameSchema,
  networkPolicySettingsSchema,
  securityContextSchema,
} from "./common.js";

export const AGENT_ENDPOINT_KIND = "AgentEndpoint";
/** The resource name in API paths and RBAC rules. */
export const AGENT_ENDPOINT_PLURAL = "agentendpoints";

const TOPIC_PATTERN_SEGMENT = "(\\*|#|[A-Za-z0-9_-]{1,64})";

/**
 * A pod template (`metadata` and `spec` of a core/v1 PodTemplateSpec), kept opaque: the apiserver validates
 * it when the operator creates the Deployment, so the CRD preserves its fields as written.
 */
export const podTemplateSchema = z
  .record(z.string(), z.unknown())
  .meta({ "x-kubernetes-preserve-unknown-fields": true });
export type PodTemplate = z.infer<typeof podTemplateSchema>;

export const DEFAULT_SIDECAR_RESOURCES = {
  requests: { cpu: "50m", memory: "64Mi" },
  limits: { memory: "128Mi" },
};

/** The injected sidecar container. */
export const sidecarSettingsSchema = z
  .object({
    /** Defaults to the domain's `sidecarImage`, then the operator's default image. */
    image: z.string().min(1).max(512).optional(),
    resources: resourceRequirementsSchema.default(DEFAULT_SIDECAR_RESOURCES),
    logLevel: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).optional(),
    /** Keys that replace the sidecar container's restricted defaults (see docs/operator.md). */
    securityContext: securityContextSchema.optional(),
    /**
     * A Secret key holding a token the agent API then requires (`Authorization: Bearer`). It is mounted as a
     * file in the sidecar only; the agent's own containers read it from the same Secret if they need it.
     */
    apiTokenSecretRef: z.object({ name: objectNameSchema, key: secretDataKeySchema }).strict().optional(),
  })
  .strict();
export type SidecarSettings = z.infer<typeof sidecarSettingsSchema>;

/** An optional ClusterIP Service in front of the agent's own container port. */
export const agentServiceSchema = z
  .object({
    port: z.number().int().min(1).max(65_535),
    targetPort: z.number().int().min(1).max(65_535).optional(),
  })
  .strict();

export const agentEndpointSpecSchema = z
  .object({
    /** The MessageDomain (in the same namespace) the agent belongs to. */
    domain: domainNameSchema,
    /** The agent's name in its address, `agent@domain`. */
    agent: agentNameSchema,
    template: podTemplateSchema,
    subscriptions: z
      .array(
        topicPatternSchema.meta({
          pattern: `^${TOPIC_PATTERN_SEGMENT}(\\.${TOPIC_PATTERN_SEGMENT})*$`,
        }),
      )
      .max(256)
      .default([]),
    sidecar: sidecarSettingsSchema.prefault({}),
    replicas: replicasSchema.default(1),
    autoscaling: autoscalingSchema.optional(),
    service: agentServiceSchema.optional(),
    /** The default NetworkPolicy for the agent's pods (see docs/operator.md); `enabled: false` leaves it out. */
    networkPolicy: networkPolicySettingsSchema.prefault({}),
  })
  .strict();
export type AgentEndpointSpec = z.infer<typeof agentEndpointSpecSchema>;
export type AgentEndpointSpecInput = z.input<typeof agentEndpointSpecSchema>;

export const agentEndpointStatusSchema = z
  .object({
    ...baseStatusShape,
    replicas: z.number().int().min(0).optional(),
    readyReplicas: z.number().int().min(0).optional(),
    /** The pods' label selector as a string, for the scale subresource. */
    selector: z.string().optional(),
  })
  .strict();
export type AgentEndpointStatus = z.infer<typeof agentEndpointStatusSchema>;
