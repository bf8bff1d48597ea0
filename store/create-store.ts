import type { SidecarConfig } from "../core/config.js";
import { BmnError } from "../core/errors.js";
import { InMemoryStore } from "./memory/memory-store.js";
import type { MessageStore } from "./store.js";

/**
 * Opens the store the config names; swapping backends is a config change, never a code change. Each backend (and
 * its driver: ioredis, mysql2) is loaded only when the config names it.
 */
export async function createStore(config: SidecarConfig, actor: string): Promise<MessageStore> {
  const common = { policy: config.delivery, actor, domain: config.domain };
  switch (config.store.type) {
    case "memory":
      return new InMemoryStore(common);
    case "redis": {
      const { RedisStore } = await import("./redis/redis-store.js");
      const redis = config.store.redis ?? {};
      const options = {
        ...common,
        ...(redis.keyPrefix === undefined ? {} : { keyPrefix: redis.keyPrefix }),
        ...(redis.commandTimeoutMs === undefined ? {} : { commandTimeoutMs: redis.commandTimeoutMs }),
        ...(redis.allowEviction === undefined ? {} : { allowEviction: redis.allowEviction }),
      };
      if (redis.cluster !== undefined && redis.cluster.length > 0) {
        const nodes = redis.cluster.map((node) => {
          const [host = "127.0.0.1", port = "6379"] = node.split(":");
          return { host, port: Number(port) };
        });
        return RedisStore.connect({ cluster: nodes }, options);
      }
      return RedisStore.connect({ url: redis.url ?? "redis://127.0.0.1:6379" }, options);
    }
    case "sql": {
      // `store.tidb` is the old name of `store.sql`.
      const sql = config.store.sql ?? config.store.tidb ?? {};
      const urls = sql.urls ?? (sql.url === undefined ? [] : [sql.url]);
      if (urls.length === 0) {
        throw new BmnError(
          "INVALID_ARGUMENT",
          "store type sql needs store.sql.url or store.sql.urls (or BMN_SQL_URL), e.g. mysql://user:password@host:3306/bmn",
          { field: "store.sql.url" },
        );
      }
      const { SqlStore } = await import("./sql/sql-store.js");
      return SqlStore.connect(urls, common);
    }
  }
}
