import type { FastifyReply, FastifyRequest } from "fastify";
import type { z } from "zod";
import {
  A2A_PROTOCOL_VERSION,
  JSON_RPC_ERRORS,
  cancelTaskParamsSchema,
  getTaskParamsSchema,
  jsonRpcRequestSchema,
  listPushConfigsParamsSchema,
  pushConfigRefSchema,
  pushConfigSchema,
  sendMessageParamsSchema,
  taskIdParamsSchema,
} from "../../core/api/a2a-api.js";
import { describeIssue } from "../../core/api/describe-issue.js";
import { isBmnError } from "../../core/errors.js";
import { A2aError, toJsonRpcError } from "./a2a-error.js";
import type { A2aCaller, A2aMethods, TaskAt } from "./a2a-methods.js";
import { abortedWith, respondWithStream } from "./sse-stream.js";
import type { StreamSlots } from "./stream-slots.js";
import type { TaskService } from "./task-service.js";

type RpcId = string | number | null;

export interface JsonRpcEndpointOptions {
  methods: A2aMethods;
  service: TaskService;
  slots: StreamSlots;
  shutdown: AbortSignal;
}

function parseParams<S extends z.ZodType>(schema: S, params: unknown): z.infer<S> {
  const result = schema.safeParse(params ?? {});
  if (!result.success)
    throw new A2aError(
      JSON_RPC_ERRORS.INVALID_PARAMS,
      describeIssue(result.error.issues[0], { prefix: "params", whole: "params" }).message,
    );
  return result.data;
}

/** The versions this endpoint speaks; a request without `A2A-Version` is taken as the current one. */
function checkVersion(header: string | string[] | undefined): void {
  if (header === undefined) return;
  const version = Array.isArray(header) ? header[0] : header;
  if (version === A2A_PROTOCOL_VERSION || version === "1") return;
  throw new A2aError(
    JSON_RPC_ERRORS.VERSION_NOT_SUPPORTED,
    `A2A-Version ${String(version)} is not supported; this endpoint speaks ${A2A_PROTOCOL_VERSION}`,
  );
}

/**
 * The A2A JSON-RPC 2.0 binding of one agent: parses and checks the envelope itself (so malformed input gets the
 * JSON-RPC code the spec names, never a bare HTTP error), runs the method, and answers JSON or an SSE stream.
 */
export class JsonRpcEndpoint {
  constructor(private readonly options: JsonRpcEndpointOptions) {}

  async handle(request: FastifyRequest, reply: FastifyReply, caller: A2aCaller): Promise<void> {
    let id: RpcId = null;
    try {
      const contentType = (request.headers["content-type"] ?? "").split(";")[0]?.trim().toLowerCase();
      if (contentType !== "" && contentType !== "application/json" && contentType !== "application/a2a+json")
        throw new A2aError(
          JSON_RPC_ERRORS.CONTENT_TYPE_NOT_SUPPORTED,
          `content type ${contentType ?? ""} is not supported; send application/json`,
        );
      let body: unknown;
      try {
        const raw = request.body;
        body = JSON.parse(Buffer.isBuffer(raw) ? raw.toString("utf8") : "");
      } catch (error) {
        throw new A2aError(
          JSON_RPC_ERRORS.PARSE_ERROR,
          `body is not valid JSON: ${(error as Error).message}`,
        );
      }
      const envelope = jsonRpcRequestSchema.safeParse(body);
      if (!envelope.success) {
        const candidate = (body as { id?: unknown } | null)?.id;
        if (typeof candidate === "string" || typeof candidate === "number") id = candidate;
        throw new A2aError(
          JSON_RPC_ERRORS.INVALID_REQUEST,
          `not a JSON-RPC 2.0 request: ${describeIssue(envelope.error.issues[0], { whole: "request" }).message}`,
        );
      }
      id = envelope.data.id ?? null;
      checkVersion(request.headers["a2a-version"]);
      const result = await this.call(request, reply, caller, envelope.data.method, envelope.data.params, id);
      if (result === STREAMED) return;
      await reply.status(200).send({ jsonrpc: "2.0", id, result });
    } catch (error) {
      if (reply.sent) return;
      const rpcError = toJsonRpcError(error);
      if (rpcError.code === JSON_RPC_ERRORS.INTERNAL_ERROR)
        request.log.error({ err: error }, "a2a: call failed");
      const status =
        isBmnError(error) && error.code === "OVERLOADED"
          ? 429
          : rpcError.code === JSON_RPC_ERRORS.INTERNAL_ERROR
            ? 500
            : 200;
      await reply.status(status).send({ jsonrpc: "2.0", id, error: rpcError });
    }
  }

  private async call(
    request: FastifyRequest,
    reply: FastifyReply,
    caller: A2aCaller,
    method: string,
    params: unknown,
    id: RpcId,
  ): Promise<unknown> {
    const { methods } = this.options;
    switch (method) {
      case "SendMessage": {
        const send = parseParams(sendMessageParamsSchema, params);
        const signal = abortedWith(reply, this.options.shutdown);
        return methods.send(caller, send, { slots: this.options.slots, client: request.ip, signal });
      }
      case "SendStreamingMessage": {
        const send = parseParams(sendMessageParamsSchema, params);
        const release = this.options.slots.acquire(request.ip);
        try {
          const started = await methods.start(caller, send);
          await this.stream(reply, id, started);
        } finally {
          release();
        }
        return STREAMED;
      }
      case "GetTask":
        return methods.getTask(caller, parseParams(getTaskParamsSchema, params));
      case "CancelTask":
        return methods.cancelTask(caller, parseParams(cancelTaskParamsSchema, params));
      case "SubscribeToTask": {
        const subscribe = parseParams(taskIdParamsSchema, params);
        const release = this.options.slots.acquire(request.ip);
        try {
          await this.stream(reply, id, await methods.subscribable(caller, subscribe));
        } finally {
          release();
        }
        return STREAMED;
      }
      case "CreateTaskPushNotificationConfig":
        return methods.createPushConfig(caller, parseParams(pushConfigSchema, params));
      case "GetTaskPushNotificationConfig":
        return methods.getPushConfig(caller, parseParams(pushConfigRefSchema, params));
      case "ListTaskPushNotificationConfigs":
        return methods.listPushConfigs(caller, parseParams(listPushConfigsParamsSchema, params));
      case "DeleteTaskPushNotificationConfig":
        await methods.deletePushConfig(caller, parseParams(pushConfigRefSchema, params));
        return {};
      case "ListTasks":
        throw new A2aError(
          JSON_RPC_ERRORS.UNSUPPORTED_OPERATION,
          "ListTasks is not supported by BMN's A2A binding",
        );
      case "GetExtendedAgentCard":
        throw new A2aError(-32007, "this agent has no extended agent card");
      default:
        throw new A2aError(
          JSON_RPC_ERRORS.METHOD_NOT_FOUND,
          `method ${method} is not an A2A ${A2A_PROTOCOL_VERSION} method`,
        );
    }
  }

  private async stream(reply: FastifyReply, id: RpcId, start: TaskAt): Promise<void> {
    await respondWithStream({
      reply,
      service: this.options.service,
      start,
      shutdown: this.options.shutdown,
      wrap: (result) => ({ jsonrpc: "2.0", id, result }),
      errorData: (error) => ({ jsonrpc: "2.0", id, error: toJsonRpcError(error) }),
    });
  }
}

const STREAMED = Symbol("streamed");
