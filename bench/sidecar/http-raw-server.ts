/**
 * The http-raw peer: a bare `node:http` server with the same routes and answer shapes as the sidecar, each
 * doing one Redis command. Run in its own process (BMN_PORT, BMN_REDIS_URL), like the sidecar under test.
 *
 * - POST /v1/messages                      JSON.parse the body (for `to` and `id`), one XADD of the body as is
 *                                          → 202 {"id","duplicate":false}
 * - GET  /v1/agents/{agent}/messages?max=N one XREADGROUP COUNT N (no BLOCK: like wait=0) → 200 {"deliveries"}
 *                                          with each stored JSON spliced in unparsed
 * - POST /v1/deliveries/{leaseId}/ack      one XACK → 204
 * - GET  /readyz                           PING → 200
 *
 * One stream per agent with one consumer group, one auto-pipelined connection (like the store's command client).
 * Nothing else: no validation beyond JSON, no dedupe, leases, retries, traces, metrics or logging.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { Redis } from "ioredis";

const GROUP = "g";
const CONSUMER = "c1";
const port = Number(process.env.BMN_PORT);
const redis = new Redis(process.env.BMN_REDIS_URL ?? "redis://127.0.0.1:6379", {
  enableAutoPipelining: true,
});

const streamOf = (agent: string): string => `bench:http-raw:${agent}`;

/** One XGROUP CREATE per stream per process (cached), so steady state is one command per request. */
const groups = new Map<string, Promise<void>>();
function ensureGroup(stream: string): Promise<void> {
  let pending = groups.get(stream);
  if (pending === undefined) {
    pending = redis
      .xgroup("CREATE", stream, GROUP, "0", "MKSTREAM")
      .then(() => undefined)
      .catch((error: unknown) => {
        if (!(error instanceof Error && error.message.startsWith("BUSYGROUP"))) throw error;
      });
    groups.set(stream, pending);
  }
  return pending;
}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = "";
    request.setEncoding("utf8");
    request.on("data", (chunk: string) => (body += chunk));
    request.on("end", () => {
      resolve(body);
    });
    request.on("error", reject);
  });
}

function answer(response: ServerResponse, status: number, body?: string): void {
  if (body === undefined) {
    response.writeHead(status).end();
    return;
  }
  response.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(body),
  });
  response.end(body);
}

async function send(request: IncomingMessage, response: ServerResponse): Promise<void> {
  const body = await readBody(request);
  const message = JSON.parse(body) as { id?: unknown; to?: unknown };
  if (typeof message.to !== "string") {
    answer(response, 400, '{"errorCode":"INVALID_MESSAGE","message":"to is required","field":"to"}');
    return;
  }
  const stream = streamOf(message.to);
  await ensureGroup(stream);
  await redis.xadd(stream, "*", "m", body);
  answer(response, 202, JSON.stringify({ id: message.id, duplicate: false }));
}

async function receive(agent: string, max: number, response: ServerResponse): Promise<void> {
  const stream = streamOf(agent);
  await ensureGroup(stream);
  const reply = (await redis.xreadgroup("GROUP", GROUP, CONSUMER, "COUNT", max, "STREAMS", stream, ">")) as
    [string, [string, string[]][]][] | null;
  const deliveries = (reply?.[0]?.[1] ?? []).map(
    ([entryId, fields]) => `{"leaseId":"${agent}.${entryId}","attempt":1,"message":${fields[1] ?? "null"}}`,
  );
  answer(response, 200, `{"deliveries":[${deliveries.join(",")}]}`);
}

async function ack(leaseId: string, response: ServerResponse): Promise<void> {
  const dot = leaseId.indexOf(".");
  const acked = await redis.xack(streamOf(leaseId.slice(0, dot)), GROUP, leaseId.slice(dot + 1));
  if (acked === 1) answer(response, 204);
  else answer(response, 404, '{"errorCode":"LEASE_NOT_FOUND","message":"unknown lease"}');
}

async function route(request: IncomingMessage, response: ServerResponse): Promise<void> {
  const url = new URL(request.url ?? "/", "http://localhost");
  const parts = url.pathname.split("/");
  if (request.method === "POST" && url.pathname === "/v1/messages") return send(request, response);
  if (request.method === "GET" && parts.length === 5 && parts[2] === "agents" && parts[4] === "messages")
    return receive(parts[3] ?? "", Number(url.searchParams.get("max") ?? 1), response);
  if (request.method === "POST" && parts.length === 5 && parts[2] === "deliveries" && parts[4] === "ack")
    return ack(decodeURIComponent(parts[3] ?? ""), response);
  if (request.method === "GET" && url.pathname === "/readyz") {
    await redis.ping();
    answer(response, 200, '{"status":"ready"}');
    return;
  }
  answer(response, 404, '{"errorCode":"NOT_FOUND","message":"no such route"}');
}

const server = createServer((request, response) => {
  route(request, response).catch((error: unknown) => {
    answer(response, 500, JSON.stringify({ errorCode: "INTERNAL", message: String(error) }));
  });
});
server.keepAliveTimeout = 60_000;
server.listen(port, "127.0.0.1");

process.once("SIGTERM", () => {
  server.close();
  server.closeAllConnections();
  redis.disconnect();
  process.exit(0);
});
