import { hostname } from "node:os";
import type { FastifyInstance } from "fastify";
import type { SidecarConfig } from "../core/config.js";
import { buildServer } from "./server/build-server.js";
import { createStore } from "./store/create-store.js";
import type { MessageStore } from "./store/store.js";

export interface RunningSidecar {
  url: string;
  config: SidecarConfig;
  store: MessageStore;
  server: FastifyInstance;
  /** Stops accepting, lets in-flight requests finish, then closes the store. */
  close(): Promise<void>;
}

export interface StartOptions {
  /** Use this store instead of opening the one the config names (tests). */
  store?: MessageStore;
  logger?: boolean;
}

/** Opens the store, builds the server and listens: what `bmn start` and `npm start` run. */
export async function startSidecar(
  config: SidecarConfig,
  options: StartOptions = {},
): Promise<RunningSidecar> {
  const store = options.store ?? (await createStore(config, `sidecar@${hostname()}`));
  let server: FastifyInstance;
  try {
    server = await buildServer({ store, config, ...(options.logger === false ? { logger: false } : {}) });
    await server.listen({ host: config.host, port: config.port });
  } catch (error) {
    await store.close();
    throw error;
  }
  const address = server.server.address();
  const port = typeof address === "object" && address !== null ? address.port : config.port;
  const host = config.host.includes(":") ? `[${config.host}]` : config.host;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${host}:${port}`,
    config,
    store,
    server,
    close: () => {
      closing ??= (async () => {
        await server.close();
        await store.close();
      })();
      return closing;
    },
  };
}
