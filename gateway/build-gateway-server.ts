import { validationErrorOf } from "../core/api/describe-issue.js";
import { readFileSync } from "node:fs";
import Fastify, {
  LogController,
  type FastifyInstance,
  type FastifyRequest,
  type FastifyServerOptions,
} from "fastify";
import { BmnError, UnauthenticatedError } from "../core/errors.js";
import { installErrorHandling } from "../runtime/http/http-errors.js";
import { decodeBody } from "./compression.js";
import type { GatewayContext } from "./gateway-context.js";
import { protocolErrorOptions } from "../runtime/http/protocol-errors.js";
import { authenticatePeer } from "./peer-auth.js";
import { storeBatch } from "./inbound-batch.js";
import {
  BATCHES_PATH,
  ROUTES_PATH,
  batchRequestSchema,
  type BatchResponse,
  type RoutesResponse,
} from "../core/api/gateway-api.js";

export interface BuildGatewayServerOptions {
  /** A pino logger config or `false`. */
  logger?: FastifyServerOptions["logger"];
}

/** Who may call a route: anyone (`public`), or a configured peer with its token (`peer`, the default). */
type RouteAccess = "public" | "peer";

declare module "fastify" {
  interface FastifyRequest {
    /** The authenticated peer domain of an inter-domain request. */
    bmnPeer?: string;
  }
  interface FastifyContextConfig {
    /** Unset means `peer`: a route is open only when it says so. */
    access?: RouteAccess;
  }
}

/** Longest request line URL served; a longer one answers 414. */
const MAX_URL_BYTES = 2_048;
/** Largest request head (request line and headers); a larger one answers 431. */
const MAX_HEADER_BYTES = 16 * 1_024;

function routeAccess(request: FastifyRequest): RouteAccess {
  return request.routeOptions.config.access ?? "peer";
}

/**
 * The gateway's HTTP(S) server, not yet listening (tests use `inject`): the inter-domain protocol
 * (`POST /v1/gateway/batches`, `GET /v1/gateway/routes`, both authenticated per peer), `GET /v1/topology`,
 * `GET /healthz` and `GET /metrics`. With `gateway.tls` it serves https, and with `requireClientCert` only to
 * clients whose certificate chains to `caFile` (mTLS).
 */
export function buildGatewayServer(
  context: GatewayContext,
  options: BuildGatewayServerOptions = {},
): FastifyInstance {
  const tls = context.config.tls;
  const limits = context.config.server;
  // Node's own limits: headers and the whole request (body included) must arrive in time, checked every second.
  const nodeServerOptions = {
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    connectionsCheckingInterval: Math.min(1_000, limits.headersTimeoutMs),
    maxHeaderSize: MAX_HEADER_BYTES,
  };
  const base = {
    logger: options.logger ?? { level: context.sidecar.logLevel },
    bodyLimit: context.maxBatchBytes,
    logController: new LogController({ disableRequestLogging: true }),
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    connectionTimeout: limits.idleTimeoutMs,
    http: nodeServerOptions,
    // Errors before routing (parser, timeouts, bad URL) answer {errorCode, message} like the sidecar's.
    ...protocolErrorOptions,
  };
  // Fastify's https overload types the instance for https.Server; both serve the same routes.
  const app = (tls === undefined
    ? Fastify(base)
    : Fastify({
        ...base,
        https: {
          ...nodeServerOptions,
          cert: readFileSync(tls.certFile),
          key: readFileSync(tls.keyFile),
          ...(tls.caFile === undefined ? {} : { ca: readFileSync(tls.caFile) }),
          requestCert: tls.requireClientCert,
          rejectUnauthorized: tls.requireClientCert,
        },
      })) as unknown as FastifyInstance;
  app.server.maxConnections = limits.maxConnections;

  installErrorHandling(app, () => 1);
  app.removeAllContentTypeParsers();
  // Bodies arrive as bytes so that content-encoding can be undone (with a size cap) before JSON parsing.
  app.addContentTypeParser("*", { parseAs: "buffer" }, (request, body, done) => {
    const contentType = request.headers["content-type"] ?? "";
    if (!/^application\/json\b/i.test(contentType)) {
      done(
        new BmnError("UNSUPPORTED_MEDIA_TYPE", "content type must be application/json", {
          field: "content-type",
        }),
      );
      return;
    }
    const encoding = request.headers["content-encoding"];
    decodeBody(body as Buffer, encoding, context.maxBatchBytes).then(
      (decoded) => {
        context.metrics.bytes.inc(
          { peer: request.bmnPeer ?? "", direction: "received", stage: "uncompressed" },
          decoded.length,
        );
        try {
          done(null, JSON.parse(decoded.toString("utf8")));
        } catch (error) {
          done(
            new BmnError("INVALID_JSON", `body is not valid JSON: ${(error as Error).message}`),
            undefined,
          );
        }
      },
      (error: unknown) => {
        done(error as Error, undefined);
      },
    );
  });

  // Authenticate before the body is read (and inflated): a caller without a token costs next to nothing. The check
  // runs on the route the router matched (whatever spelling of the path reached it), and every route needs a
  // peer's token unless it says `access: "public"`.
  app.addHook("onRequest", (request, reply, done) => {
    if (request.url.length > MAX_URL_BYTES) {
      void reply
        .status(414)
        .send(new BmnError("URI_TOO_LONG", `the URL is over ${MAX_URL_BYTES} bytes`).toJSON());
      return;
    }
    // Unmatched: the not-found handler answers 404 and serves nothing.
    if (request.is404 || routeAccess(request) === "public") {
      done();
      return;
    }
    const auth = authenticatePeer(request.headers, context.peers);
    if (!auth.ok) {
      request.log.warn({ route: request.routeOptions.url }, `refused a peer request: ${auth.message}`);
      const error = new UnauthenticatedError(auth.message);
      void reply.status(error.status).header("www-authenticate", "Bearer").send(error.toJSON());
      return;
    }
    request.bmnPeer = auth.peer.domain;
    done();
  });

  app.post(BATCHES_PATH, async (request, reply) => {
    const peer = request.bmnPeer ?? "";
    const parsed = batchRequestSchema.safeParse(request.body);
    if (!parsed.success) throw validationErrorOf(parsed.error, { whole: "messages" });
    const { messages } = parsed.data;
    const bucket = context.rateLimits.get(peer);
    if (bucket !== undefined && messages.length > 0 && !bucket.tryTake(messages.length)) {
      const seconds = Math.max(1, Math.ceil(bucket.waitMs(messages.length) / 1_000));
      return reply
        .status(429)
        .header("retry-after", String(seconds))
        .send({
          errorCode: "OVERLOADED",
          message: `rate limit for peer ${peer} exceeded; retry after ${seconds} s`,
        });
    }
    const wireBytes = Number(request.headers["content-length"] ?? 0);
    context.metrics.bytes.inc(
      { peer, direction: "received", stage: "wire" },
      Number.isFinite(wireBytes) ? wireBytes : 0,
    );
    const response: BatchResponse = { results: await storeBatch(context, peer, messages) };
    return response;
  });

  app.get(ROUTES_PATH, (): RoutesResponse => ({
    domain: context.domain,
    routes: context.routing.advertisement(),
  }));

  const adminAccess: RouteAccess = context.config.publicAdminRoutes ? "public" : "peer";
  app.get("/v1/topology", { config: { access: adminAccess } }, () => context.topology());

  app.get("/healthz", { config: { access: "public" } }, async () => {
    await context.store.ping();
    return { status: "ok", domain: context.domain };
  });

  app.get("/metrics", { config: { access: adminAccess } }, async (_request, reply) =>
    reply
      .header("content-type", context.metrics.registry.contentType)
      .send(await context.metrics.registry.metrics()),
  );
  return app;
}
