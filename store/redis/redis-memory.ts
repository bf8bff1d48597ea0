import type { Redis } from "ioredis";
import { BmnError } from "../../core/errors.js";
import type { StoreMemoryStatus } from "../store.js";
import { callRedis } from "./redis-call.js";
import { toStoreError } from "./redis-errors.js";
import type { RedisStoreOptions } from "./redis-store.js";

/**
 * An evicting policy drops keys, which are accepted messages: refuse to start on one unless told to.
 * CONFIG may be disabled (managed Redis); INFO memory names the policy too.
 */
export async function checkEvictionPolicy(
  nodes: Redis[],
  options: Pick<RedisStoreOptions, "allowEviction" | "warn">,
): Promise<void> {
  for (const node of nodes) {
    const policy = await readPolicy(node);
    if (policy === "noeviction") continue;
    const why = `redis maxmemory-policy is ${policy}: redis may evict accepted messages; set it to noeviction`;
    if (options.allowEviction !== true)
      throw new BmnError(
        "INVALID_ARGUMENT",
        `${why} (or set store.redis.allowEviction / BMN_REDIS_ALLOW_EVICTION)`,
        {
          field: "store.redis.allowEviction",
        },
      );
    const warn =
      options.warn ??
      ((message: string): void => {
        process.emitWarning(message);
      });
    warn(`${why}; starting anyway because store.redis.allowEviction is set`);
    return;
  }
}

/** The fullest node's memory (a cluster is full when any master is). */
export async function fullestNodeMemory(nodes: Redis[]): Promise<StoreMemoryStatus | undefined> {
  const statuses = await callRedis(() => Promise.all(nodes.map(readMemoryInfo)));
  const ratio = (status: StoreMemoryStatus): number =>
    status.maxBytes === 0 ? 0 : status.usedBytes / status.maxBytes;
  return statuses.sort((a, b) => ratio(b) - ratio(a))[0];
}

async function readPolicy(node: Redis): Promise<string> {
  try {
    const reply: unknown = await node.config("GET", "maxmemory-policy");
    const value: unknown = Array.isArray(reply) ? reply[1] : undefined;
    if (typeof value === "string") return value;
  } catch {
    // CONFIG is often renamed or disabled on managed Redis; INFO answers the same question.
  }
  try {
    return (await readMemoryInfo(node)).policy;
  } catch (error) {
    throw toStoreError(error);
  }
}

async function readMemoryInfo(node: Redis): Promise<StoreMemoryStatus> {
  const info = await node.info("memory");
  const field = (name: string): string | undefined =>
    new RegExp(`^${name}:(.*)$`, "m").exec(info)?.[1]?.trim();
  return {
    usedBytes: Number(field("used_memory") ?? 0),
    maxBytes: Number(field("maxmemory") ?? 0),
    policy: field("maxmemory_policy") ?? "unknown",
  };
}
