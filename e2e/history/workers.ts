import { History, type Completion, type Delivered, type OperationKind } from "./history.js";

/**
 * HTTP workers that drive a real sidecar and record every operation in a History. Each send is one attempt with an
 * id of its own (no retries), so its outcome stays attributable. How an answer is classified:
 * - 2xx: ok.
 * - 503 `STORE_UNAVAILABLE`: unknown; the bus documents it as ambiguous (the store may have applied the call
 *   and only the answer was lost, see runtime/resilience/retry.ts).
 * - any other 4xx or 5xx (e.g. 503 `STORE_FULL`, or a 500 under Redis OOM): fail.
 * - connection refused: fail (nothing reached the sidecar).
 * - timeout, connection reset, or a body that cannot be read: unknown.
 */

export interface WorkloadOptions {
  agent: string;
  /** Lease asked for by the receivers, ms. */
  leaseMs: number;
  /** Per-request timeout; a request that takes longer is unknown. */
  requestTimeoutMs: number;
  /** Bytes of filler in each message's data. */
  payloadBytes: number;
  /** Share of deliveries nacked (requeued at once) instead of acked. */
  nackShare: number;
}

interface Answer {
  result: Completion;
  detail: string;
  body: unknown;
}

/** A sidecar the workers talk to; `url()` is read at every request (the process may move). */
export interface Endpoint {
  readonly label: string;
  url(): string;
}

export class Workload {
  readonly history = new History();
  /** Ids whose send answered ok, and ids with an ack that answered ok or unknown: the drain's progress. */
  private readonly sentOk = new Set<string>();
  private readonly settled = new Set<string>();
  private sending = false;
  private receiving = false;
  private readonly loops: Promise<void>[] = [];
  private readonly filler: string;

  constructor(private readonly options: WorkloadOptions) {
    this.filler = "x".repeat(options.payloadBytes);
  }

  /** Starts `perEndpoint` sender loops and receiver loops on each endpoint, and one stale acker on the first. */
  start(endpoints: readonly Endpoint[], perEndpoint: { senders: number; receivers: number }): void {
    this.sending = true;
    this.receiving = true;
    for (const endpoint of endpoints) {
      for (let index = 0; index < perEndpoint.senders; index++) {
        this.loops.push(this.sendLoop(endpoint, `send-${endpoint.label}-${index}`));
      }
      for (let index = 0; index < perEndpoint.receivers; index++) {
        this.loops.push(this.receiveLoop(endpoint, `recv-${endpoint.label}-${index}`));
      }
    }
    const first = endpoints[0];
    if (first !== undefined) this.loops.push(this.staleAckLoop(first, `stale-${first.label}`));
  }

  stopSending(): void {
    this.sending = false;
  }

  /** True once every message whose send answered ok has an ack that answered ok or unknown. */
  settledAll(): boolean {
    for (const id of this.sentOk) if (!this.settled.has(id)) return false;
    return true;
  }

  /** Unsettled ok sends, for diagnosis. */
  unsettled(): string[] {
    return [...this.sentOk].filter((id) => !this.settled.has(id));
  }

  /** Stops every loop and waits for their current operations to finish. */
  async stop(): Promise<void> {
    this.sending = false;
    this.receiving = false;
    await Promise.all(this.loops);
  }

  // Read through methods: the loops re-check them after every await, which TypeScript's narrowing can't see.
  private isSending(): boolean {
    return this.sending;
  }

  private isReceiving(): boolean {
    return this.receiving;
  }

  private async sendLoop(endpoint: Endpoint, worker: string): Promise<void> {
    for (let sequence = 0; this.isSending(); sequence++) {
      const messageId = `${this.options.agent}-${worker}-${sequence}`;
      const operation = this.history.invoke("send", worker, { messageId });
      const answer = await this.request(endpoint, "/v1/messages", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ id: messageId, to: this.options.agent, type: "history", data: this.filler }),
      });
      operation.complete(answer.result, { detail: answer.detail });
      if (answer.result === "ok") this.sentOk.add(messageId);
      // While the sidecar or its store is down, do not spin: a short pause paces the loop.
      else await pause(50);
    }
  }

  private async receiveLoop(endpoint: Endpoint, worker: string): Promise<void> {
    let turn = 0;
    while (this.isReceiving()) {
      const deliveries = await this.receive(endpoint, worker, 20, this.options.leaseMs);
      if (deliveries === undefined) {
        await pause(50);
        continue;
      }
      for (const delivery of deliveries) {
        turn++;
        const nack = this.options.nackShare > 0 && turn % Math.round(1 / this.options.nackShare) === 0;
        await this.settle(endpoint, worker, nack ? "nack" : "ack", delivery);
      }
    }
  }

  /**
   * Receives one message with a short lease and acks it only after that lease has run out: the bus must refuse
   * that ack (fencing), and the message must come back to the other receivers.
   */
  private async staleAckLoop(endpoint: Endpoint, worker: string): Promise<void> {
    const leaseMs = 500;
    while (this.isSending()) {
      const deliveries = await this.receive(endpoint, worker, 1, leaseMs);
      const delivery = deliveries?.[0];
      if (delivery === undefined) {
        await pause(50);
        continue;
      }
      // Holding the message past its lease is the behaviour under test, not a wait for some state.
      await pause(leaseMs + 1_500);
      await this.settle(endpoint, worker, "ack", delivery);
    }
  }

  private async receive(
    endpoint: Endpoint,
    worker: string,
    max: number,
    leaseMs: number,
  ): Promise<Delivered[] | undefined> {
    const operation = this.history.invoke("receive", worker, { leaseMs });
    const path = `/v1/agents/${this.options.agent}/messages?max=${max}&wait=1&lease=${leaseMs / 1_000}`;
    const answer = await this.request(endpoint, path, { method: "GET" });
    if (answer.result !== "ok") {
      operation.complete(answer.result, { detail: answer.detail });
      return undefined;
    }
    const deliveries = parseDeliveries(answer.body);
    if (deliveries === undefined) {
      operation.complete("unknown", { detail: `unreadable receive body: ${JSON.stringify(answer.body)}` });
      return undefined;
    }
    operation.complete("ok", { deliveries, detail: answer.detail });
    return deliveries;
  }

  private async settle(
    endpoint: Endpoint,
    worker: string,
    kind: Extract<OperationKind, "ack" | "nack">,
    delivery: Delivered,
  ): Promise<void> {
    const operation = this.history.invoke(kind, worker, delivery);
    const answer = await this.request(
      endpoint,
      `/v1/deliveries/${encodeURIComponent(delivery.leaseId)}/${kind}`,
      kind === "nack"
        ? { method: "POST", headers: { "content-type": "application/json" }, body: "{}" }
        : { method: "POST" },
    );
    operation.complete(answer.result, { detail: answer.detail });
    if (kind === "ack" && answer.result !== "fail") this.settled.add(delivery.messageId);
  }

  private async request(endpoint: Endpoint, path: string, init: RequestInit): Promise<Answer> {
    let response: Response;
    try {
      response = await fetch(`${endpoint.url()}${path}`, {
        ...init,
        signal: AbortSignal.timeout(this.options.requestTimeoutMs),
      });
    } catch (error) {
      const code = errorCode(error);
      return { result: code === "ECONNREFUSED" ? "fail" : "unknown", detail: code, body: undefined };
    }
    let body: unknown;
    try {
      const text = await response.text();
      body = text === "" ? undefined : (JSON.parse(text) as unknown);
    } catch (error) {
      if (response.ok) return { result: "unknown", detail: `body: ${errorCode(error)}`, body: undefined };
    }
    const bodyCode = (body as { errorCode?: unknown } | undefined)?.errorCode;
    const detail = `${response.status}${typeof bodyCode === "string" ? ` ${bodyCode}` : ""}`;
    if (response.ok) return { result: "ok", detail, body };
    if (response.status === 503 && bodyCode === "STORE_UNAVAILABLE")
      return { result: "unknown", detail, body };
    return { result: "fail", detail, body };
  }
}

function parseDeliveries(body: unknown): Delivered[] | undefined {
  const list = (body as { deliveries?: unknown } | undefined)?.deliveries;
  if (!Array.isArray(list)) return undefined;
  const deliveries: Delivered[] = [];
  for (const item of list as unknown[]) {
    const leaseId = (item as { leaseId?: unknown }).leaseId;
    const messageId = (item as { message?: { id?: unknown } }).message?.id;
    if (typeof leaseId !== "string" || typeof messageId !== "string") return undefined;
    deliveries.push({ messageId, leaseId });
  }
  return deliveries;
}

/** The transport error's code (ECONNREFUSED, ECONNRESET, TimeoutError…), for classification and diagnosis. */
function errorCode(error: unknown): string {
  const cause = (error as { cause?: { code?: unknown } } | undefined)?.cause;
  if (typeof cause?.code === "string") return cause.code;
  if (error instanceof Error) return error.name;
  return String(error);
}

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
