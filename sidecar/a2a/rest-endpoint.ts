import type { FastifyReply, FastifyRequest } from "fastify";
import type { z } from "zod";
import {
  JSON_RPC_ERRORS,
  getTaskParamsSchema,
  pushConfigSchema,
  sendMessageParamsSchema,
} from "../../core/api/a2a-api.js";
import { describeIssue } from "../../core/api/describe-issue.js";
import { isBmnError } from "../../core/errors.js";
import { A2aError, toJsonRpcError } from "./a2a-error.js";
import type { A2aCaller, A2aMethods } from "./a2a-methods.js";
import { abortedWith, respondWithStream } from "./sse-stream.js";
import type { StreamSlots } from "./stream-slots.js";
import type { TaskService } from "./task-service.js";

/** How a JSON-RPC code reads in the REST binding: HTTP status, google.rpc status name, A2A ErrorInfo reason. */
const REST_ERRORS: Record<number, [number, string, string | undefined]> = {
  [JSON_RPC_ERRORS.TASK_NOT_FOUND]: [404, "NOT_FOUND", "TASK_NOT_FOUND"],
  [JSON_RPC_ERRORS.TASK_NOT_CANCELABLE]: [400, "FAILED_PRECONDITION", "TASK_NOT_CANCELABLE"],
  [JSON_RPC_ERRORS.PUSH_NOTIFICATION_NOT_SUPPORTED]: [
    400,
    "FAILED_PRECONDITION",
    "PUSH_NOTIFICATION_NOT_SUPPORTED",
  ],
  [JSON_RPC_ERRORS.UNSUPPORTED_OPERATION]: [400, "FAILED_PRECONDITION", "UNSUPPORTED_OPERATION"],
  [JSON_RPC_ERRORS.CONTENT_TYPE_NOT_SUPPORTED]: [400, "INVALID_ARGUMENT", "CONTENT_TYPE_NOT_SUPPORTED"],
  [JSON_RPC_ERRORS.VERSION_NOT_SUPPORTED]: [400, "FAILED_PRECONDITION", "VERSION_NOT_SUPPORTED"],
  [JSON_RPC_ERRORS.INVALID_PARAMS]: [400, "INVALID_ARGUMENT", "INVALID_PARAMS"],
  [JSON_RPC_ERRORS.PARSE_ERROR]: [400, "INVALID_ARGUMENT", undefined],
  [JSON_RPC_ERRORS.INVALID_REQUEST]: [400, "INVALID_ARGUMENT", undefined],
  [JSON_RPC_ERRORS.METHOD_NOT_FOUND]: [404, "NOT_FOUND", undefined],
  [JSON_RPC_ERRORS.INTERNAL_ERROR]: [500, "INTERNAL", undefined],
};

/** The REST error body (`google.rpc.Status` with an A2A ErrorInfo) and its HTTP status. */
export function toRestError(error: unknown): { status: number; body: { error: Record<string, unknown> } } {
  const { code, message } = toJsonRpcError(error);
  const overloaded = isBmnError(error) && error.code === "OVERLOADED";
  const [status, name, reason] = overloaded
    ? [429, "RESOURCE_EXHAUSTED", undefined]
    : (REST_ERRORS[code] ?? [500, "INTERNAL", undefined]);
  const details =
    reason === undefined
      ? []
      : [{ "@type": "type.googleapis.com/google.rpc.ErrorInfo", reason, domain: "a2a-protocol.org" }];
  return { status, body: { error: { code: status, status: name, message, details } } };
}

function parse<S extends z.ZodType>(schema: S, value: unknown): z.infer<S> {
  const result = schema.safeParse(value ?? {});
  if (!result.success)
    throw new A2aError(
      JSON_RPC_ERRORS.INVALID_PARAMS,
      describeIssue(result.error.issues[0], { whole: "body" }).message,
    );
  return result.data;
}

function jsonBody(request: FastifyRequest): unknown {
  const raw = request.body;
  if (!Buffer.isBuffer(raw) || raw.length === 0) return undefined;
  try {
    return JSON.parse(raw.toString("utf8"));
  } catch (error) {
    throw new A2aError(JSON_RPC_ERRORS.PARSE_ERROR, `body is not valid JSON: ${(error as Error).message}`);
  }
}

/**
 * The part of a request's raw URL after `/a2a/{agent}/rest/`, still percent-encoded: the endpoint decodes each
 * segment once (a router's decoded wildcard would be decoded twice, and `%2525` would become `%`).
 */
export function rawRestPath(url: string): string {
  return (url.split("?")[0] ?? "").split("/").slice(4).join("/");
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new A2aError(
      JSON_RPC_ERRORS.INVALID_PARAMS,
      `path segment ${JSON.stringify(segment)} is not valid percent-encoding`,
    );
  }
}

/**
 * The HTTP+JSON/REST binding of A2A 1.0 under `/a2a/{agent}/rest`: `POST message:send`, `POST message:stream`,
 * `GET tasks/{id}`, `POST tasks/{id}:cancel`, `POST tasks/{id}:subscribe` and the push configs under
 * `tasks/{id}/pushNotificationConfigs`. The same operations as the JSON-RPC binding (A2aMethods).
 */
export class RestEndpoint {
  constructor(
    private readonly options: {
      methods: A2aMethods;
      service: TaskService;
      slots: StreamSlots;
      shutdown: AbortSignal;
    },
  ) {}

  async handle(request: FastifyRequest, reply: FastifyReply, caller: A2aCaller, path: string): Promise<void> {
    try {
      const contentType = (request.headers["content-type"] ?? "").split(";")[0]?.trim().toLowerCase() ?? "";
      if (!["", "application/json", "application/a2a+json"].includes(contentType))
        throw new A2aError(
          JSON_RPC_ERRORS.CONTENT_TYPE_NOT_SUPPORTED,
          `content type ${contentType} is not supported`,
        );
      const result = await this.route(request, reply, caller, request.method, path);
      if (result === STREAMED) return;
      if (result === undefined) await reply.status(204).send();
      else
        await reply.status(200).header("content-type", "application/a2a+json").send(JSON.stringify(result));
    } catch (error) {
      if (reply.sent) return;
      const { status, body } = toRestError(error);
      if (status >= 500) request.log.error({ err: error }, "a2a: call failed");
      await reply.status(status).header("content-type", "application/json").send(JSON.stringify(body));
    }
  }

  private async route(
    request: FastifyRequest,
    reply: FastifyReply,
    caller: A2aCaller,
    method: string,
    path: string,
  ): Promise<unknown> {
    const { methods, slots } = this.options;
    const [head, id, sub, configId, ...extra] = path.split("/").map(decodeSegment);
    const call = `${method} ${head ?? ""}`;
    if (call === "POST message:send" && id === undefined) {
      const send = parse(sendMessageParamsSchema, jsonBody(request));
      const signal = abortedWith(reply, this.options.shutdown);
      return methods.send(caller, send, { slots, client: request.ip, signal });
    }
    if (call === "POST message:stream" && id === undefined) {
      const send = parse(sendMessageParamsSchema, jsonBody(request));
      const release = slots.acquire(request.ip);
      try {
        await this.stream(reply, await methods.start(caller, send));
      } finally {
        release();
      }
      return STREAMED;
    }
    if (head === "tasks" && id !== undefined && extra.length === 0) {
      const [taskId = "", verb] = id.split(":");
      if (sub === undefined) {
        if (method === "GET" && verb === undefined) {
          const query = request.query as Record<string, string | undefined>;
          const historyLength = query.historyLength === undefined ? undefined : Number(query.historyLength);
          return methods.getTask(caller, parse(getTaskParamsSchema, { id: taskId, historyLength }));
        }
        if (method === "POST" && verb === "cancel") return methods.cancelTask(caller, { id: taskId });
        if (method === "POST" && verb === "subscribe") {
          const release = slots.acquire(request.ip);
          try {
            await this.stream(reply, await methods.subscribable(caller, { id: taskId }));
          } finally {
            release();
          }
          return STREAMED;
        }
      } else if (sub === "pushNotificationConfigs" && verb === undefined) {
        if (method === "POST" && configId === undefined) {
          const body = jsonBody(request) as Record<string, unknown> | undefined;
          return methods.createPushConfig(caller, parse(pushConfigSchema, { ...body, taskId }));
        }
        if (method === "GET" && configId === undefined) return methods.listPushConfigs(caller, { taskId });
        if (method === "GET" && configId !== undefined)
          return methods.getPushConfig(caller, { taskId, id: configId });
        if (method === "DELETE" && configId !== undefined) {
          await methods.deletePushConfig(caller, { taskId, id: configId });
          return undefined;
        }
      }
    }
    if (call === "GET tasks" && id === undefined)
      throw new A2aError(
        JSON_RPC_ERRORS.UNSUPPORTED_OPERATION,
        "ListTasks is not supported by BMN's A2A binding",
      );
    throw new A2aError(JSON_RPC_ERRORS.METHOD_NOT_FOUND, `${method} ${path} is not an A2A REST operation`);
  }

  private async stream(reply: FastifyReply, start: Parameters<A2aMethods["settle"]>[1]): Promise<void> {
    await respondWithStream({
      reply,
      service: this.options.service,
      start,
      shutdown: this.options.shutdown,
      wrap: (result) => result,
      errorData: (error) => toRestError(error).body,
    });
  }
}

const STREAMED = Symbol("streamed");
