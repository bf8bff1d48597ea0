import type { A2aConfig } from "../../core/a2a-config.js";
import type { A2aStreamResponse, StoredTaskEvent } from "../../core/api/a2a-api.js";
import { BmnError, NotFoundError } from "../../core/errors.js";
import type { A2aTaskStore } from "../../store/roles/a2a-tasks.js";
import type { TaskChange, TaskRecord } from "./task-record.js";

/** Compare-and-set rounds before an append gives up (only under a storm of writers on one task). */
const MAX_APPEND_ROUNDS = 32;
/** Events read from the store at once. */
export const EVENT_PAGE = 100;

export interface AppendResult {
  record: TaskRecord;
  seq: number;
  duplicate: boolean;
  event: A2aStreamResponse;
}

/**
 * A2A tasks over the store's task role: creates them, applies events with compare and set (so any number of
 * sidecars may write one task), reads their event logs and wakes the streams of this sidecar at once. Streams fed
 * by other sidecars' writes see them at the next poll.
 */
export class TaskService {
  private readonly waiters = new Map<string, Set<() => void>>();

  constructor(
    private readonly tasks: A2aTaskStore,
    private readonly config: A2aConfig,
    /** Called after every event this sidecar appended, and again for a duplicate (its push may have been lost). */
    private readonly onEvent: (record: TaskRecord, seq: number, event: A2aStreamResponse) => Promise<void>,
  ) {}

  private get retentionMs(): number {
    return this.config.taskRetentionSeconds * 1_000;
  }

  /** Stores a new task; false when one with its id exists already (a retried send). */
  async create(record: TaskRecord): Promise<boolean> {
    return this.tasks.createTask(record.task.id, this.serialize(record), this.retentionMs);
  }

  async get(id: string): Promise<{ record: TaskRecord; seq: number } | undefined> {
    const stored = await this.tasks.readTask(id);
    return stored === undefined
      ? undefined
      : { record: JSON.parse(stored.json) as TaskRecord, seq: stored.seq };
  }

  async require(id: string): Promise<{ record: TaskRecord; seq: number }> {
    const found = await this.get(id);
    if (found === undefined)
      throw new NotFoundError(`task ${id} is not known (or its retention ended)`, { field: "taskId" });
    return found;
  }

  /**
   * Applies `change` to the task's current form and appends its event as `eventId`. A retried `eventId` is
   * answered with the task as it is now, `duplicate: true`, and nothing appended.
   */
  async append(
    id: string,
    eventId: string,
    change: (record: TaskRecord) => TaskChange,
  ): Promise<AppendResult> {
    for (let round = 0; round < MAX_APPEND_ROUNDS; round++) {
      const { record, seq } = await this.require(id);
      let next: TaskChange;
      try {
        next = change(record);
      } catch (error) {
        // A retried event whose first try went through (and ended the task) is a duplicate, not an error:
        // an append that can never match (seq -1) answers `duplicate` exactly when the event id is known.
        const probe = await this.tasks.appendTaskEvent(id, {
          expectedSeq: -1,
          eventId,
          eventJson: "{}",
          taskJson: "{}",
          retentionMs: this.retentionMs,
          maxEvents: this.config.maxEventsPerTask,
        });
        if (probe.outcome !== "duplicate") throw error;
        return this.duplicate(id, record, probe.seq);
      }
      const taskJson = this.serialize(next.record);
      const eventJson = JSON.stringify({ eventId, at: Date.now(), event: next.event });
      const outcome = await this.tasks.appendTaskEvent(id, {
        expectedSeq: seq,
        eventId,
        eventJson,
        taskJson,
        retentionMs: this.retentionMs,
        maxEvents: this.config.maxEventsPerTask,
      });
      switch (outcome.outcome) {
        case "appended":
          this.wake(id);
          await this.onEvent(next.record, outcome.seq, next.event);
          return { record: next.record, seq: outcome.seq, duplicate: false, event: next.event };
        case "duplicate":
          return this.duplicate(id, record, outcome.seq);
        case "full":
          throw new BmnError(
            "TOO_LARGE",
            `task ${id} has ${this.config.maxEventsPerTask} events, the most a2a.maxEventsPerTask allows`,
            { field: "taskId" },
          );
        case "missing":
          throw new NotFoundError(`task ${id} is not known (or its retention ended)`, { field: "taskId" });
        case "conflict":
          continue;
      }
    }
    throw new BmnError("TX_CONFLICT", `task ${id} kept changing under this write; try again`, {
      field: "taskId",
    });
  }

  /** The answer to an event appended before as `seq`: its push is offered again (the first may have been lost). */
  private async duplicate(id: string, record: TaskRecord, seq: number): Promise<AppendResult> {
    const [stored] = await this.eventsAfter(id, seq - 1, 1);
    if (stored === undefined) throw new NotFoundError(`task ${id} has no event ${seq}`, { field: "eventId" });
    await this.onEvent(record, seq, stored.event);
    return { record, seq, duplicate: true, event: stored.event };
  }

  /** Events after `afterSeq`, oldest first, one page. */
  async eventsAfter(id: string, afterSeq: number, limit = EVENT_PAGE): Promise<StoredTaskEvent[]> {
    const stored = await this.tasks.readTaskEvents(id, afterSeq, limit);
    return stored.map(({ seq, json }) => ({ ...(JSON.parse(json) as Omit<StoredTaskEvent, "seq">), seq }));
  }

  /** Resolves when this sidecar appends to the task, after the poll interval, or when `signal` aborts. */
  waitForChange(id: string, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      let set = this.waiters.get(id);
      if (set === undefined) {
        set = new Set();
        this.waiters.set(id, set);
      }
      const waiters = set;
      const done = (): void => {
        clearTimeout(timer);
        signal.removeEventListener("abort", done);
        waiters.delete(done);
        if (waiters.size === 0) this.waiters.delete(id);
        resolve();
      };
      const timer = setTimeout(done, this.config.pollIntervalMs);
      signal.addEventListener("abort", done);
      waiters.add(done);
      if (signal.aborted) done();
    });
  }

  private wake(id: string): void {
    for (const done of [...(this.waiters.get(id) ?? [])]) done();
  }

  private serialize(record: TaskRecord): string {
    const json = JSON.stringify(record);
    if (Buffer.byteLength(json) > this.config.maxTaskBytes)
      throw new BmnError(
        "TOO_LARGE",
        `task ${record.task.id} would hold ${Buffer.byteLength(json)} bytes, over a2a.maxTaskBytes (${this.config.maxTaskBytes})`,
        { field: "artifact" },
      );
    return json;
  }
}
