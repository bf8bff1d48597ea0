import { performance } from "node:perf_hooks";

/**
 * A Jepsen-style history: every operation a worker performs against the bus is recorded as an `invoke` event when it
 * starts and one completion event when it ends: `ok` (the bus answered success), `fail` (the bus answered that it
 * did nothing) or `unknown` (no answer, or an answer the bus documents as ambiguous; the operation may or may not
 * have happened). An operation still open when the history is read counts as unknown.
 */

export type OperationKind = "send" | "receive" | "ack" | "nack";
export type Completion = "ok" | "fail" | "unknown";
export type EventType = "invoke" | Completion;

/** One message handed out by a receive, under one lease. */
export interface Delivered {
  messageId: string;
  leaseId: string;
}

export interface HistoryEvent {
  type: EventType;
  /** Pairs an invoke with its completion. */
  op: number;
  kind: OperationKind;
  worker: string;
  /** Milliseconds on this process's monotonic clock. */
  at: number;
  /** send, ack, nack: the message concerned. */
  messageId?: string;
  /** ack, nack: the lease settled. */
  leaseId?: string;
  /** receive invoke: the lease asked for, in ms. */
  leaseMs?: number;
  /** receive ok: what was handed out. */
  deliveries?: readonly Delivered[];
  /** Completions: the HTTP status and errorCode, or the transport error, for diagnosis. */
  detail?: string;
}

/** What a completion carries besides its type. */
export interface CompletionFields {
  deliveries?: readonly Delivered[];
  detail?: string;
}

/** Appends events; shared by every worker of one run. */
export class History {
  private readonly list: HistoryEvent[] = [];
  private nextOp = 0;
  private readonly clock: () => number;

  constructor(clock: () => number = () => performance.now()) {
    this.clock = clock;
  }

  /** Records an invoke; complete the answer exactly once. */
  invoke(
    kind: OperationKind,
    worker: string,
    fields: { messageId?: string; leaseId?: string; leaseMs?: number } = {},
  ): OpenOperation {
    const op = this.nextOp++;
    const base = { op, kind, worker, ...fields };
    this.list.push({ type: "invoke", at: this.clock(), ...base });
    let done = false;
    return {
      complete: (type, extra = {}) => {
        if (done) throw new Error(`operation ${op} completed twice`);
        done = true;
        this.list.push({ ...base, type, at: this.clock(), ...extra });
      },
    };
  }

  get events(): readonly HistoryEvent[] {
    return this.list;
  }
}

export interface OpenOperation {
  complete(type: Completion, fields?: CompletionFields): void;
}
