import { TaskState, type StreamResponse, type Task } from "@a2a-js/sdk";
import { ClientFactory } from "@a2a-js/sdk/client";
import { afterEach, describe, expect, it } from "vitest";
import { BmnClient } from "../client/index.js";
import { until } from "../test/harness/poll-until.js";
import { startRedis } from "../test/harness/redis-server.js";
import {
  describeEvent,
  sdkClient,
  sendParams,
  startA2aSidecar,
  textOf,
  userMessage,
} from "./harness/a2a-kit.js";
import { startSdkAgent, type SdkAgent } from "./harness/sdk-agent.js";

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A remote SDK agent and a sidecar on `backend` bridging it as `shouter`. */
async function bridged(
  backend: "memory" | "redis",
  options: { push?: boolean } = {},
): Promise<{ remote: SdkAgent; url: string }> {
  const remote = await startSdkAgent(0, options);
  cleanups.push(() => remote.close());
  const env: Record<string, string> = { BMN_STORE: backend };
  if (backend === "redis") {
    const redis = await startRedis();
    cleanups.push(() => redis.cleanup());
    env.BMN_REDIS_URL = redis.url;
  }
  const { sidecar, cleanup } = await startA2aSidecar(
    {
      a2a: {
        pollIntervalMs: 100,
        remotes: { shouter: { cardUrl: remote.cardUrl, backoffBaseMs: 20, backoffMaxMs: 100 } },
      },
    },
    env,
  );
  cleanups.push(cleanup);
  return { remote, url: sidecar.url };
}

type SdkClient = Awaited<ReturnType<typeof sdkClient>>;

function taskOf(client: SdkClient, id: string): Promise<Task> {
  return client.getTask({ tenant: "", id, historyLength: undefined });
}

/** Sends `text` as a new task, not waiting for it; the task as created. */
async function startTask(client: SdkClient, text: string): Promise<Task> {
  const sent = await client.sendMessage(sendParams(userMessage(text), { returnImmediately: true }));
  if (!("status" in sent)) throw new Error("expected a task");
  return sent;
}

/** The task once it is in `state`. */
function untilState(client: SdkClient, id: string, state: TaskState, what: string): Promise<Task> {
  return until(
    async () => {
      const task = await taskOf(client, id);
      return task.status?.state === state ? task : undefined;
    },
    20_000,
    what,
  );
}

/** The state of a task as the remote agent itself has it (asked with the SDK's client). */
async function remoteState(remote: SdkAgent, id: string): Promise<TaskState | undefined> {
  const client = await new ClientFactory().createFromUrl(`${remote.url}/`);
  return (await taskOf(client, id)).status?.state;
}

/** The local task's event log, one word per event (see describeEvent). */
async function eventLog(url: string, taskId: string): Promise<string[]> {
  const { events } = await new BmnClient({ url }).a2a.events(taskId);
  return events.map(({ event }) => {
    if ("statusUpdate" in event) return `status:${event.statusUpdate.status.state}`;
    if ("artifactUpdate" in event) return `artifact:${event.artifactUpdate.artifact.artifactId}`;
    return Object.keys(event)[0] ?? "none";
  });
}

describe("the bridge to an outside A2A agent (written with the official SDK's server side)", () => {
  it("reaches the remote through BMN, retrying while it is down, and relays its stream into the task", async () => {
    const remote = await startSdkAgent(2);
    cleanups.push(() => remote.close());
    const { sidecar, cleanup } = await startA2aSidecar(
      {
        a2a: {
          pollIntervalMs: 100,
          remotes: {
            shouter: { cardUrl: remote.cardUrl, maxAttempts: 5, backoffBaseMs: 20, backoffMaxMs: 100 },
          },
        },
      },
      { BMN_STORE: "memory" },
    );
    cleanups.push(cleanup);

    const client = await sdkClient(sidecar.url, "shouter");
    const card = await client.getAgentCard();
    expect(card.skills.map((skill) => skill.id)).toEqual(["shout"]);
    expect(card.supportedInterfaces[0]?.url).toBe(`${sidecar.url}/a2a/shouter`);

    const events: StreamResponse[] = [];
    for await (const event of client.sendMessageStream(sendParams(userMessage("hello bridge"))))
      events.push(event);
    expect(events.map(describeEvent)).toEqual([
      `task:${String(TaskState.TASK_STATE_SUBMITTED)}`,
      `status:${String(TaskState.TASK_STATE_WORKING)}`,
      "artifact:shout",
      `status:${String(TaskState.TASK_STATE_COMPLETED)}`,
    ]);
    const first = events[0]?.payload;
    if (first?.$case !== "task") throw new Error("the stream starts with the task");
    const task = await taskOf(client, first.value.id);
    expect(textOf(task.artifacts[0]?.parts)).toBe("HELLO BRIDGE");
    // Two calls answered 503, the third went through: each retry shows in the BMN trace of the task.
    expect(remote.calls()).toBe(3);
    const trace = await new BmnClient({ url: sidecar.url }).traceByCorrelation(first.value.id);
    expect(trace.filter((event) => event.agent === "shouter" && event.kind === "nacked")).toHaveLength(2);
    expect(trace.filter((event) => event.agent === "shouter" && event.kind === "acked")).toHaveLength(1);
  });

  it("dead-letters the message (max-attempts) when the remote stays down", async () => {
    const remote = await startSdkAgent(Number.POSITIVE_INFINITY);
    cleanups.push(() => remote.close());
    const { sidecar, cleanup } = await startA2aSidecar(
      {
        a2a: {
          remotes: {
            shouter: { cardUrl: remote.cardUrl, maxAttempts: 3, backoffBaseMs: 20, backoffMaxMs: 50 },
          },
        },
      },
      { BMN_STORE: "memory" },
    );
    cleanups.push(cleanup);
    const client = await sdkClient(sidecar.url, "shouter");
    await startTask(client, "anyone?");
    const bmn = new BmnClient({ url: sidecar.url });
    const [letter] = await until(
      async () => {
        const letters = await bmn.dlq.list({ agent: "shouter" });
        return letters.length > 0 ? letters : undefined;
      },
      20_000,
      "the message to be dead-lettered",
    );
    expect(letter?.reason).toBe("max-attempts");
    expect(letter?.attempts).toHaveLength(3);
    expect(letter?.lastError).toMatch(/HTTP 503/);
    expect(remote.calls()).toBe(3);
  });
});

describe.each(["memory", "redis"] as const)(
  "the bridge keeps the remote task linked (%s store)",
  (backend) => {
    it("forwards a cancel to the remote task: the remote task and the local one end canceled", async () => {
      const { remote, url } = await bridged(backend);
      const client = await sdkClient(url, "shouter");
      const sent = await startTask(client, "wait for it");
      await untilState(
        client,
        sent.id,
        TaskState.TASK_STATE_WORKING,
        "the remote's working status to reach the task",
      );
      const [remoteId] = remote.taskIds();
      if (remoteId === undefined) throw new Error("the remote has no task");
      expect(await remoteState(remote, remoteId)).toBe(TaskState.TASK_STATE_WORKING);

      const canceled = await client.cancelTask({ tenant: "", id: sent.id, metadata: undefined });
      expect(canceled.status?.state).toBe(TaskState.TASK_STATE_CANCELED);
      await until(
        async () => (await remoteState(remote, remoteId)) === TaskState.TASK_STATE_CANCELED,
        20_000,
        "the cancel to reach the remote task",
      );
      expect((await taskOf(client, sent.id)).status?.state).toBe(TaskState.TASK_STATE_CANCELED);
      expect(remote.taskIds()).toEqual([remoteId]);
    });

    it("sends a follow-up after input-required to the same remote task, which resumes and completes", async () => {
      const { remote, url } = await bridged(backend);
      const client = await sdkClient(url, "shouter");
      const first: StreamResponse[] = [];
      for await (const event of client.sendMessageStream(sendParams(userMessage("ask away"))))
        first.push(event);
      expect(first.map(describeEvent)).toEqual([
        `task:${String(TaskState.TASK_STATE_SUBMITTED)}`,
        `status:${String(TaskState.TASK_STATE_INPUT_REQUIRED)}`,
      ]);
      const start = first[0]?.payload;
      if (start?.$case !== "task") throw new Error("the stream starts with the task");
      const taskId = start.value.id;

      const second: StreamResponse[] = [];
      for await (const event of client.sendMessageStream(sendParams(userMessage("everyone", taskId))))
        second.push(event);
      expect(second.map(describeEvent).slice(-3)).toEqual([
        `status:${String(TaskState.TASK_STATE_WORKING)}`,
        "artifact:shout",
        `status:${String(TaskState.TASK_STATE_COMPLETED)}`,
      ]);
      const task = await taskOf(client, taskId);
      expect(textOf(task.artifacts[0]?.parts)).toBe("EVERYONE");
      // One remote task for both messages, and it completed there too.
      const [remoteId] = remote.taskIds();
      expect(remote.taskIds()).toHaveLength(1);
      expect(await remoteState(remote, remoteId ?? "")).toBe(TaskState.TASK_STATE_COMPLETED);
    });

    it("turns the remote's push notifications into task events, once each, and refuses forged ones", async () => {
      const { remote, url } = await bridged(backend, { push: true });
      remote.holdStreams();
      const client = await sdkClient(url, "shouter");
      const sent = await startTask(client, "hold the line");
      await until(
        () => remote.pushConfigs() === 1,
        20_000,
        "the bridge to register a push config on the remote",
      );

      // A push without the task's token changes nothing, whatever it claims.
      const remoteId = remote.taskIds()[0] ?? "";
      const forged = JSON.stringify({
        statusUpdate: {
          taskId: remoteId,
          contextId: "",
          status: { state: "TASK_STATE_COMPLETED", timestamp: new Date().toISOString() },
        },
      });
      const before = await eventLog(url, sent.id);
      for (const [taskId, headers] of [
        [sent.id, { "x-a2a-notification-token": "forged" }],
        [sent.id, { authorization: "Bearer forged" }],
        [sent.id, {}],
        ["no-such-task", { "x-a2a-notification-token": "forged" }],
      ] as const) {
        const answer = await fetch(`${url}/v1/a2a/tasks/${taskId}/remote-push`, {
          method: "POST",
          headers: { "content-type": "application/a2a+json", ...headers },
          body: forged,
        });
        expect(answer.status).toBe(401);
        expect(await answer.json()).toMatchObject({ errorCode: "UNAUTHENTICATED" });
      }
      expect(await eventLog(url, sent.id)).toEqual(before);
      expect((await taskOf(client, sent.id)).status?.state).not.toBe(TaskState.TASK_STATE_COMPLETED);

      // The remote finishes while its stream is held back: the task completes by push alone.
      remote.proceed();
      const done = await untilState(client, sent.id, TaskState.TASK_STATE_COMPLETED, "the pushed completion");
      expect(textOf(done.artifacts[0]?.parts)).toBe("THE LINE");
      expect(remote.heldEvents()).toBeGreaterThan(0);

      // Then the stream brings the same events: the bridge finishes its call and adds none of them again.
      remote.releaseStreams();
      const bmn = new BmnClient({ url });
      await until(
        async () =>
          (await bmn.traceByCorrelation(sent.id)).some(
            (event) => event.agent === "shouter" && event.kind === "acked",
          ),
        20_000,
        "the bridge to finish its call",
      );
      const log = await eventLog(url, sent.id);
      expect(log.filter((event) => event === "artifact:shout")).toHaveLength(1);
      expect(log.filter((event) => event === "status:TASK_STATE_COMPLETED")).toHaveLength(1);
      expect(new Set(log).size).toBe(log.length);
    });

    it("follows the remote task after its stream broke, instead of sending the message again", async () => {
      const { remote, url } = await bridged(backend);
      remote.cutNextStream();
      const client = await sdkClient(url, "shouter");
      const sent = await startTask(client, "hold on");
      // The broken stream, then GetTask (the remote has the message) and SubscribeToTask.
      await until(
        () => remote.calls() >= 3,
        20_000,
        "the bridge to resubscribe to the remote task",
        async () =>
          `calls ${String(remote.calls())}, trace ${JSON.stringify(await new BmnClient({ url }).traceByCorrelation(sent.id))}`,
      );
      remote.proceed();
      const done = await untilState(client, sent.id, TaskState.TASK_STATE_COMPLETED, "the task to complete");
      expect(textOf(done.artifacts[0]?.parts)).toBe("ON");
      expect(remote.taskIds()).toHaveLength(1);
      const trace = await new BmnClient({ url }).traceByCorrelation(sent.id);
      expect(trace.filter((event) => event.agent === "shouter" && event.kind === "nacked")).toHaveLength(1);
    });
  },
);
