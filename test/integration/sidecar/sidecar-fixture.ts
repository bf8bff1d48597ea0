import { afterAll, beforeAll } from "vitest";
import { loadConfig } from "../../../runtime/config/load-config.js";
import { startSidecar, type RunningSidecar } from "../../../sidecar/start-sidecar.js";
import { InMemoryStore } from "../../../store/memory/memory-store.js";
import { RedisStore } from "../../../store/redis/redis-store.js";
import type { PolicyOverrides } from "../../../store/base-store.js";
import type { MessageStore } from "../../../store/store.js";
import { startRedis, type RedisServerHandle } from "../../harness/redis-server.js";

export type Backend = "memory" | "redis";
export const BACKENDS: Backend[] = ["memory", "redis"];

/** A real sidecar listening on a free loopback port, on the given backend, for one test file. */
export interface SidecarFixture {
  readonly url: string;
  readonly sidecar: RunningSidecar;
  /** A fresh sidecar with its own store (and policy), closed after the file. */
  another(policy?: PolicyOverrides, limits?: Record<string, number>): Promise<RunningSidecar>;
}

export function useSidecar(backend: Backend, policy: PolicyOverrides = {}): SidecarFixture {
  let redis: RedisServerHandle | undefined;
  const running: RunningSidecar[] = [];
  let prefixes = 0;

  const openStore = async (overrides: PolicyOverrides): Promise<MessageStore> => {
    if (backend === "memory") return new InMemoryStore({ policy: overrides });
    redis ??= await startRedis();
    return RedisStore.connect({ url: redis.url }, { keyPrefix: `http${++prefixes}:`, policy: overrides });
  };
  const open = async (
    overrides: PolicyOverrides,
    limits: Record<string, number> = {},
  ): Promise<RunningSidecar> => {
    const config = loadConfig({ port: 0, logLevel: "silent", limits }, {});
    const sidecar = await startSidecar(config, {
      store: await openStore({ ...policy, ...overrides }),
      logger: false,
    });
    running.push(sidecar);
    return sidecar;
  };

  let first: RunningSidecar | undefined;
  beforeAll(async () => {
    first = await open({});
  });
  afterAll(async () => {
    await Promise.allSettled(running.map((sidecar) => sidecar.close()));
    await redis?.cleanup();
  });
  return {
    get url() {
      if (first === undefined) throw new Error("sidecar not started yet");
      return first.url;
    },
    get sidecar() {
      if (first === undefined) throw new Error("sidecar not started yet");
      return first;
    },
    another: (overrides = {}, limits = {}) => open(overrides, limits),
  };
}

export interface HttpAnswer<T = unknown> {
  status: number;
  headers: Headers;
  body: T;
}

/** A small fetch wrapper: JSON in, JSON (or nothing) out. */
export async function http<T = Record<string, unknown>>(
  base: string,
  method: string,
  path: string,
  options: { json?: unknown; body?: string | Buffer; headers?: Record<string, string> } = {},
): Promise<HttpAnswer<T>> {
  const headers: Record<string, string> = { ...options.headers };
  let body: string | Buffer | undefined = options.body;
  if (options.json !== undefined) {
    body = JSON.stringify(options.json);
    headers["content-type"] ??= "application/json";
  }
  const response = await fetch(`${base}${path}`, {
    method,
    headers,
    ...(body === undefined ? {} : { body }),
  });
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    body: (text === "" ? undefined : JSON.parse(text)) as T,
  };
}
