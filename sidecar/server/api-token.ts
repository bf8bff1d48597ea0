import type { FastifyInstance } from "fastify";
import { a2aRoutes } from "../../core/api/a2a-api.js";
import { UnauthenticatedError } from "../../core/errors.js";
import { presentedToken, readTokenFile, tokenMatcher } from "../../runtime/http/secret-token.js";

/**
 * Probes must answer without credentials (the kubelet has none); A2A agent cards say how to authenticate; a bridged
 * remote's push notifications carry the per-task token the bridge gave it instead (checked by the route).
 */
const OPEN_ROUTES = new Set([
  "/healthz",
  "/readyz",
  "/.well-known/agent-card.json",
  "/a2a/:target/.well-known/agent-card.json",
  a2aRoutes.remotePush.url,
]);
export const API_TOKEN_HEADER = "bmn-api-token";

/** The agent API token from `server.apiToken` or the file `server.apiTokenFile` names; undefined: no token. */
export function resolveApiToken(server: {
  apiToken?: string | undefined;
  apiTokenFile?: string | undefined;
}): string | undefined {
  return server.apiTokenFile === undefined
    ? server.apiToken
    : readTokenFile(server.apiTokenFile, "server.apiTokenFile");
}

/**
 * Like Dapr's API token: every route the router matched, except the probes, needs the token as
 * `Authorization: Bearer <token>` or in the `bmn-api-token` header (401 UNAUTHENTICATED otherwise). The decision
 * is made on the matched route, so no spelling of a path (percent-encoding, dot segments) gets past it.
 */
export function installApiToken(app: FastifyInstance, token: string): void {
  const matches = tokenMatcher(token);
  app.addHook("onRequest", (request, _reply, done) => {
    const route = request.routeOptions.url;
    // Unmatched requests reach only the 404 handler, which reveals nothing.
    if (route === undefined || OPEN_ROUTES.has(route)) {
      done();
      return;
    }
    const presented = presentedToken(request.headers, API_TOKEN_HEADER);
    if (presented === undefined)
      done(
        new UnauthenticatedError(
          `this API needs a token: send Authorization: Bearer <token> or ${API_TOKEN_HEADER}`,
        ),
      );
    else if (!matches(presented)) done(new UnauthenticatedError("the API token is not valid"));
    else done();
  });
}
