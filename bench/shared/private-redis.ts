import { Redis } from "ioredis";
import { startRedis } from "../../test/harness/redis-server.js";

/**
 * Runs `run` against a redis-server of its own on a free loopback port (never one that happens to be
 * running) with an admin connection for INFO/FLUSHALL; the server and its data dir are removed afterwards.
 */
export async function withPrivateRedis<T>(run: (url: string, admin: Redis) => Promise<T>): Promise<T> {
  const server = await startRedis();
  const admin = new Redis(server.url, { lazyConnect: true });
  try {
    await admin.connect();
    return await run(server.url, admin);
  } finally {
    admin.disconnect();
    await server.cleanup();
  }
}
