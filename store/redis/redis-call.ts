import type { Cluster, Redis } from "ioredis";
import type { LeaseRef } from "../lease-id.js";
import { toStoreError } from "./redis-errors.js";

/** A standalone server or a Cluster. */
export type RedisClient = Redis | Cluster;

/** Runs one Redis operation, turning its failure into the store's typed error (STORE_UNAVAILABLE, lease errors). */
export async function callRedis<T>(operation: () => Promise<T>, lease?: LeaseRef): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    throw toStoreError(error, lease);
  }
}
