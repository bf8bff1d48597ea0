import { z } from "zod";
import { MESSAGE_ID_PATTERN } from "../ids.js";
import { emptyResponse } from "./common.js";

/**
 * The A2A protocol v1.0 objects in their JSON form (the protobuf JSON mapping the official SDKs write: enum
 * names such as TASK_STATE_WORKING, `parts` with one of `text`, `raw`, `url` or `data`), and BMN's own routes
 * for agents that answer A2A tasks. Unknown fields of A2A objects are kept (the protocol grows by adding them).
 */

export const A2A_PROTOCOL_VERSION = "1.0";

export { A2A_CANCEL_TYPE, A2A_EVENT_TYPE, A2A_MESSAGE_TYPE } from "./a2a-message-types.js";
/** The agent name of every domain's A2A task inbox: reports on its tasks from agents of other domains. */
export const A2A_EVENTS_AGENT = "bmn-a2a-events";

export const TASK_STATES = [
  "TASK_STATE_SUBMITTED",
  "TASK_STATE_WORKING",
  "TASK_STATE_COMPLETED",
  "TASK_STATE_FAILED",
  "TASK_STATE_CANCELED",
  "TASK_STATE_INPUT_REQUIRED",
  "TASK_STATE_REJECTED",
  "TASK_STATE_AUTH_REQUIRED",
] as const;
export type TaskState = (typeof TASK_STATES)[number];

/** A task in one of these takes no more events. */
export const TERMINAL_STATES: ReadonlySet<TaskState> = new Set([
  "TASK_STATE_COMPLETED",
  "TASK_STATE_FAILED",
  "TASK_STATE_CANCELED",
  "TASK_STATE_REJECTED",
]);
/** A task in one of these waits for the client; a stream ends there, as at a terminal state. */
export const INTERRUPTED_STATES: ReadonlySet<TaskState> = new Set([
  "TASK_STATE_INPUT_REQUIRED",
  "TASK_STATE_AUTH_REQUIRED",
]);

/** Task, context, message, artifact and push-config ids: safe in keys, URLs and SQL (as message ids). */
export const a2aIdSchema = z
  .string({ error: "must be a string" })
  .regex(MESSAGE_ID_PATTERN, { error: "must be 1-128 characters of letters, digits, '.', '_', '~' or '-'" });

const metadata = z.record(z.string().max(256), z.unknown()).optional();
const text = (max: number) => z.string({ error: "must be a string" }).max(max);

export const a2aPartSchema = z
  .looseObject({
    text: z.string().optional(),
    raw: z.base64({ error: "must be base64" }).optional(),
    url: text(8_192).optional(),
    data: z.unknown().optional(),
    metadata,
    filename: text(1_024).optional(),
    mediaType: text(256).optional(),
  })
  .refine(
    (part) =>
      [part.text, part.raw, part.url, part.data].filter((content) => content !== undefined).length === 1,
    { error: "must have exactly one of text, raw, url or data" },
  );

export const a2aMessageSchema = z.looseObject({
  messageId: a2aIdSchema,
  contextId: a2aIdSchema.optional(),
  taskId: a2aIdSchema.optional(),
  role: z.enum(["ROLE_USER", "ROLE_AGENT"], { error: "must be ROLE_USER or ROLE_AGENT" }),
  parts: z.array(a2aPartSchema).min(1, { error: "must hold at least one part" }).max(1_000),
  metadata,
  extensions: z.array(text(2_048)).max(64).optional(),
  referenceTaskIds: z.array(a2aIdSchema).max(64).optional(),
});
export type A2aMessage = z.infer<typeof a2aMessageSchema>;

export const a2aArtifactSchema = z.looseObject({
  artifactId: a2aIdSchema,
  name: text(1_024).optional(),
  description: text(8_192).optional(),
  parts: z.array(a2aPartSchema).min(1, { error: "must hold at least one part" }).max(1_000),
  metadata,
  extensions: z.array(text(2_048)).max(64).optional(),
});
export type A2aArtifact = z.infer<typeof a2aArtifactSchema>;

export const taskStateSchema = z.enum(TASK_STATES, { error: `must be one of ${TASK_STATES.join(", ")}` });

export const a2aTaskStatusSchema = z.object({
  state: taskStateSchema,
  message: a2aMessageSchema.optional(),
  timestamp: z.string().optional(),
});
export type A2aTaskStatus = z.infer<typeof a2aTaskStatusSchema>;

export const a2aTaskSchema = z
  .object({
    id: z.string(),
    contextId: z.string(),
    status: a2aTaskStatusSchema,
    artifacts: z.array(a2aArtifactSchema).optional(),
    history: z.array(a2aMessageSchema).optional(),
    metadata,
  })
  .meta({ id: "A2aTask" });
export type A2aTask = z.infer<typeof a2aTaskSchema>;

export interface A2aStatusUpdate {
  taskId: string;
  contextId: string;
  status: A2aTaskStatus;
  metadata?: Record<string, unknown>;
}

export interface A2aArtifactUpdate {
  taskId: string;
  contextId: string;
  artifact: A2aArtifact;
  append?: boolean;
  lastChunk?: boolean;
  metadata?: Record<string, unknown>;
}

/** What a stream, a resubscription and a push notification carry: exactly one of these. */
export type A2aStreamResponse =
  | { task: A2aTask }
  | { message: A2aMessage }
  | { statusUpdate: A2aStatusUpdate }
  | { artifactUpdate: A2aArtifactUpdate };

const contextIdSchema = text(128);

/** One event of a remote agent's task, as its stream and its push notifications carry it (the bridge reads it). */
export const a2aStreamResponseSchema = z
  .union([
    z.strictObject({ task: a2aTaskSchema }),
    z.strictObject({ message: a2aMessageSchema }),
    z.strictObject({
      statusUpdate: z.looseObject({
        taskId: a2aIdSchema,
        contextId: contextIdSchema,
        status: a2aTaskStatusSchema,
        metadata,
      }),
    }),
    z.strictObject({
      artifactUpdate: z.looseObject({
        taskId: a2aIdSchema,
        contextId: contextIdSchema,
        artifact: a2aArtifactSchema,
        append: z.boolean().optional(),
        lastChunk: z.boolean().optional(),
        metadata,
      }),
    }),
  ])
  .meta({ id: "A2aStreamResponse" });

export const pushAuthenticationSchema = z.looseObject({
  scheme: z
    .string({ error: "must be a string" })
    .regex(/^[A-Za-z][A-Za-z0-9._~+-]{0,63}$/, { error: "must be an HTTP auth scheme such as Bearer" }),
  credentials: z
    .string()
    .max(8_192)
    .regex(/^[\x21-\x7e ]*$/, { error: "must be printable ASCII" })
    .optional(),
});

export const pushConfigSchema = z.looseObject({
  tenant: z.string().max(256).optional(),
  id: a2aIdSchema.optional(),
  taskId: a2aIdSchema,
  url: z.url({ protocol: /^https?$/, error: "must be an http or https URL" }).max(2_048),
  token: z
    .string()
    .max(4_096)
    .regex(/^[\x21-\x7e]*$/, { error: "must be printable ASCII without spaces" })
    .optional(),
  authentication: pushAuthenticationSchema.optional(),
});
/** A push config as stored: the fields BMN acts on. */
export interface A2aPushConfig {
  id: string;
  taskId: string;
  url: string;
  token?: string;
  authentication?: { scheme: string; credentials?: string };
}

// ---- JSON-RPC params -----------------------------------------------------------------------------------------

const historyLength = z.number().int().min(0, { error: "must be 0 or more" }).optional();

export const sendMessageParamsSchema = z.looseObject({
  tenant: z.string().max(256).optional(),
  message: a2aMessageSchema,
  configuration: z
    .looseObject({
      acceptedOutputModes: z.array(text(256)).max(64).optional(),
      taskPushNotificationConfig: pushConfigSchema.partial({ taskId: true }).optional(),
      historyLength,
      returnImmediately: z.boolean().optional(),
    })
    .optional(),
  metadata,
});
export type SendMessageParams = z.infer<typeof sendMessageParamsSchema>;

export const taskIdParamsSchema = z.looseObject({ tenant: z.string().max(256).optional(), id: a2aIdSchema });
export const getTaskParamsSchema = taskIdParamsSchema.extend({ historyLength });
export const cancelTaskParamsSchema = taskIdParamsSchema.extend({ metadata });
export const pushConfigRefSchema = z.looseObject({
  tenant: z.string().max(256).optional(),
  taskId: a2aIdSchema,
  id: a2aIdSchema,
});
export const listPushConfigsParamsSchema = z.looseObject({
  tenant: z.string().max(256).optional(),
  taskId: a2aIdSchema,
  pageSize: z.number().int().min(0).optional(),
  pageToken: z.string().max(256).optional(),
});

export const jsonRpcRequestSchema = z.object({
  jsonrpc: z.literal("2.0", { error: 'must be "2.0"' }),
  id: z.union([z.string().max(256), z.number(), z.null()]).optional(),
  method: z.string({ error: "must be a string" }).min(1).max(256),
  params: z.record(z.string(), z.unknown()).optional(),
});

/** The JSON-RPC error codes of A2A v1.0 (section "JSON-RPC error codes"). */
export const JSON_RPC_ERRORS = {
  PARSE_ERROR: -32700,
  INVALID_REQUEST: -32600,
  METHOD_NOT_FOUND: -32601,
  INVALID_PARAMS: -32602,
  INTERNAL_ERROR: -32603,
  TASK_NOT_FOUND: -32001,
  TASK_NOT_CANCELABLE: -32002,
  PUSH_NOTIFICATION_NOT_SUPPORTED: -32003,
  UNSUPPORTED_OPERATION: -32004,
  CONTENT_TYPE_NOT_SUPPORTED: -32005,
  VERSION_NOT_SUPPORTED: -32009,
} as const;

const jsonRpcResponseSchema = z
  .looseObject({
    jsonrpc: z.literal("2.0"),
    id: z.union([z.string(), z.number(), z.null()]),
    result: z.unknown().optional(),
    error: z.object({ code: z.number().int(), message: z.string(), data: z.unknown().optional() }).optional(),
  })
  .meta({ id: "JsonRpcResponse" });

// ---- agent cards -----------------------------------------------------------------------------------------------

export const agentCardSchema = z
  .looseObject({
    name: z.string(),
    description: z.string(),
    version: z.string(),
    supportedInterfaces: z.array(
      z.object({ url: z.string(), protocolBinding: z.string(), protocolVersion: z.string() }),
    ),
    capabilities: z.object({ streaming: z.boolean(), pushNotifications: z.boolean() }),
    defaultInputModes: z.array(z.string()),
    defaultOutputModes: z.array(z.string()),
    skills: z.array(
      z.looseObject({
        id: z.string(),
        name: z.string(),
        description: z.string(),
        tags: z.array(z.string()),
      }),
    ),
    securitySchemes: z.record(z.string(), z.unknown()).optional(),
    securityRequirements: z.array(z.unknown()).optional(),
  })
  .meta({ id: "AgentCard" });
export type AgentCard = z.infer<typeof agentCardSchema>;

// ---- BMN routes ------------------------------------------------------------------------------------------------

export const a2aAgentParamsSchema = z.strictObject({
  target: z.string().max(140),
});
export const a2aTaskParamsSchema = z.strictObject({ taskId: a2aIdSchema });

/**
 * The HTTP+JSON/REST binding of an agent: `{A2A_REST_URL}/message:send`, `.../tasks/{id}:cancel` and the rest
 * (docs/a2a.md). Its paths put verbs after a colon, which OpenAPI cannot route, so it is documented there only.
 */
export const A2A_REST_URL = "/a2a/:target/rest/*";
export const a2aRestParamsSchema = z.strictObject({
  target: z.string().max(140),
  "*": z.string().max(2_048),
});

/** What an agent reports on a task: a status, an artifact, or both (status after artifact). */
export const taskEventBodySchema = z
  .strictObject({
    /** Makes a retried report count once (any id of the agent's choosing, e.g. a UUID). */
    eventId: a2aIdSchema.max(120, { error: "must be at most 120 characters" }).optional(),
    status: z
      .strictObject({
        state: z.enum(
          TASK_STATES.filter((state) => state !== "TASK_STATE_SUBMITTED") as [TaskState, ...TaskState[]],
          { error: "must be a task state other than TASK_STATE_SUBMITTED" },
        ),
        message: a2aMessageSchema.optional(),
      })
      .optional(),
    artifact: a2aArtifactSchema.optional(),
    /**
     * Where the task lives when it is not in this domain: the `replyTo` of the request (`bmn-a2a-events@<domain>`).
     * The report then travels there as a durable BMN message (through the gateways).
     */
    replyTo: z
      .string()
      .regex(new RegExp(`^${A2A_EVENTS_AGENT}@[a-z0-9]([-a-z0-9]*[a-z0-9])?$`), {
        error: `must be ${A2A_EVENTS_AGENT}@<domain>, the replyTo of the A2A request`,
      })
      .max(128)
      .optional(),
    /** The reporting agent, for a report sent on (`replyTo`); a bound sidecar checks it is its agent. */
    from: z
      .string()
      .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, { error: "must be the reporting agent's name" })
      .max(63)
      .optional(),
    append: z.boolean().optional(),
    lastChunk: z.boolean().optional(),
    metadata,
  })
  .refine((body) => body.status !== undefined || body.artifact !== undefined, {
    error: "must have a status or an artifact",
  });
export type TaskEventBody = z.infer<typeof taskEventBodySchema>;

export const taskEventResultSchema = z.object({
  task: a2aTaskSchema,
  /** The sequence numbers of the events written (or found written, for a retried eventId). */
  seqs: z.array(z.number().int()),
  duplicate: z.boolean(),
});

/** A report on a task of another domain, sent on there (202). */
export const taskEventForwardedSchema = z.object({
  forwarded: z.literal(true),
  eventId: z.string(),
  to: z.string(),
});

export const storedTaskEventSchema = z
  .object({
    seq: z.number().int(),
    eventId: z.string(),
    at: z.number().int(),
    event: z.record(z.string(), z.unknown()),
  })
  .meta({ id: "A2aTaskEvent" });
export type StoredTaskEvent = Omit<z.infer<typeof storedTaskEventSchema>, "event"> & {
  event: A2aStreamResponse;
};

export const taskEventsQuerySchema = z.strictObject({
  after: z
    .string()
    .regex(/^[0-9]{1,15}$/, { error: "must be a whole decimal number (digits only)" })
    .transform(Number)
    .optional(),
});

export const a2aRoutes = {
  ownAgentCard: {
    method: "GET",
    url: "/.well-known/agent-card.json",
    summary: "The A2A agent card of the agent this sidecar is bound to",
    tag: "a2a",
    responses: { 200: agentCardSchema },
  },
  agentCard: {
    method: "GET",
    url: "/a2a/:target/.well-known/agent-card.json",
    summary: "The A2A agent card of any agent of the domain (registry entries and configured A2A agents)",
    tag: "a2a",
    params: a2aAgentParamsSchema,
    responses: { 200: agentCardSchema },
  },
  jsonRpc: {
    method: "POST",
    url: "/a2a/:target",
    summary:
      "A2A JSON-RPC 2.0 endpoint of an agent (SendMessage, SendStreamingMessage answer text/event-stream)",
    tag: "a2a",
    params: a2aAgentParamsSchema,
    documentedBody: jsonRpcRequestSchema,
    responses: { 200: jsonRpcResponseSchema },
  },
  taskEvent: {
    method: "POST",
    url: "/v1/a2a/tasks/:taskId/events",
    summary: "An agent reports a status or an artifact of an A2A task it works on",
    tag: "a2a",
    params: a2aTaskParamsSchema,
    body: taskEventBodySchema,
    responses: { 200: taskEventResultSchema, 202: taskEventForwardedSchema },
  },
  task: {
    method: "GET",
    url: "/v1/a2a/tasks/:taskId",
    summary: "An A2A task as stored",
    tag: "a2a",
    params: a2aTaskParamsSchema,
    responses: { 200: a2aTaskSchema },
  },
  remotePush: {
    method: "POST",
    url: "/v1/a2a/tasks/:taskId/remote-push",
    summary:
      "A push notification from a bridged outside agent about its task for this one; needs the per-task token the sidecar gave it (X-A2A-Notification-Token), not the API token",
    tag: "a2a",
    params: a2aTaskParamsSchema,
    documentedBody: a2aStreamResponseSchema,
    responses: { 204: emptyResponse },
  },
  taskEvents: {
    method: "GET",
    url: "/v1/a2a/tasks/:taskId/events",
    summary: "An A2A task's event history, oldest first, one page after `after`",
    tag: "a2a",
    params: a2aTaskParamsSchema,
    querystring: taskEventsQuerySchema,
    responses: {
      200: z.object({ events: z.array(storedTaskEventSchema), nextAfter: z.number().optional() }),
    },
  },
} as const;
