import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll } from "vitest";
import { buildServer } from "../../../sidecar/server/build-server.js";
import { InMemoryStore } from "../../../store/memory/memory-store.js";

/** A sidecar on an in-memory store for one test file, reached through fastify's inject() (no socket). */
export function useInjectedSidecar(): () => FastifyInstance {
  let app: FastifyInstance | undefined;
  beforeAll(async () => {
    app = await buildServer({ store: new InMemoryStore(), logger: false });
  });
  afterAll(async () => {
    await app?.close();
  });
  return () => {
    if (app === undefined) throw new Error("the sidecar starts in beforeAll");
    return app;
  };
}
