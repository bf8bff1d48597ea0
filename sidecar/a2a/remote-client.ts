import type { A2aRemoteConfig } from "../../core/a2a-config.js";
import type { AgentCard } from "../../core/api/a2a-api.js";
import { readBoundedText } from "../../runtime/http/read-bounded.js";
import { ShortCache } from "./short-cache.js";

/** A remote stream's bytes held while one event is incomplete, at most. */
const MAX_EVENT_BYTES = 8 * 1024 * 1024;
const HEADERS = { "content-type": "application/json", "a2a-version": "1.0" };

/** The remote refused the request for good (a JSON-RPC error): retrying would not help. */
export class RemoteRefusal extends Error {
  constructor(
    message: string,
    /** The JSON-RPC error code, when the remote answered one. */
    readonly code?: number,
  ) {
    super(message);
  }
}

interface RpcFrame {
  result?: unknown;
  error?: { code?: number; message?: string };
}

/** A card or a JSON-RPC answer is read this far at most: a remote cannot fill the sidecar's memory. */
const MAX_ANSWER_BYTES = 1024 * 1024;

/** The JSON of a remote's answer, read with a bound; a redirect is not followed (it could point anywhere). */
async function boundedJson(response: Response, what: string): Promise<unknown> {
  if (response.status >= 300 && response.status < 400) {
    await response.body?.cancel().catch(() => undefined);
    throw new Error(
      `${what}: a redirect (HTTP ${String(response.status)}), which the bridge does not follow`,
    );
  }
  return JSON.parse(await readBoundedText(response, MAX_ANSWER_BYTES)) as unknown;
}

/** Remote cards, shared by the open card routes and the bridge: a card is fetched once a minute at most. */
const remoteCards = new ShortCache<string, AgentCard>(60_000, 256);

/** The remote's card, as configured: the JSON-RPC endpoint is what the bridge calls. */
export function fetchRemoteCard(remote: A2aRemoteConfig, signal?: AbortSignal): Promise<AgentCard> {
  return remoteCards.get(remote.cardUrl, () => loadRemoteCard(remote, signal));
}

async function loadRemoteCard(remote: A2aRemoteConfig, signal?: AbortSignal): Promise<AgentCard> {
  const response = await fetch(remote.cardUrl, {
    headers: { accept: "application/json", "a2a-version": "1.0" },
    redirect: "manual",
    signal: signal ?? AbortSignal.timeout(10_000),
  });
  if (!response.ok && (response.status < 300 || response.status >= 400)) {
    await response.body?.cancel().catch(() => undefined);
    throw new Error(`agent card ${remote.cardUrl}: HTTP ${String(response.status)}`);
  }
  return (await boundedJson(response, `agent card ${remote.cardUrl}`)) as AgentCard;
}

/**
 * The JSON-RPC endpoint a card lists. It must be on the card's own origin: the operator configured where the remote
 * is, and a card (which the remote writes) cannot send the bridge's calls anywhere else, e.g. inside the cluster.
 */
export function jsonRpcUrl(card: AgentCard, cardUrl: string): string {
  const found = card.supportedInterfaces.find((entry) => entry.protocolBinding.toUpperCase() === "JSONRPC");
  if (found === undefined) throw new RemoteRefusal(`the agent card at ${cardUrl} lists no JSONRPC interface`);
  let origin: string;
  try {
    origin = new URL(found.url).origin;
  } catch {
    throw new RemoteRefusal(`the agent card at ${cardUrl} lists a JSONRPC URL that is no URL: ${found.url}`);
  }
  if (origin !== new URL(cardUrl).origin)
    throw new RemoteRefusal(
      `the agent card at ${cardUrl} lists its JSONRPC interface at ${found.url}, outside the card's origin`,
    );
  return found.url;
}

function refusal(what: string, error: NonNullable<RpcFrame["error"]>): RemoteRefusal {
  return new RemoteRefusal(`remote ${what}: ${error.message ?? ""} (${String(error.code)})`, error.code);
}

/**
 * One JSON-RPC call answered with JSON (CancelTask, CreateTaskPushNotificationConfig). A transport failure or an
 * HTTP error throws Error (worth retrying); a JSON-RPC error throws RemoteRefusal.
 */
export async function callRemote(
  url: string,
  id: string,
  method: string,
  params: unknown,
  signal: AbortSignal,
): Promise<unknown> {
  const response = await fetch(url, {
    method: "POST",
    headers: { ...HEADERS, accept: "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id, method, params }),
    redirect: "manual",
    signal,
  });
  // A JSON-RPC error may come with an HTTP error status; only a body without one is a transport failure.
  const body = (await boundedJson(response, `remote ${method}`).catch(() => undefined)) as
    RpcFrame | undefined;
  if (body?.error !== undefined) throw refusal(`refused ${method}`, body.error);
  if (!response.ok || body === undefined)
    throw new Error(`remote answered ${method} with HTTP ${String(response.status)}`);
  return body.result;
}

/**
 * A streaming call (SendStreamingMessage, SubscribeToTask): the results of the remote's stream, one at a time. A
 * JSON-RPC error (as the answer or in the stream) throws RemoteRefusal; anything else that goes wrong throws Error.
 */
export async function* streamRemote(
  url: string,
  id: string,
  method: "SendStreamingMessage" | "SubscribeToTask",
  params: unknown,
  signal: AbortSignal,
): AsyncGenerator {
  const response = await fetch(url, {
    method: "POST",
    headers: { ...HEADERS, accept: "text/event-stream" },
    body: JSON.stringify({ jsonrpc: "2.0", id, method, params }),
    redirect: "manual",
    signal,
  });
  if (!response.ok || response.body === null)
    throw new Error(`remote answered HTTP ${String(response.status)}`);
  if (!(response.headers.get("content-type") ?? "").startsWith("text/event-stream")) {
    const body = (await boundedJson(response, `remote ${method}`)) as RpcFrame;
    throw refusal("refused", body.error ?? { message: "no stream" });
  }
  for await (const frame of sseEvents(response.body)) {
    const rpc = frame as RpcFrame;
    if (rpc.error !== undefined) throw refusal("failed", rpc.error);
    if (rpc.result !== undefined) yield rpc.result;
  }
}

/** The SSE events of a response body, one parsed `data:` payload at a time. */
async function* sseEvents(body: ReadableStream<Uint8Array>): AsyncGenerator {
  const decoder = new TextDecoder();
  let buffer = "";
  for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true });
    if (buffer.length > MAX_EVENT_BYTES) throw new Error("the remote sent an SSE event over 8 MiB");
    for (let end = buffer.indexOf("\n\n"); end !== -1; end = buffer.indexOf("\n\n")) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const data = block
        .split("\n")
        .filter((line) => line.startsWith("data:"))
        .map((line) => line.slice(5).trimStart())
        .join("\n");
      if (data !== "") yield JSON.parse(data) as unknown;
    }
  }
}
