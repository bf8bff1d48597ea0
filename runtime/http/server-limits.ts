import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { FastifyServerFactory } from "fastify";
import type { HttpServerLimits } from "../../core/config.js";

type Handler = (request: IncomingMessage, response: ServerResponse) => void;

/**
 * A node HTTP server that bounds what each client may hold: the time to send headers and the whole request
 * (a slow body), idle and keep-alive sockets, and the number of connections. Used by the sidecar, gateway and
 * operator servers, so none of them can be held open by clients that trickle bytes or never close.
 */
export function createLimitedServer(limits: HttpServerLimits, handler?: Handler): Server {
  const server = createServer(
    {
      requestTimeout: limits.requestTimeoutMs,
      headersTimeout: limits.headersTimeoutMs,
      keepAliveTimeout: limits.keepAliveTimeoutMs,
      // Node checks the request and headers timeouts on this interval (30 s by default): a fraction of them.
      connectionsCheckingInterval: Math.max(100, Math.min(limits.headersTimeoutMs, 30_000) / 4),
    },
    handler,
  );
  server.setTimeout(limits.idleTimeoutMs);
  server.maxConnections = limits.maxConnections;
  return server;
}

/** The same server for fastify (`Fastify({ serverFactory })`), which otherwise creates an unbounded one. */
export function limitedServerFactory(limits: HttpServerLimits): FastifyServerFactory {
  return (handler) => createLimitedServer(limits, handler);
}
