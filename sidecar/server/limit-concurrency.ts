import type { FastifyInstance, FastifyRequest } from "fastify";
import type { ConcurrencyLimiter } from "../../runtime/resilience/concurrency-limiter.js";

const releases = new WeakMap<FastifyRequest, () => void>();

/**
 * Holds each API request to a slot of the limiter, so overload answers 429 OVERLOADED with Retry-After instead
 * of growing memory. Long-polls, streams and request/reply calls (waiting for their reply) mostly wait, not
 * work, so they are not counted: a burst of pending requests cannot starve sends.
 */
export function limitConcurrency(app: FastifyInstance, limiter: ConcurrencyLimiter): void {
  app.addHook("preHandler", async (request) => {
    const route = request.routeOptions.url ?? "";
    if (
      !route.startsWith("/v1/") ||
      (route.endsWith("/messages") && request.method === "GET") ||
      route.endsWith("/stream") ||
      route === "/v1/requests"
    )
      return;
    await new Promise<void>((admitted, refused) => {
      limiter
        .run(
          () =>
            new Promise<void>((release) => {
              releases.set(request, release);
              admitted();
            }),
        )
        .catch(refused);
    });
  });
  const release = (request: FastifyRequest, _reply: unknown, done: () => void): void => {
    releases.get(request)?.();
    releases.delete(request);
    done();
  };
  app.addHook("onResponse", release);
  app.addHook("onRequestAbort", (request, done) => {
    release(request, undefined, done);
  });
}
