import { TaskState, type StreamResponse } from "@a2a-js/sdk";
import { afterEach, describe, expect, it } from "vitest";
import { BmnClient, isBmnClientError, type A2aRequest, type StoredTaskEvent } from "../client/index.js";
import { until } from "../test/harness/poll-until.js";
import { startRedis } from "../test/harness/redis-server.js";
import { describeEvent, sdkClient, sendParams, startA2aSidecar, userMessage } from "./harness/a2a-kit.js";

const CHUNKS = 20;
/** Chunks written before the sidecar is killed. */
const BEFORE_KILL = 8;

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Runs `report` until the sidecar takes it (it may be down); counts the tries and the duplicates answered. */
async function reliably(
  counts: { tries: number; duplicates: number },
  report: () => Promise<{ duplicate?: boolean | undefined }>,
): Promise<void> {
  for (;;) {
    counts.tries++;
    try {
      if ((await report()).duplicate === true) counts.duplicates++;
      return;
    } catch (error) {
      if (isBmnClientError(error) && error.status !== undefined && error.status < 500) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

describe("an A2A task survives kill -9 of the sidecar (Redis, appendfsync always)", () => {
  it("resubscribing after the crash gets the final artifact; the log has every event exactly once", async () => {
    const redis = await startRedis({ appendOnly: true, appendFsyncAlways: true });
    cleanups.push(() => redis.cleanup());
    const { sidecar, cleanup } = await startA2aSidecar(
      { a2a: { pollIntervalMs: 100 } },
      { BMN_STORE: "redis", BMN_REDIS_URL: redis.url },
    );
    cleanups.push(cleanup);

    // The agent: a working status, CHUNKS appended chunks, a final artifact and completed, each with its own
    // event id, retried until the sidecar takes it. It pauses after BEFORE_KILL chunks until the test lets it go.
    const bmn = new BmnClient({ url: sidecar.url, agent: "writer" });
    await bmn.register({ capabilities: ["stories"] });
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const counts = { tries: 0, duplicates: 0 };
    const intended = [
      "working",
      ...Array.from({ length: CHUNKS }, (_, i) => `chunk-${String(i + 1)}`),
      "final",
      "done",
    ];
    const work = async (request: A2aRequest): Promise<void> => {
      const { taskId } = request;
      await reliably(counts, () => bmn.a2a.status(taskId, "TASK_STATE_WORKING", { eventId: "working" }));
      for (let chunk = 1; chunk <= CHUNKS; chunk++) {
        if (chunk === BEFORE_KILL + 1) await gate;
        await reliably(counts, () =>
          bmn.a2a.artifact(
            taskId,
            { artifactId: "story", parts: [{ text: `${String(chunk)};` }] },
            { append: chunk > 1, eventId: `chunk-${String(chunk)}` },
          ),
        );
      }
      await reliably(counts, () =>
        bmn.a2a.artifact(
          taskId,
          { artifactId: "final", parts: [{ text: "THE END" }] },
          { lastChunk: true, eventId: "final" },
        ),
      );
      await reliably(counts, () => bmn.a2a.status(taskId, "TASK_STATE_COMPLETED", { eventId: "done" }));
    };
    const agentDone = (async () => {
      const [delivery] = await until(
        async () => {
          const got = await bmn.receive({ max: 1, waitSeconds: 1 });
          return got.length > 0 ? got : undefined;
        },
        30_000,
        "the task's message to reach the agent",
      );
      if (delivery === undefined) throw new Error("no delivery");
      const request = bmn.a2a.requestOf(delivery.message);
      if (request === undefined) throw new Error("not an A2A message");
      await work(request);
      await reliably(counts, async () => {
        await bmn.ack(delivery.leaseId);
        return { duplicate: false };
      });
    })();

    // The client streams until it has seen BEFORE_KILL chunks; then the sidecar is killed mid-stream.
    const client = await sdkClient(sidecar.url, "writer");
    const beforeKill: StreamResponse[] = [];
    let taskId = "";
    const stream = client.sendMessageStream(sendParams(userMessage("write")));
    let streamError: unknown;
    try {
      for await (const event of stream) {
        beforeKill.push(event);
        if (event.payload?.$case === "task") taskId = event.payload.value.id;
        const chunks = beforeKill.filter((seen) => seen.payload?.$case === "artifactUpdate").length;
        if (chunks === BEFORE_KILL) {
          release(); // the agent writes on while the sidecar dies
          await sidecar.kill();
        }
      }
    } catch (error) {
      streamError = error;
    }
    expect(streamError, "the stream breaks when the sidecar dies").toBeDefined();
    expect(sidecar.alive).toBe(false);
    await sidecar.start();

    // Resubscribe: the task as stored (every chunk so far), then the rest until it completes.
    const resumed = await sdkClient(sidecar.url, "writer");
    const afterRestart: StreamResponse[] = [];
    for await (const event of resumed.resubscribeTask({ tenant: "", id: taskId })) afterRestart.push(event);
    await agentDone;
    const snapshot = afterRestart[0]?.payload;
    if (snapshot?.$case !== "task")
      throw new Error(
        `a resubscription starts with the task, got ${describeEvent(afterRestart[0] ?? { payload: undefined })}`,
      );
    const last = afterRestart.at(-1)?.payload;
    expect(last?.$case === "statusUpdate" && last.value.status?.state).toBe(TaskState.TASK_STATE_COMPLETED);
    const final = await resumed.getTask({ tenant: "", id: taskId, historyLength: undefined });
    expect(final.status?.state).toBe(TaskState.TASK_STATE_COMPLETED);
    const story = final.artifacts.find((artifact) => artifact.artifactId === "story");
    expect(
      story?.parts.map((part) => (part.content?.$case === "text" ? part.content.value : "")).join(""),
    ).toBe(Array.from({ length: CHUNKS }, (_, i) => `${String(i + 1)};`).join(""));
    const finalArtifact = final.artifacts.find((artifact) => artifact.artifactId === "final");
    expect(finalArtifact?.parts[0]?.content?.value).toBe("THE END");
    const sawFinal = [snapshot.value.artifacts, afterRestart.map((event) => event.payload)]
      .flat()
      .some(
        (item) =>
          (item !== undefined && "artifactId" in item && item.artifactId === "final") ||
          (item !== undefined &&
            "$case" in item &&
            item.$case === "artifactUpdate" &&
            item.value.artifact?.artifactId === "final"),
      );
    expect(sawFinal, "the resubscribed client received the final artifact").toBe(true);

    // The task's event log: every event the agent meant, exactly once, in order, seqs without a gap.
    const log: StoredTaskEvent[] = [];
    for (let after = 0; ;) {
      const page = await bmn.a2a.events(taskId, after);
      log.push(...page.events);
      if (page.nextAfter === undefined) break;
      after = page.nextAfter;
    }
    expect(log.map((event) => event.seq)).toEqual(log.map((_, index) => index + 1));
    expect(log.map((event) => event.eventId)).toEqual(intended);
    const figures = {
      intendedEvents: intended.length,
      loggedEvents: log.length,
      lost: intended.filter((id) => !log.some((event) => event.eventId === id)).length,
      duplicated: log.length - new Set(log.map((event) => event.eventId)).size,
      agentTries: counts.tries,
      retriedReportsAnsweredDuplicate: counts.duplicates,
      clientEventsBeforeKill: beforeKill.length,
      clientEventsAfterResubscribe: afterRestart.length,
    };
    console.log(`a2a kill -9 (redis): ${JSON.stringify(figures)}`);
    expect(figures.lost).toBe(0);
    expect(figures.duplicated).toBe(0);
  });
});
