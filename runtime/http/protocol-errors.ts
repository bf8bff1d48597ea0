import { STATUS_CODES } from "node:http";
import type { Socket } from "node:net";
import type { FastifyError, FastifyReply, FastifyRequest, FastifyServerOptions } from "fastify";
import { BmnError, ERROR_STATUS, type ErrorCode } from "../../core/errors.js";

/**
 * Errors raised before a request reaches a route: Node's HTTP parser (`clientError`) and fastify's router (bad
 * percent-encoding, an over-long path parameter). They answer the same `{errorCode, message}` body as every route
 * instead of the frameworks' own shapes. Pass `protocolErrorOptions` to `Fastify()`.
 */
const PARSER_ERRORS: Record<string, { code: ErrorCode; message: string }> = {
  HPE_HEADER_OVERFLOW: {
    code: "HEADERS_TOO_LARGE",
    message: "the request line and headers are over the size limit",
  },
  HPE_INVALID_CONTENT_LENGTH: { code: "BAD_REQUEST", message: "content-length must be decimal digits" },
  HPE_UNEXPECTED_CONTENT_LENGTH: {
    code: "BAD_REQUEST",
    message: "content-length must not be sent with transfer-encoding, nor twice",
  },
  HPE_INVALID_METHOD: { code: "BAD_REQUEST", message: "the method is not a known HTTP method" },
  HPE_INVALID_URL: { code: "BAD_REQUEST", message: "the request target is not a valid URL" },
  HPE_CHUNK_EXTENSIONS_OVERFLOW: {
    code: "TOO_LARGE",
    message: "the chunk extensions are over the size limit",
  },
  ERR_HTTP_REQUEST_TIMEOUT: { code: "REQUEST_TIMEOUT", message: "the request did not arrive in time" },
};

/** The raw HTTP answer for a connection the parser gave up on; the connection is closed after it. */
export function protocolErrorResponse(code: ErrorCode, message: string): string {
  const status = ERROR_STATUS[code];
  const body = JSON.stringify({ errorCode: code, message });
  return (
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ""}\r\nContent-Type: application/json\r\n` +
    `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`
  );
}

function clientErrorHandler(error: Error & { code?: string }, socket: Socket): void {
  // A reset connection has no one left to answer.
  if (error.code === "ECONNRESET" || socket.destroyed) return;
  const known = PARSER_ERRORS[error.code ?? ""] ?? {
    code: "BAD_REQUEST" as const,
    message: "the request is not well-formed HTTP/1.1",
  };
  if (socket.writable) socket.write(protocolErrorResponse(known.code, known.message));
  socket.destroy();
}

function frameworkErrors(error: FastifyError, _request: FastifyRequest, reply: FastifyReply): void {
  const bmn =
    error.code === "FST_ERR_MAX_PARAM_LENGTH"
      ? new BmnError("URI_TOO_LONG", "a path segment is over the length limit")
      : error.code === "FST_ERR_BAD_URL"
        ? new BmnError("BAD_REQUEST", "the path is not valid percent-encoded UTF-8")
        : new BmnError("BAD_REQUEST", "the request could not be routed");
  void reply.status(bmn.status).send(bmn.toJSON());
}

/** Path parameters longer than this answer 414; long enough for a lease id of a 63-character agent name. */
export const MAX_PARAM_LENGTH = 512;

export const protocolErrorOptions = {
  clientErrorHandler,
  frameworkErrors,
  routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
} satisfies Partial<FastifyServerOptions>;
