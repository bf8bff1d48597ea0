import { randomUUID } from "node:crypto";
import type { TaskEventBody } from "../../core/api/a2a-api.js";
import { artifactChange, statusChange } from "./task-record.js";
import type { AppendResult, TaskService } from "./task-service.js";

/** An agent's report: its artifact, then its status, each an event of its own (retried ids count once). */
export async function reportEvent(
  service: TaskService,
  taskId: string,
  body: TaskEventBody,
  maxHistory: number,
): Promise<AppendResult[]> {
  const eventId = body.eventId ?? randomUUID();
  const results: AppendResult[] = [];
  const { artifact, status } = body;
  if (artifact !== undefined) {
    const id = status === undefined ? eventId : `${eventId}.a`;
    results.push(
      await service.append(taskId, id, (record) =>
        artifactChange(record, artifact, {
          append: body.append,
          lastChunk: body.lastChunk,
          metadata: body.metadata,
        }),
      ),
    );
  }
  if (status !== undefined) {
    const id = artifact === undefined ? eventId : `${eventId}.s`;
    results.push(
      await service.append(taskId, id, (record) =>
        statusChange(record, status, { maxHistory, metadata: body.metadata }),
      ),
    );
  }
  return results;
}
