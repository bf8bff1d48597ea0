import { z } from "zod";
import { a2aAgentConfigSchema } from "../a2a-config.js";
import { agentNameSchema, domainNameSchema, TOPIC_PATTERN_REGEX_SOURCE, topicPatternSchema } from "../names.js";
import {
  autoscalingSchema,
  baseStatusShape,
  replicaStatusShape,
  replicasSchema,
  resourceRequirementsSchema,
  secretKeySelectorSchema,
  networkPolicySettingsSchema,
  securityContextSchema,
} from "./common.js";

export const AGENT_ENDPOINT_KIND = "AgentEndpoint";
/** The resource name in API paths and RBAC rules. */
export const AGENT_ENDPOINT_PLURAL = "agentendpoints";

/**
 * A pod template (`metadata` and `spec` of a core/v1 PodTemplateSpec), kept opaque: the apiserver validates
 * it when the operator creates the Deployment, so the CRD preserves its fields as written.
 */
export const podTemplateSchema = z
  .record(z.string(), z.unknown())
  .meta({ "x-kubernetes-preserve-unknown-fields": true })
  .describe(
    "The agent's pod template (metadata and spec of a core/v1 PodTemplateSpec); the operator adds the sidecar.",
  );
export type PodTemplate = z.infer<typeof podTemplateSchema>;

/**
 * A sidecar is 100–128 MB of RSS before its heap grows (128Mi left it almost no room), so the limit leaves room for
 * the 102 MiB old space the operator gives V8 from it (operator/builders/node-heap.ts).
 */
export const DEFAULT_SIDECAR_RESOURCES = {
  requests: { cpu: "50m", memory: "64Mi" },
  limits: { memory: "256Mi" },
};

/** The injected sidecar container. */
export const sidecarSettingsSchema = z
  .object({
    /** Defaults to the domain's `sidecarImage`, then the operator's default image. */
    image: z
      .string()
      .min(1)
      .max(512)
      .optional()
      .describe("Sidecar image; default the domain's sidecarImage, then the operator's default image."),
    resources: resourceRequirementsSchema
      .default(DEFAULT_SIDECAR_RESOURCES)
      .describe("The sidecar container's resources."),
    logLevel: z
      .enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"])
      .optional()
      .describe("The sidecar's log level."),
    /** Keys that replace the sidecar container's restricted defaults (see docs/operator.md). */
    securityContext: securityContextSchema
      .optional()
      .describe("Keys that replace the sidecar container's restricted securityContext defaults."),
    /**
     * A Secret key holding a token the agent API then requires (`Authorization: Bearer`). It is mounted as a
     * file in the sidecar only; the agent's own containers read it from the same Secret if they need it.
     */
    apiTokenSecretRef: secretKeySelectorSchema(
      "A Secret key holding a token the agent API then requires (Authorization: Bearer).",
    ).optional(),
  })
  .strict();
export type SidecarSettings = z.infer<typeof sidecarSettingsSchema>;

/** An optional ClusterIP Service in front of the agent's own container port. */
export const agentServiceSchema = z
  .object({
    port: z.number().int().min(1).max(65_535).describe("The Service's port."),
    targetPort: z
      .number()
      .int()
      .min(1)
      .max(65_535)
      .optional()
      .describe("The agent container's port; default the same as port."),
  })
  .strict();

export const agentEndpointSpecSchema = z
  .object({
    /** The MessageDomain (in the same namespace) the agent belongs to. */
    domain: domainNameSchema.describe("The MessageDomain, in the same namespace, the agent belongs to."),
    /** The agent's name in its address, `agent@domain`. */
    agent: agentNameSchema.describe("The agent's name in its address, agent@domain."),
    template: podTemplateSchema,
    subscriptions: z
      .array(
        topicPatternSchema
          .meta({
            pattern: TOPIC_PATTERN_REGEX_SOURCE,
          })
          .describe("A topic pattern, e.g. orders.* or audit.#."),
      )
      .max(256)
      .default([])
      .describe("Topic patterns the agent subscribes to (`*` one segment, `#` any number)."),
    sidecar: sidecarSettingsSchema.prefault({}).describe("The injected sidecar container."),
    a2a: a2aAgentConfigSchema
      .optional()
      .describe("The agent's A2A agent card: description, skills, input and output modes (docs/a2a.md)."),
    replicas: replicasSchema.default(1).describe("Pods to run (ignored while autoscaling is set)."),
    autoscaling: autoscalingSchema
      .optional()
      .describe("Horizontal autoscaling on CPU: an HPA then drives the replica count."),
    service: agentServiceSchema
      .optional()
      .describe("A ClusterIP Service in front of the agent's own container port."),
    /** The default NetworkPolicy for the agent's pods (see docs/operator.md); `enabled: false` leaves it out. */
    networkPolicy: networkPolicySettingsSchema
      .prefault({})
      .describe("The default NetworkPolicy for the agent's pods."),
  })
  .strict();
export type AgentEndpointSpec = z.infer<typeof agentEndpointSpecSchema>;
export type AgentEndpointSpecInput = z.input<typeof agentEndpointSpecSchema>;

export const agentEndpointStatusSchema = z
  .object({
    ...baseStatusShape,
    ...replicaStatusShape,
    /** The pods' label selector as a string, for the scale subresource. */
    selector: z.string().optional().describe("The pods' label selector, for the scale subresource."),
    address: z
      .string()
      .max(127)
      .optional()
      .describe("The agent's address, agent@domain: what other agents send to."),
    queue: z
      .object({
        depth: z.number().int().min(0).describe("Messages waiting: neither leased nor dead-lettered."),
        inFlight: z.number().int().min(0).describe("Messages leased to the agent and not yet settled."),
        deadLettered: z.number().int().min(0).describe("Messages in the agent's dead-letter queue."),
      })
      .strict()
      .optional()
      .describe(
        "The agent's queue in the domain's store, read every refresh interval (default 30 s); absent for a " +
          "memory store (it lives in each sidecar) or while the store cannot be read.",
      ),
  })
  .strict();
export type AgentEndpointStatus = z.infer<typeof agentEndpointStatusSchema>;
