import { TaskState, type StreamResponse } from "@a2a-js/sdk";
import { afterEach, describe, expect, it } from "vitest";
import { Domains } from "./harness/domains.js";
import { BmnA2aAgent, describeEvent, sdkClient, sendParams, textOf, userMessage } from "./harness/a2a-kit.js";

let domains: Domains | undefined;
let agent: BmnA2aAgent | undefined;
afterEach(async () => {
  await agent?.stop();
  await domains?.stop();
  agent = undefined;
  domains = undefined;
});

describe("A2A across domains: a client in domain b calls alice@a through its own sidecar and the gateways", () => {
  it("streams one task through two gateways; the task lives in b, get and stream answer there", async () => {
    const started = await Domains.start({
      domains: ["a", "b"],
      perDomain: { b: { sidecar: { a2a: { pollIntervalMs: 100 } } } },
    });
    domains = started;
    const a = started.domain("a");
    const b = started.domain("b");
    // alice works in domain a; her reports name the request, so they travel back to b's task inbox.
    agent = new BmnA2aAgent(a.sidecarUrl, "alice", async (request, bmn) => {
      if (request.kind !== "message") return;
      const text = request.message.parts.map((part) => part.text ?? "").join(" ");
      await bmn.a2a.status(request, "TASK_STATE_WORKING", { eventId: `${request.taskId}.w` });
      await bmn.a2a.artifact(
        request,
        { artifactId: "echo", parts: [{ text: `from a: ${text}` }] },
        { eventId: `${request.taskId}.a` },
      );
      await bmn.a2a.status(request, "TASK_STATE_COMPLETED", { eventId: `${request.taskId}.c` });
    });

    const client = await sdkClient(b.sidecarUrl, "alice@a");
    expect((await client.getAgentCard()).supportedInterfaces[0]?.url).toBe(`${b.sidecarUrl}/a2a/alice@a`);
    const events: StreamResponse[] = [];
    for await (const event of client.sendMessageStream(sendParams(userMessage("hello across"))))
      events.push(event);
    expect(events.map(describeEvent)).toEqual([
      `task:${String(TaskState.TASK_STATE_SUBMITTED)}`,
      `status:${String(TaskState.TASK_STATE_WORKING)}`,
      "artifact:echo",
      `status:${String(TaskState.TASK_STATE_COMPLETED)}`,
    ]);
    const first = events[0]?.payload;
    if (first?.$case !== "task") throw new Error("the stream starts with the task");
    const task = await client.getTask({ tenant: "", id: first.value.id, historyLength: undefined });
    expect(task.status?.state).toBe(TaskState.TASK_STATE_COMPLETED);
    expect(textOf(task.artifacts[0]?.parts)).toBe("from a: hello across");
    // The message went a-ward through the gateways, the reports came back the same way.
    expect(agent.requests).toHaveLength(1);
    const counts = { eventsInB: 0 };
    const log = await fetch(`${b.sidecarUrl}/v1/a2a/tasks/${first.value.id}/events`);
    counts.eventsInB = ((await log.json()) as { events: unknown[] }).events.length;
    console.log(`a2a cross-domain b→a→b: ${JSON.stringify(counts)}`);
    expect(counts.eventsInB).toBe(3);
  });
});
