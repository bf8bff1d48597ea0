import { readFileSync } from "node:fs";
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { OPENAPI_PATH } from "../../../core/api/generate-openapi.js";
import { openApiPath } from "../../../core/api/openapi.js";
import { sidecarApi } from "../../../core/api/sidecar-api.js";
import { buildServer } from "../../../sidecar/server/build-server.js";
import { InMemoryStore } from "../../../store/memory/memory-store.js";

type OperationId = keyof typeof sidecarApi;
interface Operation {
  responses: Record<string, { content?: Record<string, { schema: object }> }>;
}
interface Document {
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, object> };
}

/** The committed document: what users read is what is checked. */
const document = JSON.parse(readFileSync(OPENAPI_PATH, "utf8")) as Document;

/** A response schema of the document as a validator; its $refs point at the document's components. */
function validatorOf(schema: object): z.ZodType {
  const local = JSON.parse(
    JSON.stringify(schema).replaceAll('"#/components/schemas/', '"#/$defs/'),
  ) as object;
  const defs = JSON.parse(
    JSON.stringify(document.components.schemas).replaceAll('"#/components/schemas/', '"#/$defs/'),
  ) as object;
  return z.fromJSONSchema({ ...local, $defs: defs } as Parameters<typeof z.fromJSONSchema>[0]);
}

describe("the sidecar answers what docs/openapi.json says, on every route", () => {
  let app: FastifyInstance;
  const store = new InMemoryStore();
  const seen = new Map<OperationId, Set<number>>();

  /** Calls one operation and checks the status and body against the document's answer for that status. */
  async function call(id: OperationId, options: InjectOptions): Promise<LightMyRequestResponse> {
    const route = sidecarApi[id];
    const response = await app.inject({ method: route.method, ...options });
    const operation = document.paths[openApiPath(route.url)]?.[route.method.toLowerCase()];
    expect(operation, `${id} is in the document`).toBeDefined();
    const answer = operation?.responses[String(response.statusCode)] ?? operation?.responses.default;
    expect(answer, `${id} documents status ${response.statusCode}`).toBeDefined();
    if (response.statusCode >= 400) expect(operation?.responses[String(response.statusCode)]).toBeUndefined();
    const content = answer?.content;
    if (content === undefined) {
      expect(response.body, `${id} ${response.statusCode} has no body`).toBe("");
    } else if (content["application/json"] !== undefined) {
      expect(response.headers["content-type"]).toMatch(/^application\/json/);
      const result = validatorOf(content["application/json"].schema).safeParse(response.json());
      expect(result.error?.issues ?? [], `${id} ${response.statusCode}: ${response.body}`).toEqual([]);
    } else {
      expect(response.headers["content-type"]).toMatch(new RegExp(`^${Object.keys(content)[0] ?? ""}`));
    }
    const statuses = seen.get(id) ?? new Set<number>();
    statuses.add(response.statusCode);
    seen.set(id, statuses);
    return response;
  }

  beforeAll(async () => {
    app = await buildServer({ store, config: { logLevel: "silent" }, logger: false });
  });
  afterAll(async () => {
    await app.close();
  });

  it("health, info, metrics and the document itself", async () => {
    await call("health", { url: "/healthz" });
    await call("ready", { url: "/readyz" });
    await call("info", { url: "/v1/info" });
    await call("metrics", { url: "/metrics" });
    const served = await call("openapi", { url: "/openapi.json" });
    expect(served.json()).toEqual(document);
    await call("topology", { url: "/v1/topology" });
  });

  it("messages, deliveries, leases and request/reply", async () => {
    await call("send", { url: "/v1/messages", payload: { type: "t", to: "alice", data: { n: 1 } } });
    await call("send", { url: "/v1/messages", payload: { type: "t", to: "Not Valid" } });
    await call("send", {
      url: "/v1/messages",
      headers: { "ce-type": "t", "ce-to": "alice", "content-type": "text/plain" },
      payload: "binary body",
    });
    await call("sendBatch", {
      url: "/v1/messages:batch",
      payload: {
        messages: [
          { type: "t", to: "alice" },
          { type: "t", topic: "news.today" },
        ],
      },
    });
    await call("sendBatch", { url: "/v1/messages:batch", payload: { messages: [] } });

    const received = await call("receive", { url: "/v1/agents/alice/messages?max=4" });
    const [first, second, third] = received.json<{ deliveries: { leaseId: string }[] }>().deliveries;
    expect(third).toBeDefined();
    await call("receive", { url: "/v1/agents/alice/messages?max=0x10" });
    await call("extend", {
      method: "POST",
      url: `/v1/deliveries/${first?.leaseId ?? ""}/extend`,
      payload: { leaseMs: 5_000 },
    });
    await call("ack", { url: `/v1/deliveries/${first?.leaseId ?? ""}/ack` });
    await call("ack", { url: `/v1/deliveries/${first?.leaseId ?? ""}/ack` });
    await call("ackMany", { url: "/v1/deliveries:ack", payload: { leaseIds: [first?.leaseId ?? ""] } });
    await call("ackMany", { url: "/v1/deliveries:ack", payload: { leaseIds: [] } });
    await call("nack", { url: `/v1/deliveries/${second?.leaseId ?? ""}/nack`, payload: { delayMs: 0 } });
    await call("nack", {
      url: `/v1/deliveries/${third?.leaseId ?? ""}/nack`,
      payload: { deadLetter: true, reason: "bad" },
    });

    const pending = call("request", { url: "/v1/requests?timeout=5", payload: { type: "ask", to: "bob" } });
    let replied = false;
    for (let attempt = 0; attempt < 50 && !replied; attempt++) {
      const asked = await app.inject({ url: "/v1/agents/bob/messages?wait=1" });
      const delivery = asked.json<{ deliveries: { message: { replyto: string; correlationid: string } }[] }>()
        .deliveries[0];
      if (delivery === undefined) continue;
      await app.inject({
        method: "POST",
        url: "/v1/messages",
        payload: {
          type: "answer",
          to: delivery.message.replyto,
          correlationid: delivery.message.correlationid,
        },
      });
      replied = true;
    }
    expect((await pending).statusCode).toBe(200);
    await call("request", { url: "/v1/requests?timeout=0.01", payload: { type: "ask", to: "nobody" } });
  });

  it("registry, subscriptions and queues", async () => {
    await call("register", { url: "/v1/agents/carol", payload: { capabilities: ["x"], ttlSeconds: 60 } });
    await call("register", { url: "/v1/agents/carol", payload: { ttlSecond: 60 } });
    await call("heartbeat", { url: "/v1/agents/carol/heartbeat", payload: {} });
    await call("agents", { url: "/v1/agents?capability=x" });
    await call("agentStats", { url: "/v1/agents/alice/stats" });
    await call("queues", { url: "/v1/queues" });
    await call("queueMessages", { url: "/v1/queues/alice/messages?state=ready&limit=2" });
    await call("queueMessages", { url: "/v1/queues/alice/messages?state=lost" });
    await call("subscribe", { url: "/v1/agents/carol/subscriptions", payload: { pattern: "news.*" } });
    await call("subscriptions", { url: "/v1/agents/carol/subscriptions" });
    await call("unsubscribe", { url: "/v1/agents/carol/subscriptions?pattern=news.*" });
    await call("unsubscribe", { url: "/v1/agents/carol/subscriptions?pattern=news.*" });
    await call("deregister", { url: "/v1/agents/carol" });
    await call("deregister", { url: "/v1/agents/carol" });
  });

  it("transactions and savepoints", async () => {
    const begun = await call("beginTransaction", { url: "/v1/transactions", payload: {} });
    const { id } = begun.json<{ id: string }>();
    const marked = await call("savepoint", { url: `/v1/transactions/${id}/savepoints` });
    const { savepoint } = marked.json<{ savepoint: number }>();
    await call("send", { url: `/v1/messages?tx=${id}`, payload: { type: "t", to: "dave" } });
    await call("rollbackToSavepoint", { url: `/v1/transactions/${id}/savepoints/${savepoint}/rollback` });
    await call("rollbackToSavepoint", { url: `/v1/transactions/${id}/savepoints/1e0/rollback` });
    await call("commit", { url: `/v1/transactions/${id}/commit` });
    await call("commit", { url: `/v1/transactions/${id}/commit` });
    const other = (await call("beginTransaction", { url: "/v1/transactions" })).json<{ id: string }>();
    await call("rollback", { url: `/v1/transactions/${other.id}/rollback` });
  });

  it("dead letters and traces", async () => {
    const listed = await call("listDeadLetters", { url: "/v1/dlq?agent=alice" });
    const [letter] = listed.json<{ deadLetters: { agent: string; message: { id: string } }[] }>().deadLetters;
    expect(letter).toBeDefined();
    await call("showDeadLetter", { url: `/v1/dlq/${letter?.agent ?? ""}/${letter?.message.id ?? ""}` });
    await call("showDeadLetter", { url: "/v1/dlq/alice/nope" });
    await call("trace", { url: `/v1/messages/${letter?.message.id ?? ""}/trace` });
    await call("trace", { url: "/v1/messages/nope/trace" });
    await call("traces", { url: "/v1/traces?correlationId=x" });
    await call("replayDeadLetters", { url: "/v1/dlq/replay", payload: { agent: "alice", to: "erin" } });
    await call("purgeDeadLetters", { url: "/v1/dlq/purge", payload: { agent: "erin" } });
    await call("purgeDeadLetters", { url: "/v1/dlq/purge", payload: { agent: 5 } });
    await call("replayDeadLetters", { url: "/v1/dlq/replay", payload: { dryRun: true } });
    await call("listDeadLetters", { url: "/v1/dlq?limit=+5" });
  });

  it("A2A: agent cards, the JSON-RPC endpoint and the agents' task routes", async () => {
    // This sidecar is bound to no agent, so it has no own card (404, as documented).
    await call("ownAgentCard", { url: "/.well-known/agent-card.json" });
    await call("agentCard", { url: "/a2a/nobody/.well-known/agent-card.json" });
    await call("register", { url: "/v1/agents/frank", payload: { capabilities: ["forecast"] } });
    await call("agentCard", { url: "/a2a/frank/.well-known/agent-card.json" });
    const message = { messageId: "m-1", role: "ROLE_USER", parts: [{ text: "hi" }] };
    const sent = await call("jsonRpc", {
      url: "/a2a/frank",
      payload: {
        jsonrpc: "2.0",
        id: 1,
        method: "SendMessage",
        params: { message, configuration: { returnImmediately: true } },
      },
    });
    const taskId = sent.json<{ result: { task: { id: string } } }>().result.task.id;
    await call("jsonRpc", { url: "/a2a/frank", payload: { jsonrpc: "2.0", id: 2, method: "Nope" } });
    const events = `/v1/a2a/tasks/${taskId}/events`;
    await call("taskEvent", { url: events, payload: { status: { state: "TASK_STATE_COMPLETED" } } });
    await call("taskEvent", { url: events, payload: { status: { state: "TASK_STATE_WORKING" } } });
    await call("taskEvent", { url: events, payload: {} });
    await call("task", { url: `/v1/a2a/tasks/${taskId}` });
    await call("task", { url: "/v1/a2a/tasks/unknown" });
    await call("taskEvents", { url: events });
    // A bridged remote's push: with the task's token (as the bridge stores it when it links the remote task).
    const other = await call("jsonRpc", {
      url: "/a2a/frank",
      payload: {
        jsonrpc: "2.0",
        id: 3,
        method: "SendMessage",
        params: { message: { ...message, messageId: "m-2" }, configuration: { returnImmediately: true } },
      },
    });
    const linkedId = other.json<{ result: { task: { id: string } } }>().result.task.id;
    const link = { remote: "frank", taskId: "r-1", contextId: "c-1", pushToken: "push-token" };
    await store.a2aTasks().linkRemoteTask(linkedId, JSON.stringify(link));
    const push = {
      url: `/v1/a2a/tasks/${linkedId}/remote-push`,
      payload: { statusUpdate: { taskId: "r-1", contextId: "c-1", status: { state: "TASK_STATE_WORKING" } } },
    };
    await call("remotePush", { ...push, headers: { "x-a2a-notification-token": "push-token" } });
    await call("remotePush", { ...push, headers: { "x-a2a-notification-token": "forged" } });
  });

  it("analytics answer 404 on the memory store, as documented", async () => {
    expect((await call("analyticsInfo", { url: "/v1/stats" })).statusCode).toBe(404);
    expect((await call("analytics", { url: "/v1/stats/latency" })).statusCode).toBe(404);
  });

  it("every operation of the document was exercised, and every one except analytics succeeded", () => {
    const operations = Object.keys(sidecarApi) as OperationId[];
    expect(operations.filter((id) => !seen.has(id))).toEqual([]);
    const failedOnly = operations.filter((id) => ![...(seen.get(id) ?? [])].some((status) => status < 400));
    // The sidecar under test is bound to no agent, so it has no own agent card.
    expect(failedOnly.sort()).toEqual(["analytics", "analyticsInfo", "ownAgentCard"]);
  });
});
