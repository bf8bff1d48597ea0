import type { FastifyError, FastifyInstance } from "fastify";
import { BmnError, type ErrorCode } from "../../core/errors.js";

/** Maps what a route throws to `{errorCode, message, field?}` with a fitting status, never leaking internals. */
export function installErrorHandling(
  app: FastifyInstance,
  retryAfterSeconds: (error: unknown) => number,
  /** The methods the path has routes for: a path with routes for other methods answers 405, not 404. */
  allowedMethods: (path: string) => string[] = () => [],
): void {
  app.setErrorHandler((error: unknown, request, reply) => {
    const bmn = toBmnError(error);
    if (bmn.status >= 500) request.log.error({ err: error }, bmn.message);
    if (bmn.code === "STORE_UNAVAILABLE" || bmn.code === "STORE_FULL" || bmn.code === "OVERLOADED") {
      void reply.header("retry-after", String(retryAfterSeconds(error)));
    }
    return reply.status(bmn.status).send(bmn.toJSON());
  });
  app.setNotFoundHandler((request, reply) => {
    const allowed = allowedMethods(request.url.split("?")[0] ?? "");
    if (allowed.length > 0) {
      return reply
        .status(405)
        .header("allow", allowed.join(", "))
        .send(
          new BmnError(
            "METHOD_NOT_ALLOWED",
            `${request.method} is not allowed here; use ${allowed.join(", ")}`,
          ).toJSON(),
        );
    }
    return reply
      .status(404)
      .send(new BmnError("NOT_FOUND", `no route ${request.method} ${request.url}`).toJSON());
  });
}

const FASTIFY_CODES: Record<string, { code: ErrorCode; message: string }> = {
  FST_ERR_CTP_BODY_TOO_LARGE: { code: "TOO_LARGE", message: "request body is over the size limit" },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: {
    code: "UNSUPPORTED_MEDIA_TYPE",
    message: "content type must be application/json or application/cloudevents+json",
  },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: {
    code: "INVALID_ARGUMENT",
    message: "content-length does not match the body",
  },
  FST_ERR_CTP_EMPTY_JSON_BODY: { code: "INVALID_JSON", message: "body is empty; send a JSON object" },
};

export function toBmnError(error: unknown): BmnError {
  if (error instanceof BmnError) return error;
  const fastifyError = error as Partial<FastifyError> | undefined;
  const known = fastifyError?.code === undefined ? undefined : FASTIFY_CODES[fastifyError.code];
  if (known !== undefined) return new BmnError(known.code, known.message, { cause: error });
  if (error instanceof SyntaxError)
    return new BmnError("INVALID_JSON", `body is not valid JSON: ${error.message}`);
  // Only fastify's own client errors are echoed: any other error's message (a store driver's) may hold internals.
  const status = fastifyError?.code?.startsWith("FST_") === true ? fastifyError.statusCode : undefined;
  if (status !== undefined && status >= 400 && status < 500) {
    return new BmnError("INVALID_ARGUMENT", fastifyError?.message ?? "bad request", { cause: error });
  }
  return new BmnError("INTERNAL", "internal error", { cause: error });
}
