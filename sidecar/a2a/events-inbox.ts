import type { FastifyBaseLogger } from "fastify";
import { A2A_EVENTS_AGENT, taskEventBodySchema } from "../../core/api/a2a-api.js";
import { isBmnError } from "../../core/errors.js";
import { splitAddress } from "../../core/names.js";
import type { Delivery, MessageStore } from "../../store/store.js";
import { QueueWorker } from "./queue-worker.js";
import { reportEvent } from "./task-reports.js";
import type { TaskService } from "./task-service.js";

const RETRY_DELAY_MS = 1_000;
/** The errors that no retry can mend: the report is dead-lettered `rejected`. */
const FINAL = new Set([
  "TASK_TERMINAL",
  "NOT_FOUND",
  "INVALID_ARGUMENT",
  "INVALID_MESSAGE",
  "FORBIDDEN",
  "TOO_LARGE",
]);

/** The domain a message came from: the first domain it left (gateways append to `bmnvia`). */
function originDomain(message: Delivery["message"]): string | undefined {
  const via = message.bmnvia;
  return typeof via === "string" ? via.split(",")[0]?.trim() : undefined;
}

/**
 * The domain's A2A task inbox (`bmn-a2a-events`): reports of agents in other domains on this domain's tasks,
 * each a durable BMN message that crossed the gateways. A report is applied only when it comes from the task's
 * agent (its `from` and origin domain); its event id makes a redelivered report count once. Reports are applied
 * in the order they arrive.
 */
export class EventsInbox {
  private readonly worker: QueueWorker;

  constructor(
    private readonly store: MessageStore,
    private readonly service: TaskService,
    private readonly maxHistory: number,
    private readonly log: FastifyBaseLogger,
  ) {
    this.worker = new QueueWorker({
      store,
      queue: A2A_EVENTS_AGENT,
      max: 32,
      actor: "a2a-inbox",
      log,
      // In arrival order: a task's reports apply one after another.
      handle: async (deliveries) => {
        for (const delivery of deliveries) await this.apply(delivery);
      },
    });
  }

  start(): void {
    this.worker.start();
  }

  async stop(): Promise<void> {
    await this.worker.stop();
  }

  private async apply(delivery: Delivery): Promise<void> {
    const actor = "a2a-inbox";
    try {
      const data = delivery.message.data as { taskId?: unknown; report?: unknown } | undefined;
      const report = taskEventBodySchema.safeParse(data?.report);
      if (typeof data?.taskId !== "string" || !report.success) {
        await this.store.nack(delivery.leaseId, {
          deadLetterReason: "invalid",
          reason: "not an A2A report",
          actor,
        });
        return;
      }
      const { record } = await this.service.require(data.taskId);
      const agent = splitAddress(record.agent as Parameters<typeof splitAddress>[0]);
      const from = delivery.message.from === undefined ? undefined : splitAddress(delivery.message.from);
      if (from?.name !== agent.name || originDomain(delivery.message) !== agent.domain) {
        await this.store.nack(delivery.leaseId, {
          deadLetterReason: "forbidden",
          reason: `task ${data.taskId} belongs to ${record.agent}, the report came from ${String(delivery.message.from)}`,
          actor,
        });
        return;
      }
      await reportEvent(this.service, data.taskId, report.data, this.maxHistory);
      await this.store.ack(delivery.leaseId, { actor });
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      try {
        if (isBmnError(error) && FINAL.has(error.code))
          await this.store.nack(delivery.leaseId, { deadLetterReason: "rejected", reason, actor });
        else await this.store.nack(delivery.leaseId, { delayMs: RETRY_DELAY_MS, reason, actor });
      } catch (settleError) {
        this.log.warn({ err: settleError }, "a2a inbox: settling failed; the lease will run out");
      }
    }
  }
}
