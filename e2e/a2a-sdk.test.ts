import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { TaskState, type StreamResponse } from "@a2a-js/sdk";
import type { Client } from "@a2a-js/sdk/client";
import { TaskNotCancelableError, TaskNotFoundError } from "@a2a-js/sdk/errors";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { agentMessage, BmnClient } from "../client/index.js";
import { until } from "../test/harness/poll-until.js";
import { startRedis, type RedisServerHandle } from "../test/harness/redis-server.js";
import { BMN, type BmnProcess } from "../test/harness/bmn-process.js";
import {
  BmnA2aAgent,
  describeEvent,
  sdkClient,
  sdkRestClient,
  sendParams,
  startA2aSidecar,
  startWebhook,
  textOf,
  userMessage,
  type AgentHandler,
} from "./harness/a2a-kit.js";

const PUSH_QUEUE = "bmn.a2a.push";

/** What the test agent does, by the first word of the user's text. */
const alice: AgentHandler = async (request, bmn) => {
  if (request.kind === "cancel") return;
  const { taskId } = request;
  const text = request.message.parts.map((part) => part.text ?? "").join(" ");
  const [word = "", ...rest] = text.split(" ");
  switch (word) {
    case "echo":
      await bmn.a2a.status(taskId, "TASK_STATE_WORKING");
      await bmn.a2a.artifact(taskId, { artifactId: "echo", parts: [{ text: rest.join(" ") }] });
      await bmn.a2a.status(taskId, "TASK_STATE_COMPLETED");
      return;
    case "stream":
      await bmn.a2a.status(taskId, "TASK_STATE_WORKING");
      await bmn.a2a.artifact(taskId, { artifactId: "story", parts: [{ text: "once" }] });
      await bmn.a2a.artifact(
        taskId,
        { artifactId: "story", parts: [{ text: " upon a time" }] },
        { append: true, lastChunk: true },
      );
      await bmn.a2a.status(taskId, "TASK_STATE_COMPLETED", { message: "the end" });
      return;
    case "hold":
      await bmn.a2a.status(taskId, "TASK_STATE_WORKING");
      return;
    case "quiet":
      // The test reports for this one itself.
      return;
    case "weather":
      await bmn.a2a.status(taskId, "TASK_STATE_INPUT_REQUIRED", { message: agentMessage("which city?") });
      return;
    case "city":
      await bmn.a2a.status(taskId, "TASK_STATE_WORKING");
      await bmn.a2a.artifact(taskId, {
        artifactId: "forecast",
        parts: [{ text: `sunny in ${rest.join(" ")}` }],
      });
      await bmn.a2a.status(taskId, "TASK_STATE_COMPLETED");
      return;
    default:
      await bmn.a2a.status(taskId, "TASK_STATE_REJECTED", { message: `unknown request ${word}` });
  }
};

async function collect(stream: AsyncGenerator<StreamResponse>): Promise<StreamResponse[]> {
  const events: StreamResponse[] = [];
  for await (const event of stream) events.push(event);
  return events;
}

/** `bmn <args>` as a user runs it. */
function runBmn(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BMN, ...args], (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === "number" ? error.code : 1, stdout, stderr });
    });
  });
}

async function rpc(url: string, body: string, contentType = "application/json"): Promise<unknown> {
  const response = await fetch(url, { method: "POST", headers: { "content-type": contentType }, body });
  return response.json();
}

describe.each(["memory", "redis"] as const)("A2A through BMN, official SDK client (%s store)", (backend) => {
  let redis: RedisServerHandle | undefined;
  let sidecar: BmnProcess;
  let stopSidecar: () => Promise<void>;
  let agent: BmnA2aAgent;
  let client: Client;

  beforeAll(async () => {
    const env: Record<string, string> = { BMN_STORE: backend };
    if (backend === "redis") {
      redis = await startRedis();
      env.BMN_REDIS_URL = redis.url;
    }
    const started = await startA2aSidecar(
      {
        a2a: {
          pollIntervalMs: 100,
          push: {
            allowPrivateUrls: true,
            maxAttempts: 4,
            backoffBaseMs: 20,
            backoffMaxMs: 100,
            breakerFailures: 3,
            breakerOpenMs: 300,
          },
        },
      },
      env,
    );
    sidecar = started.sidecar;
    stopSidecar = started.cleanup;
    await new BmnClient({ url: sidecar.url, agent: "alice" }).register({ capabilities: ["weather", "echo"] });
    agent = new BmnA2aAgent(sidecar.url, "alice", alice);
    client = await sdkClient(sidecar.url, "alice");
  });

  afterAll(async () => {
    await agent.stop();
    await stopSidecar();
    await redis?.cleanup();
  });

  it("discovers the agent card: skills from the registry, streaming and push", async () => {
    const card = await client.getAgentCard();
    expect(card.name).toBe("alice");
    expect(card.skills.map((skill) => skill.id).sort()).toEqual(["echo", "weather"]);
    expect(card.capabilities).toMatchObject({ streaming: true, pushNotifications: true });
    expect(card.supportedInterfaces[0]).toMatchObject({
      url: `${sidecar.url}/a2a/alice`,
      protocolBinding: "JSONRPC",
      protocolVersion: "1.0",
    });
    const unknown = await fetch(`${sidecar.url}/a2a/nobody/.well-known/agent-card.json`);
    expect(unknown.status).toBe(404);
    const printed = await runBmn(["a2a", "card", "alice", "--url", sidecar.url]);
    expect(printed.code).toBe(0);
    expect(JSON.parse(printed.stdout)).toMatchObject({ name: "alice", capabilities: { streaming: true } });
    const refused = await runBmn(["a2a", "card", "nobody", "--url", sidecar.url]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr.trim().split("\n")).toHaveLength(1);
  });

  it("sends a message (blocking) and gets the completed task with its artifact", async () => {
    const result = await client.sendMessage(sendParams(userMessage("echo hello there")));
    if (!("status" in result)) throw new Error("expected a task");
    expect(result.status?.state).toBe(TaskState.TASK_STATE_COMPLETED);
    expect(textOf(result.artifacts[0]?.parts)).toBe("hello there");
    const task = await client.getTask({ tenant: "", id: result.id, historyLength: undefined });
    expect(task.status?.state).toBe(TaskState.TASK_STATE_COMPLETED);
    expect(task.artifacts.map((artifact) => artifact.artifactId)).toEqual(["echo"]);
    expect(textOf(task.history[0]?.parts)).toBe("echo hello there");
  });

  it("streams every state transition, artifact chunks included", async () => {
    const events = await collect(client.sendMessageStream(sendParams(userMessage("stream"))));
    expect(events.map(describeEvent)).toEqual([
      `task:${String(TaskState.TASK_STATE_SUBMITTED)}`,
      `status:${String(TaskState.TASK_STATE_WORKING)}`,
      "artifact:story",
      "artifact:story+",
      `status:${String(TaskState.TASK_STATE_COMPLETED)}`,
    ]);
    const first = events[0]?.payload;
    if (first?.$case !== "task") throw new Error("the stream must start with the task");
    const task = await client.getTask({ tenant: "", id: first.value.id, historyLength: undefined });
    expect(textOf(task.artifacts[0]?.parts)).toBe("once");
    expect(task.artifacts[0]?.parts.map((part) => textOf([part])).join("")).toBe("once upon a time");
    expect(textOf(task.status?.message?.parts)).toBe("the end");
  });

  it("cancels a task: the agent gets a cancel message and the task ends canceled", async () => {
    const stream = client.sendMessageStream(sendParams(userMessage("hold")));
    let taskId = "";
    const seen: string[] = [];
    for await (const event of stream) {
      seen.push(describeEvent(event));
      if (event.payload?.$case === "task") taskId = event.payload.value.id;
      if (
        event.payload?.$case === "statusUpdate" &&
        event.payload.value.status?.state === TaskState.TASK_STATE_WORKING
      ) {
        const canceled = await client.cancelTask({ tenant: "", id: taskId, metadata: undefined });
        expect(canceled.status?.state).toBe(TaskState.TASK_STATE_CANCELED);
      }
    }
    expect(seen.at(-1)).toBe(`status:${String(TaskState.TASK_STATE_CANCELED)}`);
    await until(
      () => agent.requests.some((request) => request.kind === "cancel" && request.taskId === taskId),
      10_000,
      "the cancel message to reach the agent",
    );
    await expect(client.cancelTask({ tenant: "", id: taskId, metadata: undefined })).rejects.toBeInstanceOf(
      TaskNotCancelableError,
    );
    // The agent's late report is refused: the task stays canceled.
    await expect(agent.bmn.a2a.status(taskId, "TASK_STATE_COMPLETED")).rejects.toMatchObject({
      errorCode: "TASK_TERMINAL",
    });
  });

  it("stops for input without holding a lease, then resumes on the next message of the task", async () => {
    const asked = await client.sendMessage(sendParams(userMessage("weather")));
    if (!("status" in asked)) throw new Error("expected a task");
    expect(asked.status?.state).toBe(TaskState.TASK_STATE_INPUT_REQUIRED);
    expect(textOf(asked.status?.message?.parts)).toBe("which city?");
    // The agent acked its delivery: the task waits in the store, not in a lease.
    await until(
      async () => (await agent.bmn.stats("alice")).inFlight === 0,
      10_000,
      "alice to hold no lease",
    );
    const answered = await client.sendMessage(sendParams(userMessage("city Lisbon", asked.id)));
    if (!("status" in answered)) throw new Error("expected a task");
    expect(answered.id).toBe(asked.id);
    expect(answered.status?.state).toBe(TaskState.TASK_STATE_COMPLETED);
    expect(textOf(answered.artifacts[0]?.parts)).toBe("sunny in Lisbon");
    expect(answered.history.map((message) => textOf(message.parts))).toEqual([
      "weather",
      "which city?",
      "city Lisbon",
    ]);
  });

  it("answers bad input with the JSON-RPC code the spec names, and keeps serving", async () => {
    const endpoint = `${sidecar.url}/a2a/alice`;
    expect(await rpc(endpoint, "{not json")).toMatchObject({ id: null, error: { code: -32700 } });
    expect(await rpc(endpoint, JSON.stringify({ jsonrpc: "2.0", id: 7 }))).toMatchObject({
      id: 7,
      error: { code: -32600 },
    });
    expect(
      await rpc(endpoint, JSON.stringify({ jsonrpc: "2.0", id: 8, method: "tasks/explode" })),
    ).toMatchObject({
      id: 8,
      error: { code: -32601 },
    });
    expect(
      await rpc(
        endpoint,
        JSON.stringify({ jsonrpc: "2.0", id: 9, method: "SendMessage", params: { message: {} } }),
      ),
    ).toMatchObject({ id: 9, error: { code: -32602 } });
    expect(await rpc(endpoint, "{}", "text/plain")).toMatchObject({ error: { code: -32005 } });
    await expect(
      client.getTask({ tenant: "", id: randomUUID(), historyLength: undefined }),
    ).rejects.toBeInstanceOf(TaskNotFoundError);
    expect((await fetch(`${sidecar.url}/healthz`)).status).toBe(200);
    const after = await client.sendMessage(sendParams(userMessage("echo still here")));
    expect("status" in after && after.status?.state).toBe(TaskState.TASK_STATE_COMPLETED);
  });

  it("speaks the HTTP+JSON/REST binding too: send, stream, get, cancel, push configs, errors", async () => {
    const rest = await sdkRestClient(sidecar.url, "alice");
    const sent = await rest.sendMessage(sendParams(userMessage("echo over rest")));
    if (!("status" in sent)) throw new Error("expected a task");
    expect(sent.status?.state).toBe(TaskState.TASK_STATE_COMPLETED);
    expect(textOf(sent.artifacts[0]?.parts)).toBe("over rest");
    const got = await rest.getTask({ tenant: "", id: sent.id, historyLength: 0 });
    expect(got.history).toEqual([]);
    expect(got.status?.state).toBe(TaskState.TASK_STATE_COMPLETED);
    const events = await collect(rest.sendMessageStream(sendParams(userMessage("stream"))));
    expect(events.map(describeEvent).at(-1)).toBe(`status:${String(TaskState.TASK_STATE_COMPLETED)}`);
    expect(events).toHaveLength(5);
    const held = await rest.sendMessage(sendParams(userMessage("quiet"), { returnImmediately: true }));
    if (!("status" in held)) throw new Error("expected a task");
    const config = await rest.createTaskPushNotificationConfig({
      tenant: "",
      id: "rest-hook",
      taskId: held.id,
      url: "http://127.0.0.1:9/never-called",
      token: "",
      authentication: undefined,
    });
    expect(config.id).toBe("rest-hook");
    const listed = await rest.listTaskPushNotificationConfig({
      tenant: "",
      taskId: held.id,
      pageSize: 0,
      pageToken: "",
    });
    expect(listed.configs.map((entry) => entry.id)).toEqual(["rest-hook"]);
    await rest.deleteTaskPushNotificationConfig({ tenant: "", taskId: held.id, id: "rest-hook" });
    const canceled = await rest.cancelTask({ tenant: "", id: held.id, metadata: undefined });
    expect(canceled.status?.state).toBe(TaskState.TASK_STATE_CANCELED);
    await expect(rest.cancelTask({ tenant: "", id: held.id, metadata: undefined })).rejects.toBeInstanceOf(
      TaskNotCancelableError,
    );
    await expect(
      rest.getTask({ tenant: "", id: randomUUID(), historyLength: undefined }),
    ).rejects.toBeInstanceOf(TaskNotFoundError);
    const malformed = await fetch(`${sidecar.url}/a2a/alice/rest/message:send`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{oops",
    });
    expect(malformed.status).toBe(400);
    expect(await malformed.json()).toMatchObject({ error: { status: "INVALID_ARGUMENT" } });
  });

  it("pushes every event through the outbox, retrying a webhook that fails twice, with its token", async () => {
    const webhook = await startWebhook(2);
    try {
      const started = await client.sendMessage(sendParams(userMessage("quiet"), { returnImmediately: true }));
      if (!("status" in started)) throw new Error("expected a task");
      const config = await client.createTaskPushNotificationConfig({
        tenant: "",
        id: "",
        taskId: started.id,
        url: webhook.url,
        token: "s3cret-token",
        authentication: undefined,
      });
      expect(config.id).not.toBe("");
      const listed = await client.listTaskPushNotificationConfig({
        tenant: "",
        taskId: started.id,
        pageSize: 0,
        pageToken: "",
      });
      expect(listed.configs.map((entry) => entry.url)).toEqual([webhook.url]);
      await agent.bmn.a2a.artifact(started.id, { artifactId: "result", parts: [{ text: "42" }] });
      await agent.bmn.a2a.status(started.id, "TASK_STATE_COMPLETED");
      const delivered = await until(
        () => {
          const ok = webhook.received.filter((push) => push.status === 200);
          return ok.length >= 2 ? ok : undefined;
        },
        20_000,
        "both events to be delivered",
        () => JSON.stringify(webhook.received.map((push) => push.status)),
      );
      expect(webhook.received.filter((push) => push.status === 503)).toHaveLength(2);
      expect(delivered.every((push) => push.headers["x-a2a-notification-token"] === "s3cret-token")).toBe(
        true,
      );
      expect(delivered.every((push) => push.headers["content-type"] === "application/a2a+json")).toBe(true);
      const kinds = delivered.map((push) => Object.keys(push.body)[0]).sort();
      expect(kinds).toEqual(["artifactUpdate", "statusUpdate"]);
      const trace = await agent.bmn.traceByCorrelation(started.id);
      expect(trace.filter((event) => event.agent === PUSH_QUEUE && event.kind === "nacked")).toHaveLength(2);
      expect(trace.filter((event) => event.agent === PUSH_QUEUE && event.kind === "acked")).toHaveLength(2);
      await client.deleteTaskPushNotificationConfig({ tenant: "", taskId: started.id, id: config.id });
    } finally {
      await webhook.close();
    }
  });

  it("dead-letters the pushes of a webhook that never recovers (max-attempts), its breaker open", async () => {
    const webhook = await startWebhook(Number.POSITIVE_INFINITY);
    try {
      const started = await client.sendMessage(sendParams(userMessage("quiet"), { returnImmediately: true }));
      if (!("status" in started)) throw new Error("expected a task");
      await client.createTaskPushNotificationConfig({
        tenant: "",
        id: "never",
        taskId: started.id,
        url: webhook.url,
        token: "",
        authentication: { scheme: "Bearer", credentials: "eyJhbGciOiJIUzI1NiJ9.e30.sig" },
      });
      await agent.bmn.a2a.status(started.id, "TASK_STATE_WORKING", { eventId: "w1" });
      await agent.bmn.a2a.artifact(
        started.id,
        { artifactId: "x", parts: [{ text: "1" }] },
        { eventId: "a1" },
      );
      await agent.bmn.a2a.status(started.id, "TASK_STATE_FAILED", { eventId: "f1" });
      const dead = await until(
        async () => {
          const letters = (await agent.bmn.dlq.list({ agent: PUSH_QUEUE })).filter(
            (letter) => letter.message.correlationid === started.id,
          );
          return letters.length === 3 ? letters : undefined;
        },
        30_000,
        "the three pushes to be dead-lettered",
      );
      expect(dead.every((letter) => letter.reason === "max-attempts")).toBe(true);
      expect(dead.every((letter) => letter.attempts.length === 4)).toBe(true);
      const reasons = dead.flatMap((letter) => letter.attempts.map((attempt) => attempt.reason ?? ""));
      expect(reasons.some((reason) => reason.startsWith("circuit open"))).toBe(true);
      // The breaker held back attempts: the webhook saw fewer requests than there were attempts.
      expect(webhook.received.length).toBeLessThan(3 * 4);
      expect(webhook.received[0]?.headers.authorization).toBe("Bearer eyJhbGciOiJIUzI1NiJ9.e30.sig");
    } finally {
      await webhook.close();
    }
  });
});

describe("A2A bounds and push URL policy (default push config)", () => {
  let stop: () => Promise<void>;
  let url: string;
  beforeAll(async () => {
    const started = await startA2aSidecar(
      { a2a: { maxStreamsPerClient: 2 } },
      { BMN_STORE: "memory" },
      "sidecar-strict",
    );
    stop = started.cleanup;
    url = started.sidecar.url;
  });
  afterAll(async () => {
    await stop();
  });

  it("holds at most maxStreamsPerClient streams for one client; the next is refused until one ends", async () => {
    const streams = new AbortController();
    const open = (): Promise<Response> =>
      fetch(`${url}/a2a/bob`, {
        method: "POST",
        headers: { "content-type": "application/json", accept: "text/event-stream" },
        body: JSON.stringify({
          jsonrpc: "2.0",
          id: 1,
          method: "SendStreamingMessage",
          params: { message: { messageId: randomUUID(), role: "ROLE_USER", parts: [{ text: "wait" }] } },
        }),
        signal: streams.signal,
      });
    try {
      const first = await open();
      const second = await open();
      expect([first.status, second.status]).toEqual([200, 200]);
      expect(first.headers.get("content-type")).toMatch(/^text\/event-stream/);
      const third = await open();
      expect(third.status).toBe(429);
      expect(await third.json()).toMatchObject({ error: { code: -32603 } });
    } finally {
      streams.abort();
    }
    // Once the client's streams are gone, it may open one again.
    await until(
      async () => {
        const again = await fetch(`${url}/a2a/bob`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ jsonrpc: "2.0", id: 2, method: "SubscribeToTask", params: { id: "none" } }),
        });
        return again.status === 200 ? true : undefined;
      },
      10_000,
      "the closed streams to give their slots back",
    );
  });

  it("refuses a push URL on loopback with -32602 and keeps serving", async () => {
    const endpoint = `${url}/a2a/bob`;
    const sent = (await rpc(
      endpoint,
      JSON.stringify({
        jsonrpc: "2.0",
        id: 1,
        method: "SendMessage",
        params: {
          message: { messageId: randomUUID(), role: "ROLE_USER", parts: [{ text: "hi" }] },
          configuration: { returnImmediately: true },
        },
      }),
    )) as { result: { task: { id: string } } };
    const taskId = sent.result.task.id;
    for (const hook of [
      "http://127.0.0.1:9/hook",
      "http://localhost:9/hook",
      "http://[::1]:9/hook",
      "http://10.1.2.3/x",
    ]) {
      expect(
        await rpc(
          endpoint,
          JSON.stringify({
            jsonrpc: "2.0",
            id: 2,
            method: "CreateTaskPushNotificationConfig",
            params: { taskId, url: hook },
          }),
        ),
      ).toMatchObject({ id: 2, error: { code: -32602 } });
    }
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
  });
});
