import { BmnClientError, ClientTimeoutError, SidecarUnreachableError } from "./errors.js";
import type { HttpEvent } from "./types.js";

export type QueryValue = string | number | boolean | undefined;

export interface CallOptions {
  query?: Record<string, QueryValue> | undefined;
  body?: unknown;
  signal?: AbortSignal | undefined;
  /** Overrides the transport's timeout for this call (long polls and request/reply wait longer). */
  timeoutMs?: number | undefined;
}

export interface TransportOptions {
  baseUrl: string;
  timeoutMs: number;
  fetch: typeof fetch;
  onHttp?: ((event: HttpEvent) => void) | undefined;
  /** Sent as `Authorization: Bearer <token>` on every call. */
  apiToken?: string | undefined;
}

/** The one place that speaks HTTP: JSON in, JSON out, the sidecar's error body turned into BmnClientError. */
export class HttpTransport {
  readonly baseUrl: string;

  constructor(private readonly options: TransportOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, "");
  }

  get timeoutMs(): number {
    return this.options.timeoutMs;
  }

  /** Resolves with the parsed JSON body, or `undefined` for 204. */
  async call<T>(method: string, path: string, options: CallOptions = {}): Promise<T> {
    const url = this.urlFor(path, options.query);
    const timeoutMs = options.timeoutMs ?? this.options.timeoutMs;
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = options.signal === undefined ? timeout : AbortSignal.any([options.signal, timeout]);
    const body = options.body === undefined ? undefined : JSON.stringify(options.body);
    const headers: Record<string, string> = { accept: "application/json" };
    if (body !== undefined) headers["content-type"] = "application/json";
    if (this.options.apiToken !== undefined) headers.authorization = `Bearer ${this.options.apiToken}`;
    const started = performance.now();
    const report = (event: Partial<HttpEvent>): void => {
      this.options.onHttp?.({
        method,
        url,
        ...(body === undefined ? {} : { requestBytes: Buffer.byteLength(body) }),
        ...event,
      });
    };
    report({});

    let response: Response;
    let text: string;
    try {
      response = await this.options.fetch(url, {
        method,
        headers,
        signal,
        ...(body === undefined ? {} : { body }),
      });
      text = await response.text();
    } catch (error) {
      const durationMs = Math.round(performance.now() - started);
      if (options.signal?.aborted === true) {
        report({ durationMs, error: "aborted" });
        throw options.signal.reason;
      }
      if (timeout.aborted) {
        report({ durationMs, error: `timed out after ${timeoutMs} ms` });
        throw new ClientTimeoutError(this.baseUrl, timeoutMs);
      }
      const unreachable = new SidecarUnreachableError(this.baseUrl, error);
      report({ durationMs, error: unreachable.message });
      throw unreachable;
    }
    report({ status: response.status, durationMs: Math.round(performance.now() - started) });

    if (response.ok) {
      if (response.status === 204 || text === "") return undefined as T;
      try {
        return JSON.parse(text) as T;
      } catch (cause) {
        throw new BmnClientError(
          "UNEXPECTED_RESPONSE",
          `${method} ${url} answered ${response.status} with a body that is not JSON`,
          { status: response.status, cause },
        );
      }
    }
    throw errorFromResponse(method, url, response, text);
  }

  private urlFor(path: string, query: Record<string, QueryValue> | undefined): string {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query ?? {})) {
      if (value !== undefined) params.set(key, String(value));
    }
    const search = params.toString();
    return `${this.baseUrl}${path}${search === "" ? "" : `?${search}`}`;
  }
}

interface ErrorBody {
  errorCode?: unknown;
  message?: unknown;
  field?: unknown;
}

function errorFromResponse(method: string, url: string, response: Response, text: string): BmnClientError {
  const retryAfterHeader = response.headers.get("retry-after");
  const retryAfter = retryAfterHeader === null ? Number.NaN : Number(retryAfterHeader);
  const retryAfterSeconds = Number.isFinite(retryAfter) ? retryAfter : undefined;
  let body: ErrorBody | undefined;
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed === "object" && parsed !== null) body = parsed;
  } catch {
    body = undefined;
  }
  if (body !== undefined && typeof body.errorCode === "string") {
    return new BmnClientError(
      body.errorCode,
      typeof body.message === "string" ? body.message : `${method} ${url} failed with ${body.errorCode}`,
      {
        status: response.status,
        field: typeof body.field === "string" ? body.field : undefined,
        retryAfterSeconds,
      },
    );
  }
  const excerpt = text.trim().slice(0, 120).replace(/\s+/g, " ");
  return new BmnClientError(
    "UNEXPECTED_RESPONSE",
    `${method} ${url} answered ${response.status} ${response.statusText} without a BMN error body` +
      (excerpt === "" ? "" : `: ${excerpt}`) +
      "; is this URL a BMN sidecar?",
    { status: response.status, retryAfterSeconds },
  );
}
