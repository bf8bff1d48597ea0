import { A2aAgentApi } from "./a2a.js";
import { BmnClientError, isBmnClientError } from "./errors.js";
import { HttpTransport } from "./http.js";
import { MessageStream, type MessagesOptions } from "./message-stream.js";
import { collect, paginate } from "./pages.js";
import { Transaction } from "./transaction.js";
import { TypedClient, type Schemas } from "./typed.js";
import type {
  AnalyticsAnswer,
  AnalyticsParams,
  AgentRecord,
  DeadLetter,
  DeadLetterDryRun,
  DeadLetterMove,
  QueuedMessagePage,
  QueuedMessageState,
  DeadLetterFilter,
  DeadLetterSelection,
  AckManyResult,
  Delivery,
  HealthStatus,
  HttpEvent,
  Message,
  MessageInput,
  NackOptions,
  QueueStats,
  ReadyStatus,
  ReceiveOptions,
  RegisterOptions,
  SendResult,
  SidecarInfo,
  Subscription,
  Trace,
  TraceEvent,
} from "./types.js";

export const DEFAULT_URL = "http://127.0.0.1:7420";
const DEFAULT_TIMEOUT_MS = 10_000;
const DEFAULT_REQUEST_TIMEOUT_SECONDS = 30;

export interface BmnClientOptions {
  /** The sidecar. Default: `BMN_URL`, else http://127.0.0.1:7420. */
  url?: string | undefined;
  /** This agent's name: the queue `receive` and `messages` read, and whose subscriptions and registration. */
  agent?: string | undefined;
  /** Per-request timeout on top of any long-poll wait (default 10 s). */
  timeoutMs?: number | undefined;
  /** The sidecar's API token (its `server.apiToken`), sent as a Bearer token. Default: `BMN_API_TOKEN`. */
  apiToken?: string | undefined;
  /** Replaces the global fetch (tests, proxies). */
  fetch?: typeof fetch | undefined;
  /** Called before and after every HTTP exchange. */
  onHttp?: ((event: HttpEvent) => void) | undefined;
}

export interface RequestOptions {
  /** How long the sidecar waits for the reply (default 30). */
  timeoutSeconds?: number | undefined;
  signal?: AbortSignal | undefined;
}

export interface TransactionOptions {
  /** The sidecar rolls the transaction back if it is not finished within this (its default: 30 s). */
  timeoutMs?: number | undefined;
}

export interface CallOptions {
  signal?: AbortSignal | undefined;
}

const path = (...segments: string[]): string => segments.map((s) => `/${encodeURIComponent(s)}`).join("");

/**
 * A client for one BMN sidecar over its HTTP API (docs/http-api.md). It fills in nothing itself: the sidecar fills
 * `id`, `source` and `time` of messages that lack them. Failures are BmnClientError with the sidecar's `errorCode`.
 */
/** How many dead letters `dlq.list` answers when no `limit` is given. */
const DEFAULT_LIST_LIMIT = 100;

export class BmnClient {
  readonly url: string;
  readonly agent: string | undefined;
  private readonly http: HttpTransport;
  /** A2A tasks, from the agent's side: what a delivery asks, and status and artifact reports (docs/a2a.md). */
  readonly a2a: A2aAgentApi;

  readonly dlq = {
    /** Dead letters, oldest first: `limit` of them (default 100), fetched page by page. */
    list: async (filter: DeadLetterFilter = {}): Promise<DeadLetter[]> =>
      collect(this.dlq.all({ ...filter, limit: filter.limit ?? DEFAULT_LIST_LIMIT })),
    /** Every dead letter that matches (up to `limit`), oldest first, one page per request as you iterate. */
    all: (filter: DeadLetterFilter = {}): AsyncGenerator<DeadLetter, void, undefined> =>
      paginate(async (cursor) => {
        const body = await this.http.call<{ deadLetters: DeadLetter[]; nextCursor?: string }>(
          "GET",
          "/v1/dlq",
          {
            query: { agent: filter.agent, reason: filter.reason, cursor },
          },
        );
        return { items: body.deadLetters, nextCursor: body.nextCursor };
      }, filter.limit),
    show: async (agent: string, id: string): Promise<DeadLetter> =>
      this.http.call<DeadLetter>("GET", `/v1/dlq${path(agent, id)}`),
    /** Re-queues dead letters (to their agent, or to `to`) with a fresh attempt count; answers how many. */
    replay: async (selection: DeadLetterSelection & { to?: string | undefined } = {}): Promise<number> => {
      const body = await this.http.call<{ replayed: number }>("POST", "/v1/dlq/replay", {
        body: definedOnly(selection),
      });
      return body.replayed;
    },
    /**
     * A dry run of `replay` (or of `purge`, with `action: "purge"`): what the same selection would take, changing
     * nothing. `letters` lists the first 1000, each with the queue a replay would put it in.
     */
    dryRun: async (
      selection: DeadLetterSelection & { to?: string | undefined } = {},
      action: "replay" | "purge" = "replay",
    ): Promise<DeadLetterDryRun> => {
      const body = await this.http.call<{ matched?: number; letters?: DeadLetterMove[] }>(
        "POST",
        `/v1/dlq/${action}`,
        { body: definedOnly({ ...selection, dryRun: true }) },
      );
      return { matched: body.matched ?? 0, letters: body.letters ?? [] };
    },
    /** Deletes dead letters for good; answers how many. */
    purge: async (selection: DeadLetterSelection = {}): Promise<number> => {
      const body = await this.http.call<{ purged: number }>("POST", "/v1/dlq/purge", {
        body: definedOnly(selection),
      });
      return body.purged;
    },
  };

  constructor(private readonly options: BmnClientOptions = {}) {
    this.url = (options.url ?? process.env.BMN_URL ?? DEFAULT_URL).replace(/\/+$/, "");
    this.agent = options.agent;
    this.http = new HttpTransport({
      baseUrl: this.url,
      timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      fetch: options.fetch ?? globalThis.fetch.bind(globalThis),
      onHttp: options.onHttp,
      apiToken: options.apiToken ?? envToken(),
    });
    this.a2a = new A2aAgentApi(this.http, options.agent);
  }

  /** A client for another agent on the same sidecar. */
  as(agent: string): BmnClient {
    return new BmnClient({ ...this.options, url: this.url, agent });
  }

  // ---- sending ---------------------------------------------------------------------------------------------------

  /** Fire and forget: the message is durable once this resolves (on a durable store). */
  async send(message: MessageInput, options: CallOptions = {}): Promise<SendResult> {
    return this.http.call<SendResult>("POST", "/v1/messages", { body: message, signal: options.signal });
  }

  /** All or nothing: if one message is invalid, none is sent (the error's `field` is like `messages.3.to`). */
  async sendBatch(messages: MessageInput[], options: CallOptions = {}): Promise<SendResult[]> {
    const body = await this.http.call<{ results: SendResult[] }>("POST", "/v1/messages:batch", {
      body: { messages },
      signal: options.signal,
    });
    return body.results;
  }

  /** Sends to every agent subscribed to a pattern matching `topic`; the result lists the recipients. */
  async publish(topic: string, message: MessageInput, options: CallOptions = {}): Promise<SendResult> {
    return this.send({ ...message, topic }, options);
  }

  /** Request/reply: sends, then waits for the message sent back to the request's `replyto`. */
  async request(message: MessageInput, options: RequestOptions = {}): Promise<Message> {
    const timeoutSeconds = options.timeoutSeconds ?? DEFAULT_REQUEST_TIMEOUT_SECONDS;
    const body = await this.http.call<{ reply: Message }>("POST", "/v1/requests", {
      query: { timeout: timeoutSeconds },
      body: message,
      signal: options.signal,
      timeoutMs: timeoutSeconds * 1000 + this.http.timeoutMs,
    });
    return body.reply;
  }

  /** Answers a request received through `messages()` or `receive()`. */
  async reply(request: Message, message: MessageInput): Promise<SendResult> {
    if (request.replyto === undefined) {
      throw new BmnClientError("INVALID_ARGUMENT", `message ${request.id} has no replyto to answer`, {
        field: "replyto",
      });
    }
    const correlationid = request.correlationid ?? request.id;
    return this.send({ ...message, to: request.replyto, correlationid });
  }

  // ---- receiving -------------------------------------------------------------------------------------------------

  /** One long poll. Each delivery is leased: settle it with `ack`, `nack` or let the lease expire. */
  async receive(options: ReceiveOptions = {}): Promise<Delivery[]> {
    const agent = this.agentName(options.agent);
    const wait = options.waitSeconds ?? 0;
    const body = await this.http.call<{ deliveries: Delivery[] }>(
      "GET",
      `/v1/agents${path(agent)}/messages`,
      {
        query: { max: options.max, wait: options.waitSeconds, lease: options.leaseSeconds },
        signal: options.signal,
        timeoutMs: wait * 1000 + this.http.timeoutMs,
      },
    );
    return body.deliveries;
  }

  async ack(leaseId: string): Promise<void> {
    await this.http.call("POST", `/v1/deliveries${path(leaseId)}/ack`);
  }

  /**
   * Acks up to 1000 deliveries in one request. A lease that no longer holds does not fail the others: it is
   * listed in `failed` with the code a single `ack` would have answered (`LEASE_NOT_FOUND`, `LEASE_EXPIRED`).
   */
  async ackMany(leaseIds: readonly string[]): Promise<AckManyResult> {
    return this.http.call<AckManyResult>("POST", "/v1/deliveries:ack", { body: { leaseIds } });
  }

  async nack(leaseId: string, options: NackOptions = {}): Promise<void> {
    await this.http.call("POST", `/v1/deliveries${path(leaseId)}/nack`, { body: definedOnly(options) });
  }

  async extend(leaseId: string, leaseMs: number): Promise<{ leaseExpiresAt: number }> {
    return this.http.call<{ leaseExpiresAt: number }>("POST", `/v1/deliveries${path(leaseId)}/extend`, {
      body: { leaseMs },
    });
  }

  /**
   * An async iterable of leased messages: `for await (const m of client.messages()) { ...; await m.ack(); }`.
   * See MessageStream for `drain()` and `close()`.
   */
  messages(options: MessagesOptions = {}): MessageStream {
    const agent = this.agentName(options.agent);
    return new MessageStream<Message>(this.leaseOps(), { ...options, agent }, (message) => ({
      ok: true,
      message,
    }));
  }

  /** Validated payloads: `schemas` maps a message `type` to the zod schema of its `data`. */
  typed<S extends Schemas>(schemas: S): TypedClient<S> {
    return new TypedClient(this, schemas);
  }

  /** @internal The operations a MessageStream needs. */
  leaseOps(): ConstructorParameters<typeof MessageStream>[0] {
    return {
      receive: (options) => this.receive(options),
      ack: (leaseId) => this.ack(leaseId),
      nack: (leaseId, options) => this.nack(leaseId, options),
      extend: (leaseId, leaseMs) => this.extend(leaseId, leaseMs),
    };
  }

  // ---- topics ----------------------------------------------------------------------------------------------------

  /** `*` matches one dot-separated segment, `#` zero or more. */
  async subscribe(pattern: string, options: { agent?: string } = {}): Promise<Subscription> {
    const agent = this.agentName(options.agent);
    return this.http.call<Subscription>("POST", `/v1/agents${path(agent)}/subscriptions`, {
      body: { pattern },
    });
  }

  /** Answers false when there was no such subscription. */
  async unsubscribe(pattern: string, options: { agent?: string } = {}): Promise<boolean> {
    const agent = this.agentName(options.agent);
    try {
      await this.http.call("DELETE", `/v1/agents${path(agent)}/subscriptions`, { query: { pattern } });
      return true;
    } catch (error) {
      if (isBmnClientError(error) && error.errorCode === "NOT_FOUND") return false;
      throw error;
    }
  }

  async subscriptions(options: { agent?: string } = {}): Promise<Subscription[]> {
    const agent = this.agentName(options.agent);
    const body = await this.http.call<{ subscriptions: Subscription[] }>(
      "GET",
      `/v1/agents${path(agent)}/subscriptions`,
    );
    return body.subscriptions;
  }

  // ---- registry --------------------------------------------------------------------------------------------------

  /** Announces this agent for discovery; repeat with `heartbeat()` before `ttlSeconds` run out. */
  async register(options: RegisterOptions = {}): Promise<AgentRecord> {
    const agent = this.agentName(options.agent);
    return this.http.call<AgentRecord>("PUT", `/v1/agents${path(agent)}`, {
      body: definedOnly({
        capabilities: options.capabilities,
        metadata: options.metadata,
        ttlSeconds: options.ttlSeconds,
      }),
    });
  }

  async heartbeat(options: { agent?: string; ttlSeconds?: number } = {}): Promise<AgentRecord> {
    const agent = this.agentName(options.agent);
    return this.http.call<AgentRecord>("POST", `/v1/agents${path(agent)}/heartbeat`, {
      body: definedOnly({ ttlSeconds: options.ttlSeconds }),
    });
  }

  /** Answers false when the agent was not registered. */
  async deregister(options: { agent?: string } = {}): Promise<boolean> {
    const agent = this.agentName(options.agent);
    try {
      await this.http.call("DELETE", `/v1/agents${path(agent)}`);
      return true;
    } catch (error) {
      if (isBmnClientError(error) && error.errorCode === "NOT_FOUND") return false;
      throw error;
    }
  }

  /** Live registrations, optionally only those with a capability. */
  async agents(filter: { capability?: string | undefined } = {}): Promise<AgentRecord[]> {
    const body = await this.http.call<{ agents: AgentRecord[] }>("GET", "/v1/agents", {
      query: { capability: filter.capability },
    });
    return body.agents;
  }

  async stats(agent?: string): Promise<QueueStats> {
    return this.http.call<QueueStats>("GET", `/v1/agents${path(this.agentName(agent))}/stats`);
  }

  /**
   * A named read-only analytics query of the sidecar's SQL store (`GET /v1/stats/:query`): throughput, latency,
   * deadLetters, topTalkers or stuckLeases. Needs a sidecar on the tidb store.
   */
  async analytics(query: string, params: AnalyticsParams = {}): Promise<AnalyticsAnswer> {
    return this.http.call<AnalyticsAnswer>("GET", `/v1/stats${path(query)}`, {
      query: { ...params },
    });
  }

  /** Every queue's counts, fetched page by page. */
  async queues(): Promise<QueueStats[]> {
    return collect(
      paginate(async (cursor) => {
        const body = await this.http.call<{ queues: QueueStats[]; nextCursor?: string }>(
          "GET",
          "/v1/queues",
          {
            query: { cursor },
          },
        );
        return { items: body.queues, nextCursor: body.nextCursor };
      }),
    );
  }

  /**
   * One page of a queue's messages in one state (default `ready`), without receiving them: ready ones in delivery
   * order, delayed ones by visible time, leased ones by lease expiry. Pass `nextCursor` back for the next page.
   */
  async browse(
    queue: string,
    options: { state?: QueuedMessageState; limit?: number; cursor?: string } = {},
  ): Promise<QueuedMessagePage> {
    return this.http.call<QueuedMessagePage>("GET", `/v1/queues${path(queue)}/messages`, {
      query: { state: options.state, limit: options.limit, cursor: options.cursor },
    });
  }

  // ---- transactions ----------------------------------------------------------------------------------------------

  /**
   * Runs `fn` in a transaction: committed when it resolves, rolled back when it throws (the error is rethrown).
   * Nest with `tx.transaction(...)`.
   */
  async transaction<T>(fn: (tx: Transaction) => Promise<T>, options: TransactionOptions = {}): Promise<T> {
    const { id } = await this.http.call<{ id: string }>("POST", "/v1/transactions", {
      body: definedOnly({ timeoutMs: options.timeoutMs }),
    });
    const tx = new Transaction(this.http, id);
    let result: T;
    try {
      result = await fn(tx);
    } catch (error) {
      await tx.rollback().catch(() => undefined);
      throw error;
    }
    try {
      await tx.commit();
    } catch (error) {
      // A failed commit applied nothing; make sure the sidecar forgets it too.
      await tx.rollback().catch(() => undefined);
      throw error;
    }
    return result;
  }

  // ---- operators -------------------------------------------------------------------------------------------------

  /** Everything recorded about one message, oldest first. */
  async trace(id: string): Promise<Trace> {
    return this.http.call<Trace>("GET", `/v1/messages${path(id)}/trace`);
  }

  async traceByCorrelation(correlationId: string): Promise<TraceEvent[]> {
    const body = await this.http.call<{ events: TraceEvent[] }>("GET", "/v1/traces", {
      query: { correlationId },
    });
    return body.events;
  }

  async health(): Promise<HealthStatus> {
    return this.http.call<HealthStatus>("GET", "/healthz");
  }

  /** Resolves when the store answers; throws STORE_UNAVAILABLE (503) otherwise. */
  async ready(): Promise<ReadyStatus> {
    return this.http.call<ReadyStatus>("GET", "/readyz");
  }

  async info(): Promise<SidecarInfo> {
    return this.http.call<SidecarInfo>("GET", "/v1/info");
  }

  private agentName(agent: string | undefined): string {
    const name = agent ?? this.agent;
    if (name === undefined || name === "") {
      throw new BmnClientError(
        "NO_AGENT",
        "no agent name: pass { agent } to this call or to new BmnClient({ agent })",
        { field: "agent" },
      );
    }
    return name;
  }
}

/** Drops undefined properties, so JSON bodies carry only what the caller set. */
function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** `BMN_API_TOKEN`, the sidecar's API token, when set and not empty. */
function envToken(): string | undefined {
  const token = process.env.BMN_API_TOKEN;
  return token === "" ? undefined : token;
}
