import type { ResultSetHeader } from "mysql2/promise";
import { BmnError } from "../../core/errors.js";
import { SqlClient, type Row, type SqlClientOptions, type SqlParam, type SqlSession } from "./sql-client.js";
import { isConnectionError, isOutcomeUnknown, wasNotSent } from "./sql-errors.js";

export interface EndpointPoolOptions extends SqlClientOptions {
  /** Longest wait between two probes of an unhealthy endpoint; the first probe comes after about 100 ms. */
  probeMaxMs: number;
}

/** What `SqlStore.endpoints()` reports of one endpoint. */
export interface EndpointHealth {
  /** The endpoint's URL, its password replaced by `***`. */
  url: string;
  healthy: boolean;
  /** Failed calls and probes since the endpoint was last healthy. */
  failures: number;
  lastError?: string;
}

/**
 * When a call that failed on a lost connection may run again on another endpoint: `safe` for reads, idempotent
 * writes and transactions (a transaction whose COMMIT never went out was rolled back by the server; one whose
 * COMMIT answer was lost is never run again), `unsent` for other writes (only when nothing reached the server).
 */
type Retry = "safe" | "unsent";

const FIRST_PROBE_MS = 100;

class Endpoint {
  healthy: boolean;
  failures = 0;
  lastError: string | undefined;
  probe: NodeJS.Timeout | undefined;

  constructor(
    readonly url: string,
    public client: SqlClient | undefined,
  ) {
    this.healthy = client !== undefined;
  }
}

/**
 * Several endpoints of one database (TiDB servers in front of one cluster), one `SqlClient` pool each. Calls go
 * round-robin over the healthy endpoints. A connection error marks the endpoint unhealthy and the call runs once
 * more on the next endpoint when that is safe (see `Retry`). Unhealthy endpoints are probed in the background
 * (`SELECT 1`, exponential backoff with jitter, unref'd timers) and take calls again once they answer. With no
 * healthy endpoint left, calls still try the endpoints (so a lone endpoint recovers as soon as its server is
 * back) and fail with STORE_UNAVAILABLE when none answers. Dedicated sessions (migrations, analytics) go to the
 * first healthy endpoint in configuration order.
 */
export class EndpointPool {
  private next = 0;
  private closed = false;

  private constructor(
    private readonly endpoints: Endpoint[],
    private readonly primary: SqlClient,
    private readonly options: EndpointPoolOptions,
  ) {
    for (const endpoint of endpoints) {
      if (!endpoint.healthy) {
        endpoint.failures = 1;
        this.scheduleProbe(endpoint);
      }
    }
  }

  /**
   * Opens every endpoint; succeeds when at least one answers (the others are probed until they do). A bad URL
   * or an unsupported server on any endpoint fails at once.
   */
  static async open(urls: readonly string[], options: EndpointPoolOptions): Promise<EndpointPool> {
    if (urls.length === 0) {
      throw new BmnError("INVALID_ARGUMENT", "the SQL store needs at least one endpoint URL", {
        field: "store.sql.urls",
      });
    }
    const opened = await Promise.allSettled(urls.map((url) => SqlClient.open(url, options)));
    const clients = opened.flatMap((result) => (result.status === "fulfilled" ? [result.value] : []));
    const failures = opened.flatMap((result): unknown[] =>
      result.status === "rejected" ? [result.reason] : [],
    );
    const fatal = failures.find((error) => !isConnectionError(error));
    const primary = clients[0];
    if (fatal !== undefined || primary === undefined) {
      await Promise.all(clients.map((client) => client.close()));
      throw fatal ?? failures[0];
    }
    const endpoints = urls.map((url, i) => {
      const result = opened[i];
      const endpoint = new Endpoint(url, result?.status === "fulfilled" ? result.value : undefined);
      if (result?.status === "rejected") endpoint.lastError = String(result.reason);
      return endpoint;
    });
    return new EndpointPool(endpoints, primary, options);
  }

  get dialect(): SqlClient["dialect"] {
    return this.primary.dialect;
  }

  get serverVersion(): string {
    return this.primary.serverVersion;
  }

  get lockClause(): string {
    return this.primary.lockClause;
  }

  /** The endpoints in configuration order and whether each takes calls now. */
  health(): EndpointHealth[] {
    return this.endpoints.map((endpoint) => {
      const health: EndpointHealth = {
        url: redact(endpoint.url),
        healthy: endpoint.healthy,
        failures: endpoint.failures,
      };
      if (endpoint.lastError !== undefined) health.lastError = endpoint.lastError;
      return health;
    });
  }

  /** A read in autocommit mode (run again on another endpoint after a connection error). */
  rows(sql: string, params: readonly SqlParam[] = []): Promise<Row[]> {
    return this.call("safe", true, (client) => client.rows(sql, params));
  }

  /**
   * One write in autocommit mode. Only an `idempotent` write (same effect and answer when applied twice) runs
   * again on another endpoint after its connection broke; any other only when it never reached the server.
   */
  run(
    sql: string,
    params: readonly SqlParam[] = [],
    options: { idempotent?: boolean } = {},
  ): Promise<ResultSetHeader> {
    return this.call(options.idempotent === true ? "safe" : "unsent", true, (client) =>
      client.run(sql, params),
    );
  }

  /**
   * One write in autocommit mode that answers rows (`DELETE ... RETURNING`). Like a non-idempotent `run`, it runs
   * again on another endpoint only when it never reached the server.
   */
  writeReturning(sql: string, params: readonly SqlParam[] = []): Promise<Row[]> {
    return this.call("unsent", true, (client) => client.rows(sql, params));
  }

  /** Reads on one pooled connection (may run again on another endpoint). */
  withConnection<T>(work: (session: SqlSession) => Promise<T>): Promise<T> {
    return this.call("safe", true, (client) => client.withConnection(work));
  }

  /** See `SqlClient.transaction`; a COMMIT without an answer fails with STORE_UNAVAILABLE and never runs again. */
  transaction<T>(work: (session: SqlSession) => Promise<T>): Promise<T> {
    return this.call("safe", true, (client) => client.transaction(work));
  }

  /** A connection of its own on the first healthy endpoint (migrations run there, once). */
  withDedicatedSession<T>(timeoutMs: number, work: (session: SqlSession) => Promise<T>): Promise<T> {
    return this.call("unsent", false, (client) => client.withDedicatedSession(timeoutMs, work));
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const endpoint of this.endpoints) clearTimeout(endpoint.probe);
    const clients = this.endpoints.flatMap((endpoint) =>
      endpoint.client === undefined ? [] : [endpoint.client],
    );
    await Promise.all(clients.map((client) => client.close()));
  }

  private isClosed(): boolean {
    return this.closed;
  }

  private async call<T>(
    retry: Retry,
    roundRobin: boolean,
    work: (client: SqlClient) => Promise<T>,
  ): Promise<T> {
    const order = this.candidates(roundRobin).slice(0, 2);
    let failure: unknown;
    for (const endpoint of order) {
      const client = endpoint.client;
      if (client === undefined) continue;
      try {
        const result = await work(client);
        this.markHealthy(endpoint);
        return result;
      } catch (error) {
        if (!isConnectionError(error)) throw error;
        this.markUnhealthy(endpoint, error);
        if (isOutcomeUnknown(error) || (retry === "unsent" && !wasNotSent(error))) throw error;
        failure = error;
      }
    }
    throw failure;
  }

  /** Healthy endpoints (round-robin or in order); with none, every opened endpoint as a last resort. */
  private candidates(roundRobin: boolean): Endpoint[] {
    const opened = this.endpoints.filter((endpoint) => endpoint.client !== undefined);
    const healthy = opened.filter((endpoint) => endpoint.healthy);
    const list = healthy.length > 0 ? healthy : opened;
    if (!roundRobin || list.length < 2) return list;
    const start = this.next++ % list.length;
    return [...list.slice(start), ...list.slice(0, start)];
  }

  private markHealthy(endpoint: Endpoint): void {
    if (endpoint.healthy) return;
    endpoint.healthy = true;
    endpoint.failures = 0;
    endpoint.lastError = undefined;
    clearTimeout(endpoint.probe);
    endpoint.probe = undefined;
  }

  private markUnhealthy(endpoint: Endpoint, error: unknown): void {
    endpoint.lastError = String(error);
    if (!endpoint.healthy) return;
    endpoint.healthy = false;
    endpoint.failures = 1;
    this.scheduleProbe(endpoint);
  }

  private scheduleProbe(endpoint: Endpoint): void {
    if (this.closed || endpoint.probe !== undefined) return;
    const ceiling = Math.min(
      this.options.probeMaxMs,
      FIRST_PROBE_MS * 2 ** Math.min(endpoint.failures - 1, 16),
    );
    const delay = ceiling * (0.5 + Math.random() / 2);
    endpoint.probe = setTimeout(() => {
      endpoint.probe = undefined;
      void this.probe(endpoint);
    }, delay);
    endpoint.probe.unref();
  }

  private async probe(endpoint: Endpoint): Promise<void> {
    if (this.closed || endpoint.healthy) return;
    try {
      if (endpoint.client === undefined) {
        const client = await SqlClient.open(endpoint.url, this.options);
        // close() may have run while this endpoint was connecting.
        if (this.isClosed()) {
          await client.close();
          return;
        }
        endpoint.client = client;
      } else {
        await endpoint.client.rows("SELECT 1 AS ok");
      }
      this.markHealthy(endpoint);
    } catch (error) {
      endpoint.failures++;
      endpoint.lastError = String(error);
      this.scheduleProbe(endpoint);
    }
  }
}

function redact(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== "") parsed.password = "***";
    return parsed.toString();
  } catch {
    return "(not a URL)";
  }
}
