import { randomUUID } from "node:crypto";
import type { FastifyInstance } from "fastify";
import { afterEach, describe, expect, it } from "vitest";
import { buildServer } from "../../sidecar/server/build-server.js";
import { RedisStore } from "../../store/redis/redis-store.js";
import { ResilientStore } from "../../store/resilient-store.js";
import { since } from "../conformance/helpers.js";
import { until } from "../harness/poll-until.js";
import { startRedis } from "../harness/redis-server.js";

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const TIMEOUT_MS = 500;
/** Far beyond the store's own timeout: a call that were not guarded would hang this long on a paused Redis. */
const DRIVER_TIMEOUT_MS = 60_000;

interface RpcAnswer {
  status: number;
  body: {
    result?: { id?: string; status?: { state?: string }; task?: { id: string } };
    error?: { code: number; message: string; data?: { errorCode?: string } };
  };
}

async function rpc(url: string, method: string, params: unknown): Promise<RpcAnswer> {
  const response = await fetch(`${url}/a2a/alice`, {
    method: "POST",
    headers: { "content-type": "application/json", "a2a-version": "1.0" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
  });
  return { status: response.status, body: (await response.json()) as RpcAnswer["body"] };
}

describe("A2A on a store that hangs (Redis paused with SIGSTOP)", () => {
  it("answers a JSON-RPC error within the store timeout, opens the breaker, keeps serving and recovers", async () => {
    const redis = await startRedis();
    cleanups.push(() => redis.cleanup());
    const inner = await RedisStore.connect({ url: redis.url }, { commandTimeoutMs: DRIVER_TIMEOUT_MS });
    const store = new ResilientStore(inner, {
      timeoutMs: TIMEOUT_MS,
      retries: 1,
      backoffBaseMs: 10,
      backoffMaxMs: 20,
      breaker: { failureThreshold: 3, openMs: 1_000, halfOpenProbes: 1 },
    });
    const app: FastifyInstance = await buildServer({ store, logger: false });
    const url = await app.listen({ host: "127.0.0.1", port: 0 });
    cleanups.push(async () => {
      redis.resume();
      await app.close();
      await store.close();
    });

    const sent = await rpc(url, "SendMessage", {
      message: { messageId: randomUUID(), role: "ROLE_USER", parts: [{ text: "hello" }] },
      configuration: { returnImmediately: true },
    });
    const taskId = sent.body.result?.task?.id;
    if (taskId === undefined) throw new Error(`no task: ${JSON.stringify(sent.body)}`);

    redis.pause();
    // Each attempt times out (twice: one retry of a read), far sooner than the driver would give up.
    const started = Date.now();
    const failed = await rpc(url, "GetTask", { id: taskId });
    expect(since(started)).toBeLessThan(DRIVER_TIMEOUT_MS / 4);
    expect(failed.status).toBe(500);
    expect(failed.body.error).toMatchObject({ code: -32603, data: { errorCode: "STORE_UNAVAILABLE" } });
    expect(failed.body.error?.message).toMatch(/timed out/);

    // The A2A failures count in the store's breaker: it opens and refuses at once, the sidecar still answers.
    const refused = await until(
      async () => {
        const answer = await rpc(url, "GetTask", { id: taskId });
        return (answer.body.error?.message ?? "").includes("circuit breaker is open") ? answer : undefined;
      },
      20_000,
      "the breaker to open",
    );
    expect(store.breakerState()).toBe("open");
    expect(refused.body.error).toMatchObject({ code: -32603, data: { errorCode: "STORE_UNAVAILABLE" } });
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    const report = await fetch(`${url}/v1/a2a/tasks/${taskId}/events`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ status: { state: "TASK_STATE_WORKING" }, eventId: "working-1" }),
    });
    expect(report.status).toBe(503);

    // Redis back: a half-open probe closes the circuit and the task is there, unharmed.
    redis.resume();
    const task = await until(
      async () => {
        const answer = await rpc(url, "GetTask", { id: taskId });
        return answer.body.result;
      },
      20_000,
      "GetTask to answer again",
    );
    expect(task.status?.state).toBe("TASK_STATE_SUBMITTED");
    expect(store.breakerState()).toBe("closed");
  });
});
