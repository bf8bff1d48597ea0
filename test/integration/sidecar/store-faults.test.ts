import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FastifyInstance } from "fastify";
import { StoreUnavailableError } from "../../../core/errors.js";
import { newMessageId, newTransactionId } from "../../../core/ids.js";
import { buildServer } from "../../../sidecar/server/build-server.js";
import { InMemoryStore } from "../../../store/memory/memory-store.js";
import { ResilientStore } from "../../../store/resilient-store.js";
import type { MessageStore } from "../../../store/store.js";
import { until } from "../../harness/poll-until.js";
import { openRawStream } from "./raw-stream.js";
import { rawRequest } from "./raw-request.js";
import { a2aSend } from "./a2a-requests.js";

/** What a store library might throw; each carries a marker that must never reach a client. */
const MARKER = "SECRET-INTERNAL-7f3a";
const FOREIGN_ERRORS: (() => unknown)[] = [
  () => new TypeError(`Cannot read properties of undefined (reading '${MARKER}')`),
  () => Object.assign(new Error(`connect ECONNREFUSED 10.0.0.7:6379 ${MARKER}`), { code: "ECONNREFUSED" }),
  () => Object.assign(new Error(`NOSCRIPT ${MARKER}`), { statusCode: 404 }),
  () => ({ message: MARKER, statusCode: 400 }),
  () => MARKER,
  () => null,
  () => new RangeError(`Invalid array length ${MARKER}`),
];

/** Exactly `{errorCode, message, field?}`, with a SCREAMING_SNAKE code. */
function expectErrorBody(body: Record<string, unknown>, where: string): void {
  expect(
    Object.keys(body).filter((key) => !["errorCode", "message", "field"].includes(key)),
    where,
  ).toEqual([]);
  expect(body.errorCode, where).toMatch(/^[A-Z_]+$/);
  expect(typeof body.message, where).toBe("string");
  if (body.field !== undefined) expect(typeof body.field, where).toBe("string");
}

type Fault = "none" | "unavailable" | "foreign";

/** The memory store behind a switch: while on, every call throws or rejects, alternating. */
function faultyStore(inner: MessageStore): { store: MessageStore; set(fault: Fault): void } {
  let fault: Fault = "none";
  let calls = 0;
  const store = new Proxy(inner, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== "function" || property === "close") return value;
      return (...args: unknown[]): unknown => {
        if (fault === "none") return (value as (...a: unknown[]) => unknown).apply(target, args);
        calls += 1;
        const error =
          fault === "unavailable"
            ? new StoreUnavailableError("the store is unavailable")
            : FOREIGN_ERRORS[calls % FOREIGN_ERRORS.length]?.();
        if (calls % 2 === 0) throw error;
        // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- store drivers reject with anything
        return Promise.reject(error);
      };
    },
  });
  return { store, set: (next) => (fault = next) };
}

/** `METHOD /path` for every route the server registered (HEAD aside), read from fastify's route tree. */
function registeredRoutes(app: FastifyInstance): Set<string> {
  const routes = new Set<string>();
  const stack: string[] = [];
  for (const line of app.printRoutes({ commonPrefix: false }).split("\n")) {
    const match = /^([│ ]*)[├└]── (\S+)(?: \(([^)]*)\))?/.exec(line);
    if (match === null) continue;
    const depth = (match[1] ?? "").length / 4;
    stack.length = depth;
    stack.push(match[2] ?? "");
    for (const method of (match[3] ?? "").split(", "))
      if (method !== "" && method !== "HEAD") routes.add(`${method} ${stack.join("")}`);
  }
  return routes;
}

const JSON_TYPE = { "content-type": "application/json" };
const lease = `worker.${newMessageId()}.1`;
const tx = newTransactionId();

/**
 * One request per route, with input valid enough to reach the store (the REST binding's `/a2a/:target/rest/*`
 * prints as `/a2a/:target*` in fastify's route tree). The A2A bindings answer errors in their own
 * protocol's body (`shape`): a JSON-RPC error object, or the REST binding's google.rpc.Status.
 */
const REQUESTS: { route: string; path: string; json?: unknown; shape?: "json-rpc" | "a2a-rest" }[] = [
  { route: "GET /.well-known/agent-card.json", path: "/.well-known/agent-card.json" },
  { route: "GET /a2a/:target/.well-known/agent-card.json", path: "/a2a/worker/.well-known/agent-card.json" },
  { route: "POST /a2a/:target", path: "/a2a/worker", json: a2aSend, shape: "json-rpc" },
  {
    route: "POST /a2a/:target*",
    path: "/a2a/worker/rest/message:send",
    json: a2aSend.params,
    shape: "a2a-rest",
  },
  { route: "GET /a2a/:target*", path: "/a2a/worker/rest/tasks/t-1", shape: "a2a-rest" },
  {
    route: "DELETE /a2a/:target*",
    path: "/a2a/worker/rest/tasks/t-1/pushNotificationConfigs/c-1",
    shape: "a2a-rest",
  },
  {
    route: "POST /v1/a2a/tasks/:taskId/events",
    path: "/v1/a2a/tasks/t-1/events",
    json: { status: { state: "TASK_STATE_WORKING" } },
  },
  { route: "GET /v1/a2a/tasks/:taskId", path: "/v1/a2a/tasks/t-1" },
  { route: "GET /v1/a2a/tasks/:taskId/events", path: "/v1/a2a/tasks/t-1/events" },
  { route: "POST /v1/a2a/tasks/:taskId/remote-push", path: "/v1/a2a/tasks/t-1/remote-push", json: {} },
  { route: "GET /healthz", path: "/healthz" },
  { route: "GET /readyz", path: "/readyz" },
  { route: "GET /metrics", path: "/metrics" },
  { route: "GET /v1/info", path: "/v1/info" },
  { route: "GET /openapi.json", path: "/openapi.json" },
  { route: "POST /v1/messages", path: "/v1/messages", json: { to: "worker", type: "t" } },
  {
    route: "POST /v1/messages:batch",
    path: "/v1/messages:batch",
    json: { messages: [{ to: "worker", type: "t" }] },
  },
  { route: "GET /v1/messages/:id/trace", path: `/v1/messages/${newMessageId()}/trace` },
  { route: "POST /v1/requests", path: "/v1/requests?timeout=1", json: { to: "worker", type: "t" } },
  { route: "GET /v1/agents", path: "/v1/agents" },
  { route: "PUT /v1/agents/:agent", path: "/v1/agents/worker", json: {} },
  { route: "DELETE /v1/agents/:agent", path: "/v1/agents/worker" },
  { route: "GET /v1/agents/:agent/messages", path: "/v1/agents/worker/messages?wait=1" },
  { route: "GET /v1/agents/:agent/stats", path: "/v1/agents/worker/stats" },
  {
    route: "POST /v1/agents/:agent/subscriptions",
    path: "/v1/agents/worker/subscriptions",
    json: { pattern: "a.b" },
  },
  { route: "GET /v1/agents/:agent/subscriptions", path: "/v1/agents/worker/subscriptions" },
  { route: "DELETE /v1/agents/:agent/subscriptions", path: "/v1/agents/worker/subscriptions?pattern=a.b" },
  { route: "POST /v1/agents/:agent/heartbeat", path: "/v1/agents/worker/heartbeat", json: {} },
  { route: "POST /v1/deliveries/:leaseId/ack", path: `/v1/deliveries/${lease}/ack` },
  { route: "POST /v1/deliveries:ack", path: "/v1/deliveries:ack", json: { leaseIds: [lease] } },
  { route: "POST /v1/deliveries/:leaseId/nack", path: `/v1/deliveries/${lease}/nack`, json: {} },
  {
    route: "POST /v1/deliveries/:leaseId/extend",
    path: `/v1/deliveries/${lease}/extend`,
    json: { leaseMs: 1_000 },
  },
  { route: "GET /v1/dlq", path: "/v1/dlq?agent=worker" },
  { route: "POST /v1/dlq/replay", path: "/v1/dlq/replay", json: { agent: "worker" } },
  { route: "POST /v1/dlq/purge", path: "/v1/dlq/purge", json: { agent: "worker" } },
  { route: "GET /v1/dlq/:agent/:id", path: `/v1/dlq/worker/${newMessageId()}` },
  { route: "GET /v1/queues", path: "/v1/queues" },
  { route: "GET /v1/queues/:queue/messages", path: "/v1/queues/worker/messages?state=leased" },
  { route: "POST /v1/transactions", path: "/v1/transactions", json: {} },
  { route: "POST /v1/transactions/:tx/savepoints", path: `/v1/transactions/${tx}/savepoints` },
  {
    route: "POST /v1/transactions/:tx/savepoints/:savepoint/rollback",
    path: `/v1/transactions/${tx}/savepoints/sp-1/rollback`,
  },
  { route: "POST /v1/transactions/:tx/commit", path: `/v1/transactions/${tx}/commit` },
  { route: "POST /v1/transactions/:tx/rollback", path: `/v1/transactions/${tx}/rollback` },
  { route: "GET /v1/traces", path: "/v1/traces?correlationId=c1" },
  { route: "GET /v1/topology", path: "/v1/topology" },
  { route: "GET /v1/stats", path: "/v1/stats" },
  { route: "GET /v1/stats/:query", path: "/v1/stats/throughput" },
];

describe.each([
  ["the store itself", false],
  ["the store behind timeout, breaker and retry", true],
] as const)("store failures reaching every route (%s)", (_name, resilient) => {
  const faulty = faultyStore(new InMemoryStore());
  let app: FastifyInstance;
  let url: string;

  beforeAll(async () => {
    const store = resilient
      ? new ResilientStore(faulty.store, { sleep: () => Promise.resolve() })
      : faulty.store;
    app = await buildServer({ store, logger: false });
    url = await app.listen({ host: "127.0.0.1", port: 0 });
  });
  afterAll(async () => {
    faulty.set("none");
    await app.close();
  });

  it("covers every registered route", () => {
    const covered = new Set([...REQUESTS.map((request) => request.route), "GET /v1/agents/:agent/stream"]);
    expect([...registeredRoutes(app)].filter((route) => !covered.has(route))).toEqual([]);
  });

  it.each(["unavailable", "foreign"] as const)(
    "answers every route with an error body and no internals while the store fails (%s), and keeps serving",
    async (fault) => {
      faulty.set(fault);
      for (let round = 0; round < 2; round += 1) {
        for (const { route, path, json, shape } of REQUESTS) {
          const method = route.split(" ")[0] ?? "GET";
          const answer = await rawRequest(
            url,
            method,
            path,
            json === undefined ? {} : JSON_TYPE,
            json === undefined ? undefined : JSON.stringify(json),
          );
          const where = `${route} (${fault}): ${String(answer.status)} ${answer.body.slice(0, 300)}`;
          expect(answer.body, where).not.toContain(MARKER);
          const body = (): Record<string, unknown> => JSON.parse(answer.body) as Record<string, unknown>;
          if (shape === "json-rpc") {
            // JSON-RPC answers 200 with an error object, or 500 for an internal one; never a result here.
            expect(body(), where).toMatchObject({
              jsonrpc: "2.0",
              error: { code: expect.any(Number) as number },
            });
            if (fault === "unavailable")
              expect(body(), where).toMatchObject({
                error: { code: -32603, data: { errorCode: "STORE_UNAVAILABLE" } },
              });
          } else if (shape === "a2a-rest") {
            if (answer.status >= 400)
              expect(body(), where).toMatchObject({
                error: { code: answer.status, status: expect.any(String) as string },
              });
          } else {
            if (answer.status >= 400) expectErrorBody(body(), where);
            if (fault === "unavailable" && answer.status >= 500)
              expect(body(), where).toMatchObject({ errorCode: "STORE_UNAVAILABLE" });
          }
          if (answer.status >= 400) expect(answer.body, where).not.toMatch(/\bat .*\.[jt]s:\d+/);
        }
      }

      const wsUrl = `${url.replace("http", "ws")}/v1/agents/worker/stream`;
      const settling = openRawStream(wsUrl);
      expect(await settling.refused).toBeUndefined();
      settling.socket.send(JSON.stringify({ type: "ack", leaseId: lease }));
      settling.socket.send(JSON.stringify({ type: "nack", leaseId: lease }));
      await until(
        () => settling.frames.length >= 2,
        10_000,
        "an error frame for each settle",
        () => JSON.stringify(settling.frames),
      );
      settling.socket.close();
      const receiving = openRawStream(wsUrl);
      expect(await receiving.refused).toBeUndefined();
      receiving.socket.send(JSON.stringify({ type: "credit", n: 1 }));
      expect((await receiving.closed).code).toBe(1011);
      for (const frame of [...settling.frames, ...receiving.frames]) {
        // A settle's error frame names its lease besides the error body.
        const { type, leaseId: _leaseId, ...body } = frame;
        expect(type).toBe("error");
        expectErrorBody(body, JSON.stringify(frame));
        expect(JSON.stringify(frame)).not.toContain(MARKER);
      }
      await settling.closed;

      faulty.set("none");
      expect((await rawRequest(url, "GET", "/healthz")).status).toBe(200);
      // Behind a breaker, sends succeed again once it lets a probe through.
      await until(
        async () =>
          (await rawRequest(url, "POST", "/v1/messages", JSON_TYPE, '{"to":"after","type":"t"}')).status ===
          202,
        30_000,
        "a send to be accepted once the store is back",
      );
    },
  );
});
