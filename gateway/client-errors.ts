import { STATUS_CODES } from "node:http";
import type { Socket } from "node:net";
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { BmnError, type ErrorCode } from "../core/errors.js";
import { toBmnError } from "../runtime/http/http-errors.js";

interface ClientErrorAnswer {
  status: number;
  errorCode: ErrorCode;
  message: string;
}

/** Node's parser and timeout errors, by code; anything else is a malformed request (400). */
const CLIENT_ERRORS: Record<string, ClientErrorAnswer> = {
  ERR_HTTP_REQUEST_TIMEOUT: {
    status: 408,
    errorCode: "TIMEOUT",
    message: "the request (headers and body) did not arrive within the time limit",
  },
  HPE_HEADER_OVERFLOW: {
    status: 431,
    errorCode: "TOO_LARGE",
    message: "the request headers are over the size limit",
  },
  HPE_INVALID_CONTENT_LENGTH: {
    status: 400,
    errorCode: "INVALID_ARGUMENT",
    message: "content-length is not valid",
  },
  HPE_UNEXPECTED_CONTENT_LENGTH: {
    status: 400,
    errorCode: "INVALID_ARGUMENT",
    message: "content-length must not be sent with transfer-encoding",
  },
  HPE_CHUNK_EXTENSIONS_OVERFLOW: {
    status: 413,
    errorCode: "TOO_LARGE",
    message: "chunk extensions are too large",
  },
};

const MALFORMED: ClientErrorAnswer = {
  status: 400,
  errorCode: "INVALID_ARGUMENT",
  message: "the request is not valid HTTP",
};

/**
 * Fastify's `clientErrorHandler`: what Node refuses before any route runs (a request that timed out, headers too
 * large, a bad content-length, unparsable HTTP) answers the `{errorCode, message}` body, then the connection closes.
 */
export function answerClientError(
  this: FastifyInstance,
  error: Error & { code?: string },
  socket: Socket,
): void {
  if (error.code === "ECONNRESET" || socket.destroyed) return;
  const answer = (error.code === undefined ? undefined : CLIENT_ERRORS[error.code]) ?? MALFORMED;
  this.log.debug({ err: error }, `client error: ${answer.message}`);
  if (socket.writable) {
    const body = JSON.stringify({ errorCode: answer.errorCode, message: answer.message });
    socket.write(
      `HTTP/1.1 ${String(answer.status)} ${STATUS_CODES[answer.status] ?? ""}\r\n` +
        `content-type: application/json\r\ncontent-length: ${String(Buffer.byteLength(body))}\r\n` +
        `connection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(error);
}

/** Fastify's `frameworkErrors`: errors of the router before a route is chosen (a URL that does not decode). */
export function answerFrameworkError(
  error: FastifyError,
  _request: FastifyRequest,
  reply: FastifyReply,
): void {
  const bmn =
    error.code === "FST_ERR_BAD_URL"
      ? new BmnError("INVALID_ARGUMENT", "the URL is not valid (bad percent-encoding)")
      : toBmnError(error);
  void reply.status(error.code === "FST_ERR_MAX_PARAM_LENGTH" ? 414 : bmn.status).send(bmn.toJSON());
}
