// The page's only data path: the sidecar's HTTP API, forwarded by the console under /api.
import type { SidecarTopology } from "../../core/api/topology-api.js";

export type {
  AgentRecord,
  DeadLetter,
  DeadLetterMove,
  QueuedMessage,
  QueueStats,
  TraceEvent,
} from "../../client/types.js";
export type Topology = SidecarTopology;

/** An error the API answered: `{errorCode, message, field?}`, or a network failure. */
export class ApiError extends Error {
  readonly status: number;
  readonly errorCode: string;

  constructor(status: number, errorCode: string, message: string) {
    super(message);
    this.status = status;
    this.errorCode = errorCode;
  }
}

const csrfToken = document.querySelector<HTMLMetaElement>('meta[name="bmn-csrf"]')?.content ?? "";

async function call(method: string, path: string, body?: unknown): Promise<Response> {
  // Every call carries it, reads too: a receive leases messages (see console/console-guard.ts).
  const headers: Record<string, string> = { accept: "application/json", "x-bmn-csrf": csrfToken };
  if (body !== undefined) headers["content-type"] = "application/json";
  const response = await fetch(`/api${path}`, {
    method,
    headers,
    credentials: "same-origin",
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  if (!response.ok) {
    const answer = (await response.json().catch(() => ({}))) as { errorCode?: string; message?: string };
    throw new ApiError(
      response.status,
      answer.errorCode ?? "HTTP_" + String(response.status),
      answer.message ?? response.statusText,
    );
  }
  return response;
}

export async function getJson<T>(path: string): Promise<T> {
  return (await (await call("GET", path)).json()) as T;
}

export async function getText(path: string): Promise<string> {
  return (await call("GET", path)).text();
}

export async function postJson<T>(path: string, body: unknown): Promise<T> {
  return (await (await call("POST", path, body)).json()) as T;
}

/** `?a=1&b=2` of the defined values, or "" when none. */
export function query(values: Record<string, string | number | undefined>): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(values))
    if (value !== undefined && value !== "") params.set(key, String(value));
  const text = params.toString();
  return text === "" ? "" : `?${text}`;
}

export const segment = encodeURIComponent;
