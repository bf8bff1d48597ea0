import type { FastifyInstance } from "fastify";
import type { AgentBinding } from "./agent-bound-store.js";

/**
 * Refuses, before any work, a route whose path names an agent this sidecar does not serve (403 FORBIDDEN): the
 * WebSocket stream is refused before the upgrade. The matched route's `agent` parameter is checked (the router has
 * decoded it), never the raw URL. The store wrapper (agent-bound-store.ts) checks bodies, queries and leases.
 */
export function installAgentIdentity(app: FastifyInstance, binding: AgentBinding): void {
  app.addHook("onRequest", (request, _reply, done) => {
    const params = request.params as Record<string, unknown> | undefined;
    try {
      if (params !== undefined && Object.hasOwn(params, "agent")) binding.check(params.agent, "agent");
      done();
    } catch (error) {
      done(error as Error);
    }
  });
}
