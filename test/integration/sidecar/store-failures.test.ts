import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { StoreUnavailableError } from "../../../core/errors.js";
import { loadConfig } from "../../../runtime/config/load-config.js";
import { startSidecar, type RunningSidecar } from "../../../sidecar/start-sidecar.js";
import { InMemoryStore } from "../../../store/memory/memory-store.js";
import type { MessageStore } from "../../../store/store.js";
import { until } from "../../harness/poll-until.js";
import { http } from "./sidecar-fixture.js";

type Failure = "unavailable" | "raw-error" | "type-error" | "throws-sync";

/** An in-memory store whose every call fails the way `failure` says, from the moment `failing` is set. */
function failingStore(): { store: MessageStore; fail: (how: Failure | undefined) => void } {
  const inner = new InMemoryStore();
  let failure: Failure | undefined;
  const store = new Proxy(inner, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== "function" || property === "close") return value;
      const method = value as (...args: unknown[]) => unknown;
      return (...args: unknown[]): unknown => {
        switch (failure) {
          case undefined:
            return method.apply(target, args);
          case "unavailable":
            return Promise.reject(new StoreUnavailableError("backend down"));
          case "raw-error":
            return Promise.reject(new Error("ERR something internal at 10.0.0.7:6379 script: 0123abcd"));
          case "type-error":
            return Promise.reject(new TypeError("Cannot read properties of undefined (reading 'x')"));
          case "throws-sync":
            throw new RangeError("Maximum call stack size exceeded");
        }
      };
    },
  });
  return {
    store,
    fail: (how) => {
      failure = how;
    },
  };
}

const ROUTES: [method: string, path: string, body?: unknown][] = [
  ["POST", "/v1/messages", { to: "alice", type: "t" }],
  ["POST", "/v1/messages::batch", { messages: [{ to: "alice", type: "t" }] }],
  ["POST", "/v1/requests?timeout=1", { to: "alice", type: "t" }],
  ["GET", "/v1/agents/alice/messages?max=1"],
  ["GET", "/v1/agents/alice/messages?max=1&wait=1"],
  ["POST", "/v1/deliveries/alice.m-1.1/ack"],
  ["POST", "/v1/deliveries/alice.m-1.1/nack", {}],
  ["POST", "/v1/deliveries/alice.m-1.1/extend", { lease: 10 }],
  ["GET", "/v1/dlq?agent=alice"],
  ["GET", "/v1/dlq"],
  ["GET", "/v1/dlq/alice/m-1"],
  ["POST", "/v1/dlq/purge", { agent: "alice" }],
  ["POST", "/v1/dlq/replay", { agent: "alice" }],
  ["GET", "/v1/queues"],
  ["GET", "/v1/agents"],
  ["PUT", "/v1/agents/alice", {}],
  ["POST", "/v1/agents/alice/heartbeat", {}],
  ["DELETE", "/v1/agents/alice"],
  ["GET", "/v1/agents/alice/stats"],
  ["POST", "/v1/agents/alice/subscriptions", { pattern: "a.b" }],
  ["GET", "/v1/agents/alice/subscriptions"],
  ["DELETE", "/v1/agents/alice/subscriptions?pattern=a.b"],
  ["POST", "/v1/transactions", {}],
  ["GET", "/v1/messages/m-1/trace"],
  ["GET", "/v1/traces?correlationId=c-1"],
  ["GET", "/v1/stats"],
  ["GET", "/readyz"],
];

describe("sidecar: a store error answers an error and never kills the process", () => {
  const { store, fail } = failingStore();
  let sidecar: RunningSidecar;

  beforeAll(async () => {
    const config = loadConfig({ port: 0, logLevel: "silent" }, {});
    sidecar = await startSidecar(config, { store, logger: false });
  });

  afterAll(async () => {
    fail(undefined);
    await sidecar.close();
  });

  it.each<Failure>(["unavailable", "raw-error", "type-error", "throws-sync"])(
    "every route answers a JSON error (or its own fallback) when the store fails (%s), and the sidecar keeps serving",
    async (failure) => {
      fail(failure);
      for (const [method, path, body] of ROUTES) {
        const answer = await http<{ errorCode?: string; message?: string } | undefined>(
          sidecar.url,
          method,
          path,
          body === undefined ? {} : { json: body },
        );
        const where = `${method} ${path}`;
        if (answer.status < 400) continue;
        expect(answer.body?.errorCode, where).toMatch(/^[A-Z_]+$/);
        // Raw backend text (addresses, script hashes, stack details) never reaches a client.
        expect(answer.body?.message ?? "", where).not.toMatch(/10\.0\.0\.7|0123abcd|Cannot read|call stack/);
      }
      // /metrics degrades to what it can still report.
      expect((await fetch(`${sidecar.url}/metrics`)).status).toBe(200);
      fail(undefined);
      expect((await http(sidecar.url, "GET", "/healthz")).status).toBe(200);
      // Once the store is back (and an opened breaker lets calls through again), sends are accepted.
      await until(
        async () =>
          (await http(sidecar.url, "POST", "/v1/messages", { json: { to: "alice", type: "t" } })).status ===
          202,
        20_000,
        "a send to be accepted again",
      );
    },
  );
});
