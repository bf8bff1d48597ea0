import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { sidecarApi, type ApiRoute } from "../core/api/sidecar-api.js";
import { BmnError } from "../core/errors.js";

/** Answer headers worth passing on to the page; everything else of the sidecar's answer stays behind. */
const PASSED_HEADERS = ["content-type", "retry-after", "allow"];

export interface ForwarderOptions {
  sidecarUrl: string;
  sidecarToken?: string | undefined;
  timeoutMs: number;
}

/**
 * The console's whole data path: every route of the sidecar's HTTP API (core/api/sidecar-api.ts) is registered
 * once more under /api and forwarded, with the sidecar's token added here (the browser never sees it). Nothing
 * else is reachable: no back door, and the sidecar applies the same validation and trust rules as for the CLI.
 *
 * The upstream path is rebuilt from the route that matched and its decoded parameters, each encoded again, so
 * no spelling of the browser's path (dot segments, encoded slashes) can reach a different sidecar route.
 */
export function forwardSidecarApi(app: FastifyInstance, options: ForwarderOptions): void {
  const base = options.sidecarUrl.replace(/\/+$/, "");
  for (const route of Object.values(sidecarApi) as ApiRoute[]) {
    app.route({
      method: route.method,
      url: `/api${route.url}`,
      handler: async (request, reply) => forward(request, reply, route.url),
    });
  }

  async function forward(
    request: FastifyRequest,
    reply: FastifyReply,
    pattern: string,
  ): Promise<FastifyReply> {
    const params = (request.params ?? {}) as Record<string, string>;
    const query = request.url.includes("?") ? request.url.slice(request.url.indexOf("?")) : "";
    const headers: Record<string, string> = { accept: "application/json" };
    if (options.sidecarToken !== undefined) headers.authorization = `Bearer ${options.sidecarToken}`;
    const body = request.body instanceof Buffer && request.body.length > 0 ? request.body : undefined;
    if (body !== undefined) headers["content-type"] = request.headers["content-type"] ?? "application/json";
    // A page that goes away (a closed tab, a cancelled receive) cancels the sidecar call too: a long-poll left
    // running would lease messages to nobody until the lease runs out.
    const browserGone = new AbortController();
    reply.raw.once("close", () => {
      if (!reply.raw.writableFinished) browserGone.abort();
    });
    let answer: Response;
    try {
      answer = await fetch(`${base}${upstreamPath(pattern, params)}${query}`, {
        method: request.method,
        headers,
        ...(body === undefined ? {} : { body }),
        redirect: "manual",
        signal: AbortSignal.any([AbortSignal.timeout(options.timeoutMs), browserGone.signal]),
      });
    } catch (error) {
      if (browserGone.signal.aborted) return reply; // nobody is left to answer
      if ((error as Error).name === "TimeoutError")
        throw new BmnError("TIMEOUT", `the sidecar at ${base} did not answer within ${options.timeoutMs} ms`);
      throw new BmnError(
        "SIDECAR_UNREACHABLE",
        `cannot reach the sidecar at ${base}: ${(error as Error).message}`,
      );
    }
    void reply.status(answer.status);
    for (const name of PASSED_HEADERS) {
      const value = answer.headers.get(name);
      if (value !== null) void reply.header(name, value);
    }
    return reply.send(Buffer.from(await answer.arrayBuffer()));
  }
}

/** `/v1/dlq/:agent/:id` with its parameters, each percent-encoded; `::` is fastify's escape of a literal `:`. */
export function upstreamPath(pattern: string, params: Record<string, string>): string {
  return pattern.replace(/::|:([A-Za-z]+)/g, (whole, name: string | undefined) =>
    name === undefined ? ":" : encodeURIComponent(params[name] ?? ""),
  );
}
