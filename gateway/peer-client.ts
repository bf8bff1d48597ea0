import { readFileSync } from "node:fs";
import http from "node:http";
import https from "node:https";
import type { GatewayPeerConfig } from "../core/config.js";
import { CircuitBreaker, type CircuitState } from "../runtime/resilience/circuit-breaker.js";
import {
  BATCHES_PATH,
  ROUTES_PATH,
  SOURCE_DOMAIN_HEADER,
  batchResponseSchema,
  routesResponseSchema,
  type BatchResponse,
  type RoutesResponse,
} from "../core/api/gateway-api.js";

/** Largest answer read from a peer (a batch's results, an advertisement of routes). */
const MAX_RESPONSE_BYTES = 8 * 1024 * 1024;

/** A peer could not be reached or answered with a failure that retrying may cure (network, timeout, 5xx, 401). */
export class PeerUnavailableError extends Error {
  constructor(
    message: string,
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "PeerUnavailableError";
  }
}

export interface PeerResponse<T> {
  status: number;
  body: T | undefined;
  /** From `Retry-After` on a 429 or 503. */
  retryAfterMs: number | undefined;
  rttMs: number;
  endpoint: string;
}

export interface PeerClientOptions {
  ownDomain: string;
  timeoutMs: number;
  breaker: { failureThreshold: number; openMs: number };
  now?: () => number;
}

/**
 * How this gateway talks to one peer: keep-alive connections, a timeout per request, a circuit breaker for the
 * peer, and failover across its endpoints (after a failure the next request goes to the next endpoint).
 */
export class PeerClient {
  readonly domain: string;
  readonly breaker: CircuitBreaker;
  private readonly endpoints: URL[];
  private preferred = 0;
  private readonly httpAgent = new http.Agent({ keepAlive: true, maxSockets: 4 });
  private readonly httpsAgent: https.Agent;

  constructor(
    private readonly peer: GatewayPeerConfig,
    private readonly options: PeerClientOptions,
  ) {
    this.domain = peer.domain;
    this.endpoints = peer.endpoints.map((endpoint) => new URL(endpoint));
    const tls = peer.tls;
    this.httpsAgent = new https.Agent({
      keepAlive: true,
      maxSockets: 4,
      ...(tls?.caFile === undefined ? {} : { ca: readFileSync(tls.caFile) }),
      ...(tls?.certFile === undefined ? {} : { cert: readFileSync(tls.certFile) }),
      ...(tls?.keyFile === undefined ? {} : { key: readFileSync(tls.keyFile) }),
    });
    this.breaker = new CircuitBreaker({
      failureThreshold: options.breaker.failureThreshold,
      openMs: options.breaker.openMs,
      isFailure: (error) => error instanceof PeerUnavailableError,
      guards: `peer ${peer.domain}`,
      ...(options.now === undefined ? {} : { now: options.now }),
    });
  }

  get breakerState(): CircuitState {
    return this.breaker.state;
  }

  /** The endpoint the next request goes to. */
  get endpoint(): string {
    return (this.endpoints[this.preferred] ?? this.endpoints[0])?.toString() ?? "";
  }

  /** POSTs one batch body (already encoded). A 200 answers the per-message results. */
  async sendBatch(
    body: Buffer,
    encoding: string | undefined,
    extraHeaders: Record<string, string> = {},
  ): Promise<PeerResponse<BatchResponse>> {
    const headers: Record<string, string> = {
      "content-type": "application/json",
      ...(encoding === undefined ? {} : { "content-encoding": encoding }),
      ...extraHeaders,
    };
    const response = await this.request("POST", BATCHES_PATH, headers, body);
    if (response.status !== 200) return { ...response, body: undefined };
    const parsed = batchResponseSchema.safeParse(parseJson(response.text));
    if (!parsed.success)
      throw new PeerUnavailableError(`peer ${this.domain} answered a batch with a malformed body`, 200);
    return { ...response, body: parsed.data };
  }

  /** GETs the routes the peer advertises (also the link's liveness probe). */
  async fetchRoutes(): Promise<PeerResponse<RoutesResponse>> {
    const response = await this.request("GET", ROUTES_PATH, {});
    if (response.status !== 200)
      throw new PeerUnavailableError(
        `peer ${this.domain} answered ${response.status} to a route probe`,
        response.status,
      );
    const parsed = routesResponseSchema.safeParse(parseJson(response.text));
    if (!parsed.success)
      throw new PeerUnavailableError(`peer ${this.domain} advertised malformed routes`, 200);
    return { ...response, body: parsed.data };
  }

  close(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }

  /**
   * One request through the breaker to the preferred endpoint. Network errors, timeouts, 5xx and 401 count as
   * failures (and move to the next endpoint); any other answer is returned.
   */
  private async request(
    method: "GET" | "POST",
    path: string,
    headers: Record<string, string>,
    body?: Buffer,
  ): Promise<{
    status: number;
    text: string;
    retryAfterMs: number | undefined;
    rttMs: number;
    endpoint: string;
  }> {
    const index = this.preferred;
    const base = this.endpoints[index] ?? this.endpoints[0];
    if (base === undefined) throw new PeerUnavailableError(`peer ${this.domain} has no endpoints`);
    const url = new URL(
      path.replace(/^\//, ""),
      base.toString().endsWith("/") ? base : `${base.toString()}/`,
    );
    try {
      return await this.breaker.execute(async () => {
        const started = performance.now();
        const response = await this.send(
          url,
          method,
          {
            authorization: `Bearer ${this.peer.token}`,
            [SOURCE_DOMAIN_HEADER]: this.options.ownDomain,
            ...headers,
          },
          body,
        );
        const rttMs = performance.now() - started;
        if (response.status >= 500 || response.status === 401 || response.status === 403) {
          throw new PeerUnavailableError(
            `peer ${this.domain} at ${url.origin} answered ${response.status}: ${response.text.slice(0, 200)}`,
            response.status,
          );
        }
        return { ...response, rttMs, endpoint: url.origin };
      });
    } catch (error) {
      // Fail over: the next request (a retry, or the next probe) goes to the peer's next endpoint.
      if (error instanceof PeerUnavailableError && this.endpoints.length > 1)
        this.preferred = (index + 1) % this.endpoints.length;
      throw error;
    }
  }

  private send(
    url: URL,
    method: string,
    headers: Record<string, string>,
    body: Buffer | undefined,
  ): Promise<{ status: number; text: string; retryAfterMs: number | undefined }> {
    const secure = url.protocol === "https:";
    const transport = secure ? https : http;
    return new Promise((resolve, reject) => {
      const request = transport.request(
        url,
        {
          method,
          agent: secure ? this.httpsAgent : this.httpAgent,
          headers: body === undefined ? headers : { ...headers, "content-length": String(body.length) },
          signal: AbortSignal.timeout(this.options.timeoutMs),
        },
        (response) => {
          const chunks: Buffer[] = [];
          let size = 0;
          response.on("data", (chunk: Buffer) => {
            size += chunk.length;
            // A peer cannot make this gateway buffer without bound: an answer over the cap is a failed request.
            if (size > MAX_RESPONSE_BYTES) {
              response.destroy(new Error(`the answer is over ${String(MAX_RESPONSE_BYTES)} bytes`));
              return;
            }
            chunks.push(chunk);
          });
          response.on("error", (error) => {
            reject(
              new PeerUnavailableError(`peer ${this.domain}: ${error.message}`, undefined, { cause: error }),
            );
          });
          response.on("end", () => {
            resolve({
              status: response.statusCode ?? 0,
              text: Buffer.concat(chunks).toString("utf8"),
              retryAfterMs: retryAfterMs(response.headers["retry-after"]),
            });
          });
        },
      );
      request.on("error", (error) => {
        const timedOut = error.name === "AbortError" || error.name === "TimeoutError";
        reject(
          new PeerUnavailableError(
            timedOut
              ? `peer ${this.domain} at ${url.origin} did not answer within ${this.options.timeoutMs} ms`
              : `peer ${this.domain} at ${url.origin}: ${error.message}`,
            undefined,
            { cause: error },
          ),
        );
      });
      request.end(body);
    });
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** `Retry-After` in seconds (or an HTTP date) as milliseconds. */
export function retryAfterMs(header: string | string[] | undefined, now = Date.now()): number | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (value === undefined || value.trim() === "") return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1_000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
