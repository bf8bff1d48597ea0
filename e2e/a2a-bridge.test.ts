import { TaskState, type StreamResponse } from "@a2a-js/sdk";
import { afterEach, describe, expect, it } from "vitest";
import { BmnClient } from "../client/index.js";
import { until } from "../test/harness/poll-until.js";
import {
  describeEvent,
  sdkClient,
  sendParams,
  startA2aSidecar,
  textOf,
  userMessage,
} from "./harness/a2a-kit.js";
import { startSdkAgent } from "./harness/sdk-agent.js";

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

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
    const task = await client.getTask({ tenant: "", id: first.value.id, historyLength: undefined });
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
    const sent = await client.sendMessage(sendParams(userMessage("anyone?"), { returnImmediately: true }));
    if (!("status" in sent)) throw new Error("expected a task");
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
