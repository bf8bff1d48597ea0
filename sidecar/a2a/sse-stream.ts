import type { ServerResponse } from "node:http";
import type { FastifyReply } from "fastify";
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
async function streamTask(options: {
  response: ServerResponse;
  /** The SSE `data` of one event: a JSON-RPC response (JSON-RPC binding) or the event itself (REST). */
  wrap: (result: A2aStreamResponse) => unknown;
  service: TaskService;
  start: TaskAt;
  signal: AbortSignal;
}): Promise<void> {
  const { response, wrap, service, start, signal } = options;
  const taskId = start.record.task.id;
  const send = (seq: number, result: A2aStreamResponse): Promise<void> =>
    write(response, `id: ${String(seq)}\ndata: ${JSON.stringify(wrap(result))}\n\n`, signal);
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

/** Aborts when the client goes away (the response closes) or the sidecar shuts down. */
export function abortedWith(reply: FastifyReply, shutdown: AbortSignal): AbortSignal {
  const controller = new AbortController();
  reply.raw.once("close", () => {
    controller.abort();
  });
  return AbortSignal.any([controller.signal, shutdown]);
}

/**
 * Answers with an SSE stream of the task (the reply is taken over from fastify). A failure after the headers went
 * out becomes the stream's last event, `event: error` with `errorData(error)`.
 */
export async function respondWithStream(options: {
  reply: FastifyReply;
  service: TaskService;
  start: TaskAt;
  shutdown: AbortSignal;
  wrap: (result: A2aStreamResponse) => unknown;
  errorData: (error: unknown) => unknown;
}): Promise<void> {
  const { reply, service, start, wrap } = options;
  const signal = abortedWith(reply, options.shutdown);
  reply.hijack();
  const response = reply.raw;
  response.writeHead(200, SSE_HEADERS);
  try {
    await streamTask({ response, wrap, service, start, signal });
  } catch (error) {
    if (!response.writableEnded && !signal.aborted)
      response.write(`event: error\ndata: ${JSON.stringify(options.errorData(error))}\n\n`);
  } finally {
    if (!response.writableEnded) response.end();
  }
}
