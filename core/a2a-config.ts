import { z } from "zod";
import { agentNameSchema } from "./names.js";

const text = (max: number) => z.string().min(1).max(max);
const modes = z.array(text(256)).max(32);

/** What the AgentEndpoint CRD's `a2a` section says about one agent (the operator renders it into this config). */
export const a2aAgentConfigSchema = z
  .object({
    description: text(4_096).optional().describe("What the agent does, for its A2A agent card."),
    version: text(64).optional().describe("The agent's version on its card."),
    inputModes: modes
      .optional()
      .describe("Media types the agent takes (default text/plain and application/json)."),
    outputModes: modes.optional().describe("Media types the agent answers with."),
    skills: z
      .array(
        z
          .object({
            id: text(128).describe("The skill's id."),
            name: text(256).optional().describe("A short name."),
            description: text(4_096).optional().describe("What the skill does."),
            tags: z.array(text(128)).max(32).optional().describe("Keywords."),
            examples: z.array(text(1_024)).max(32).optional().describe("Example requests."),
            inputModes: modes.optional().describe("Media types this skill takes."),
            outputModes: modes.optional().describe("Media types this skill answers with."),
          })
          .strict(),
      )
      .max(64)
      .optional()
      .describe("Skills on the card, besides the capabilities the agent registers."),
  })
  .strict();
export type A2aAgentConfig = z.infer<typeof a2aAgentConfigSchema>;

/** An outside A2A agent the bridge calls (sidecar/a2a/remote-bridge.ts). */
export const a2aRemoteConfigSchema = z
  .object({
    /** The remote's agent card, e.g. https://agents.example.com/.well-known/agent-card.json */
    cardUrl: z.url({ protocol: /^https?$/ }),
    /** Attempts per message before it is dead-lettered `max-attempts`. */
    maxAttempts: z.number().int().min(1).max(100).default(5),
    backoffBaseMs: z.number().int().min(1).default(1_000),
    backoffMaxMs: z.number().int().min(1).default(60_000),
    /** How long one call (the whole remote stream) may take. */
    timeoutMs: z.number().int().min(100).default(300_000),
  })
  .strict();
export type A2aRemoteConfig = z.infer<typeof a2aRemoteConfigSchema>;

/** The sidecar's A2A binding (docs/a2a.md). */
export const a2aConfigSchema = z
  .object({
    /** Serve agent cards and the A2A JSON-RPC endpoints. */
    enabled: z.boolean().default(true),
    /** The base URL cards advertise (as clients reach this sidecar); default: from the request's Host. */
    publicUrl: z.url({ protocol: /^https?$/ }).optional(),
    /** Cards for agents beyond the registry, or richer ones for registered agents (AgentEndpoint `a2a`). */
    agents: z.record(agentNameSchema, a2aAgentConfigSchema).default({}),
    /**
     * Outside A2A agents this sidecar calls on behalf of local ones, by the name they get in this domain: their
     * tasks are queued like any agent's and relayed to the remote (retried, dead-lettered) by the bridge.
     */
    remotes: z.record(agentNameSchema, a2aRemoteConfigSchema).default({}),
    /** How long a task is kept after its last change. */
    taskRetentionSeconds: z
      .number()
      .int()
      .min(1)
      .default(7 * 86_400),
    /** Events one task may have (statuses and artifact chunks); more are refused. */
    maxEventsPerTask: z.number().int().min(4).max(100_000).default(1_000),
    /** Messages kept in a task's history (the oldest are dropped from the task, not from its event log). */
    maxHistory: z.number().int().min(1).max(10_000).default(100),
    /** Bytes of a task's stored form (artifacts and history); an event that would grow it further is refused. */
    maxTaskBytes: z
      .number()
      .int()
      .min(65_536)
      .default(4 * 1024 * 1024),
    /** How long a blocking SendMessage waits for the task to finish or stop for input. */
    blockingWaitSeconds: z.number().int().min(0).max(600).default(30),
    /** Open SSE streams (SendStreamingMessage, SubscribeToTask) in the whole sidecar, and per client address. */
    maxStreams: z.number().int().min(1).default(1_024),
    maxStreamsPerClient: z.number().int().min(1).default(32),
    /** How often a stream looks in the store for events written through another sidecar. */
    pollIntervalMs: z.number().int().min(10).max(60_000).default(500),
    push: z
      .object({
        enabled: z.boolean().default(true),
        /** Webhooks on loopback, private, link-local or unique-local addresses; off by default (SSRF). */
        allowPrivateUrls: z.boolean().default(false),
        maxConfigsPerTask: z.number().int().min(1).max(100).default(10),
        /** Attempts per notification before it is dead-lettered `max-attempts`. */
        maxAttempts: z.number().int().min(1).max(100).default(8),
        backoffBaseMs: z.number().int().min(1).default(1_000),
        backoffMaxMs: z
          .number()
          .int()
          .min(1)
          .default(5 * 60_000),
        timeoutMs: z.number().int().min(100).max(60_000).default(5_000),
        /** Notifications sent at once by this sidecar. */
        concurrency: z.number().int().min(1).max(256).default(8),
        /** Consecutive failures of one webhook (origin) that open its breaker, and how long it stays open. */
        breakerFailures: z.number().int().min(1).default(5),
        breakerOpenMs: z.number().int().min(100).default(30_000),
      })
      .strict()
      .prefault({}),
  })
  .strict();
export type A2aConfig = z.infer<typeof a2aConfigSchema>;
