/**
 * Reads an agent's queue from its domain's store, for the AgentEndpoint's `status.queue`: the same store code
 * the sidecars run, one client per domain kept open between reconciles (a changed store URL replaces it). A
 * memory store lives inside each sidecar, so there is nothing to read then.
 */
import { sidecarConfigSchema } from "../../core/config.js";
import { raceTimeout } from "../../core/race-timeout.js";
import type { QueueStats } from "../../store/roles/queues.js";
import type { MessageStore } from "../../store/store.js";
import { createStore } from "../../store/create-store.js";
import { digest } from "../builders/common.js";
import { domainSidecarConfig } from "../builders/message-domain.js";
import type { MessageDomain } from "../k8s-types.js";

export interface QueueReader {
  /** The agent's queue in the domain's store reached at `storeUrl` (redis or sql). */
  stats(domain: MessageDomain, storeUrl: string, agent: string): Promise<QueueStats>;
  /** Closes every store client. */
  close(): Promise<void>;
}

/** The sidecar config of the domain with its store URL in: what createStore opens. */
function storeConfig(domain: MessageDomain, storeUrl: string) {
  const rendered = domainSidecarConfig(domain);
  const store = rendered.store ?? { type: "memory" };
  const urls = storeUrl
    .split(",")
    .map((url) => url.trim())
    .filter((url) => url !== "");
  return sidecarConfigSchema.parse({
    ...rendered,
    store:
      store.type === "redis"
        ? { ...store, redis: { ...store.redis, url: urls[0] } }
        : { ...store, sql: { urls } },
  });
}

const DEFAULT_TIMEOUT_MS = 5_000;

/** The real reader: one store client per MessageDomain; a read taking longer than `timeoutMs` fails. */
export function storeQueueReader(options: { timeoutMs?: number } = {}): QueueReader {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const clients = new Map<string, { fingerprint: string; store: Promise<MessageStore> }>();
  const closeClient = async (store: Promise<MessageStore>): Promise<void> => {
    // A client that never connected has nothing to close.
    await store.then((opened) => opened.close()).catch(() => undefined);
  };
  return {
    async stats(domain, storeUrl, agent) {
      const key = `${domain.metadata.namespace}/${domain.metadata.name}`;
      const config = storeConfig(domain, storeUrl);
      const fingerprint = digest(config);
      let client = clients.get(key);
      if (client?.fingerprint !== fingerprint) {
        if (client !== undefined) void closeClient(client.store);
        client = { fingerprint, store: createStore(config, "bmn-operator") };
        clients.set(key, client);
      }
      try {
        const store = client.store;
        return await raceTimeout(
          store.then((opened) => opened.queueStats(agent)),
          timeoutMs,
          () => new Error(`the store did not answer within ${String(timeoutMs)} ms`),
        );
      } catch (error) {
        // The next read opens a fresh client (the store may have come back somewhere else).
        clients.delete(key);
        void closeClient(client.store);
        throw error;
      }
    },
    async close() {
      const open = [...clients.values()];
      clients.clear();
      await Promise.all(open.map((client) => closeClient(client.store)));
    },
  };
}
