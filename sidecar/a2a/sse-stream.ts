import type { ServerResponse } from "node:http";
import type { A2aStreamResponse } from "../../core/api/a2a-api.js";
import type { TaskAt } from "./a2a-methods.js";
import { endsStream, stateAfter, stateOf } from "./task-record.js";
import type { TaskService } from "./task-service.js";

const HEARTBEAT_MS = 15_000;

export const SSE_HEADERS = {
  "content-type": "text/event-stream",
  "cache-control": "no-cache",
  connection: "keep-alive",
  "x-accel-buffering": "no",
};

/** Writes one chunk; waits for the socket to drain when the client reads slowly (never buffers unbounded). */
async function write(response: ServerResponse, chunk: string, signal: AbortSignal): Promise<void> {
  if (response.write(chunk) || signal.aborted) return;
  await new Promise<void>((resolve) => {
    const done = (): void => {
      response.off("drain", done);
      signal.removeEventListener("abort", done);
      resolve();
    };
    response.on("drain", done);
    signal.addEventListener("abort", done);
  });
}

/**
 * Streams a task as JSON-RPC SSE events: the task first, then every event after it from the store's log, until the
 * task is finished or waits for input, the client goes away, or the sidecar shuts down (the client may then
 * resubscribe). Each event carries its seq as the SSE `id`.
 */
export async function streamTask(options: {
  response: ServerResponse;
  rpcId: string | number | null;
  service: TaskService;
  start: TaskAt;
  signal: AbortSignal;
}): Promise<void> {
  const { response, rpcId, service, start, signal } = options;
  const taskId = start.record.task.id;
  const send = (seq: number, result: A2aStreamResponse): Promise<void> =>
    write(
      response,
      `id: ${String(seq)}\ndata: ${JSON.stringify({ jsonrpc: "2.0", id: rpcId, result })}\n\n`,
      signal,
    );
  await send(start.seq, { task: start.record.task });
  if (endsStream(stateOf(start.record))) return;
  let after = start.seq;
  let lastWrite = Date.now();
  while (!signal.aborted) {
    const events = await service.eventsAfter(taskId, after);
    for (const stored of events) {
      await send(stored.seq, stored.event);
      after = stored.seq;
      lastWrite = Date.now();
      const state = stateAfter(stored.event);
      if (state !== undefined && endsStream(state)) return;
    }
    if (events.length > 0) continue;
    if (Date.now() - lastWrite >= HEARTBEAT_MS) {
      await write(response, ": keep-alive\n\n", signal);
      lastWrite = Date.now();
    }
    await service.waitForChange(taskId, signal);
  }
}
