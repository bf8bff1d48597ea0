import { createHash } from "node:crypto";
import {
  a2aStreamResponseSchema,
  INTERRUPTED_STATES,
  TERMINAL_STATES,
  type A2aTask,
} from "../../core/api/a2a-api.js";
import type { z } from "zod";
import { isBmnError } from "../../core/errors.js";
import { artifactChange, statusChange } from "./task-record.js";
import type { TaskService } from "./task-service.js";

/** One event of a remote task, validated (from the remote's stream or one of its push notifications). */
export type RemoteEvent = z.infer<typeof a2aStreamResponseSchema>;

/**
 * The bridge's link from a local task to the remote's task for it, kept by the store's task role: the remote
 * task id follow-ups and cancels go to, and the token the remote's push notifications must carry.
 */
export interface RemoteLink {
  remote: string;
  taskId: string;
  contextId: string;
  pushToken?: string | undefined;
}

export function parseLink(json: string | undefined): RemoteLink | undefined {
  return json === undefined ? undefined : (JSON.parse(json) as RemoteLink);
}

/** The remote task an event belongs to, and its context. */
export function remoteTaskOf(event: RemoteEvent): { taskId: string; contextId: string } | undefined {
  if ("task" in event) return { taskId: event.task.id, contextId: event.task.contextId };
  if ("statusUpdate" in event) return event.statusUpdate;
  if ("artifactUpdate" in event) return event.artifactUpdate;
  const { taskId, contextId } = event.message;
  return taskId === undefined ? undefined : { taskId, contextId: contextId ?? "" };
}

/**
 * The id of a remote event in the local task, made from what the event says rather than how it came: the stream
 * and a push notification of one event get the same id, so whichever comes second adds nothing.
 */
type StatusEvent = Extract<RemoteEvent, { task: unknown } | { statusUpdate: unknown }>;

/** A status update or a task snapshot: the events that report a status. */
export function isStatusEvent(event: RemoteEvent): event is StatusEvent {
  return "task" in event || "statusUpdate" in event;
}

/** The status a status update, or a task snapshot, reports. */
export function statusOf(event: StatusEvent): A2aTask["status"] {
  return "task" in event ? event.task.status : event.statusUpdate.status;
}

export function remoteEventId(event: RemoteEvent): string {
  let parts: unknown[];
  if (isStatusEvent(event)) {
    const status = statusOf(event);
    const taskId = "task" in event ? event.task.id : event.statusUpdate.taskId;
    parts = ["status", taskId, status.state, status.timestamp ?? "", status.message?.messageId ?? ""];
  } else if ("artifactUpdate" in event) {
    const { taskId, artifact, append, lastChunk } = event.artifactUpdate;
    parts = ["artifact", taskId, artifact, append === true, lastChunk === true];
  } else parts = ["message", event.message.taskId ?? "", event.message.messageId];
  return `remote-${createHash("sha256").update(JSON.stringify(parts)).digest("hex").slice(0, 48)}`;
}

/**
 * Writes one remote event into the local task (idempotently, by remoteEventId). True when the task's stream
 * ends here: it is finished, waits for the client, or was ended locally (a cancel) meanwhile.
 */
export async function relayRemoteEvent(
  service: TaskService,
  taskId: string,
  event: RemoteEvent,
  maxHistory: number,
): Promise<boolean> {
  const eventId = remoteEventId(event);
  try {
    if (isStatusEvent(event)) {
      const status = statusOf(event);
      // A task snapshot opens every remote call, a follow-up's showing the state before it (input-required): the
      // status updates say what changes, so only a finished snapshot (a remote that answers with it) counts.
      if ("task" in event && !TERMINAL_STATES.has(status.state)) return false;
      if (status.state === "TASK_STATE_SUBMITTED") return false;
      await service.append(taskId, eventId, (record) =>
        statusChange(record, { state: status.state, message: status.message }, { maxHistory }),
      );
      return TERMINAL_STATES.has(status.state) || INTERRUPTED_STATES.has(status.state);
    }
    if ("artifactUpdate" in event) {
      const { artifact, append, lastChunk } = event.artifactUpdate;
      await service.append(taskId, eventId, (record) =>
        artifactChange(record, artifact, { append, lastChunk }),
      );
      return false;
    }
    // A plain message answers the task at once.
    const { message } = event;
    await service.append(taskId, eventId, (record) =>
      statusChange(record, { state: "TASK_STATE_COMPLETED", message }, { maxHistory }),
    );
    return true;
  } catch (error) {
    if (isBmnError(error) && error.code === "TASK_TERMINAL") return true;
    throw error;
  }
}
