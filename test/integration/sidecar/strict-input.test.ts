import { connect } from "node:net";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildServer } from "../../../sidecar/server/build-server.js";
import { InMemoryStore } from "../../../store/memory/memory-store.js";

interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  body: unknown;
}

/**
 * Sends bytes exactly as given (no client library fixes them up) and reads the answer until the server closes.
 * Node's own parser errors only show on a real socket, not through inject().
 */
function rawRequest(port: number, bytes: Buffer | string): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    const chunks: Buffer[] = [];
    socket.on("data", (chunk: Buffer) => chunks.push(chunk));
    socket.on("error", reject);
    socket.on("close", () => {
      const text = Buffer.concat(chunks).toString("utf8");
      const [head = "", ...rest] = text.split("\r\n\r\n");
      const [statusLine = "", ...lines] = head.split("\r\n");
      const headers = Object.fromEntries(
        lines.map((line) => [
          line.slice(0, line.indexOf(":")).toLowerCase(),
          line.slice(line.indexOf(":") + 1).trim(),
        ]),
      );
      const bodyText = rest.join("\r\n\r\n");
      let body: unknown = bodyText;
      try {
        body = JSON.parse(bodyText);
      } catch {
        // not JSON: compared as text
      }
      resolve({ status: Number(statusLine.split(" ")[1]), headers, body });
    });
    socket.write(bytes);
  });
}

function post(path: string, body: Buffer | string, headers: Record<string, string> = {}): Buffer {
  const payload = Buffer.isBuffer(body) ? body : Buffer.from(body);
  const lines = Object.entries({
    host: "localhost",
    "content-type": "application/json",
    "content-length": String(payload.length),
    connection: "close",
    ...headers,
  }).map(([name, value]) => `${name}: ${value}`);
  return Buffer.concat([
    Buffer.from(`POST ${path} HTTP/1.1\r\n${lines.join("\r\n")}\r\n\r\n`, "latin1"),
    payload,
  ]);
}

const get = (path: string, extra = ""): string =>
  `GET ${path} HTTP/1.1\r\nhost: localhost\r\n${extra}connection: close\r\n\r\n`;

describe("strict input: bad bytes, control characters and non-decimal numbers are refused with {errorCode, message}", () => {
  let app: FastifyInstance;
  let port: number;
  const store = new InMemoryStore();

  beforeAll(async () => {
    app = await buildServer({ store, config: { logLevel: "silent" }, logger: false });
    await app.listen({ port: 0, host: "127.0.0.1" });
    port = (app.server.address() as { port: number }).port;
  });
  afterAll(async () => {
    await app.close();
  });

  const depthOf = async (agent: string): Promise<number> => (await store.queueStats(agent)).depth;

  it("answers 400 INVALID_JSON to a JSON body that is not valid UTF-8, and queues nothing", async () => {
    const body = Buffer.concat([
      Buffer.from('{"type":"t'),
      Buffer.from([0xff, 0xfe]),
      Buffer.from('","to":"utf"}'),
    ]);
    const answer = await rawRequest(port, post("/v1/messages", body));
    expect(answer.status).toBe(400);
    expect(answer.body).toMatchObject({ errorCode: "INVALID_JSON" });
    expect(await depthOf("utf")).toBe(0);
  });

  it.each([
    ["type", { type: "t\u0000x", to: "ctl" }],
    ["type", { type: "t\u001b[31mred", to: "ctl" }],
    ["source", { type: "t", source: "s\u0000", to: "ctl" }],
    ["subject", { type: "t", subject: "a\nb", to: "ctl" }],
    ["correlationid", { type: "t", correlationid: "c\u007f", to: "ctl" }],
    ["myext", { type: "t", myext: "x\u0085", to: "ctl" }],
    ["from", { type: "t", from: "a\u0000", to: "ctl" }],
  ])("refuses a control character in %s", async (field, message) => {
    const answer = await rawRequest(port, post("/v1/messages", JSON.stringify(message)));
    expect(answer.status).toBe(400);
    expect(answer.body).toMatchObject({ errorCode: expect.stringMatching(/^INVALID_/) as unknown, field });
    expect(await depthOf("ctl")).toBe(0);
  });

  it("refuses a control character in a binary-mode header attribute and in a nack reason", async () => {
    const binary = await rawRequest(
      port,
      post("/v1/messages", "x", { "ce-type": "a\tb", "ce-to": "ctl", "content-type": "text/plain" }),
    );
    expect(binary.status).toBe(400);
    expect(binary.body).toMatchObject({ errorCode: "INVALID_MESSAGE", field: "ce-type" });
    expect(await depthOf("ctl")).toBe(0);
    const nack = await app.inject({
      method: "POST",
      url: "/v1/deliveries/ctl.x.1/nack",
      payload: { reason: "bad\u001b]0;title\u0007" },
    });
    expect(nack.statusCode).toBe(400);
    expect(nack.json()).toMatchObject({ errorCode: "INVALID_ARGUMENT", field: "reason" });
  });

  it.each(["0x10", "1e1", "+5", " 5", "5 ", "0b1", "Infinity", "5.", ".5", "-1", ""])(
    "refuses the query number %j",
    async (value) => {
      const answer = await rawRequest(port, get(`/v1/agents/nums/messages?max=${encodeURIComponent(value)}`));
      expect(answer.status).toBe(400);
      expect(answer.body).toMatchObject({ errorCode: "INVALID_ARGUMENT", field: "max" });
    },
  );

  it("takes plain decimal numbers in queries", async () => {
    const answer = await rawRequest(port, get("/v1/agents/nums/messages?max=10&wait=0.5&lease=30"));
    expect(answer.status).toBe(200);
  });

  it.each(["0x5", "5e0", "+5", "5.0", "five"])("refuses the ce-priority header %j", async (value) => {
    const answer = await rawRequest(
      port,
      post("/v1/messages", "x", {
        "ce-type": "t",
        "ce-to": "prio",
        "ce-priority": value,
        "content-type": "text/plain",
      }),
    );
    expect(answer.status).toBe(400);
    expect(answer.body).toMatchObject({ errorCode: "INVALID_MESSAGE", field: "ce-priority" });
    expect(await depthOf("prio")).toBe(0);
  });

  it("refuses a non-decimal savepoint and DLQ limit", async () => {
    const tx = (await app.inject({ method: "POST", url: "/v1/transactions" })).json<{ id: string }>().id;
    const savepoint = await app.inject({
      method: "POST",
      url: `/v1/transactions/${tx}/savepoints/0x0/rollback`,
    });
    expect(savepoint.statusCode).toBe(400);
    expect(savepoint.json()).toMatchObject({ errorCode: "INVALID_ARGUMENT", field: "savepoint" });
    const dlq = await app.inject({ url: "/v1/dlq?limit=1e2" });
    expect(dlq.statusCode).toBe(400);
    expect(dlq.json()).toMatchObject({ errorCode: "INVALID_ARGUMENT", field: "limit" });
  });

  it.each([
    ["an unknown route", get("/v1/nope"), 404, "NOT_FOUND"],
    [
      "a method the path does not serve",
      "PATCH /v1/queues HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
      405,
      "METHOD_NOT_ALLOWED",
    ],
    ["a body over the limit", post("/v1/messages", Buffer.alloc(2 * 1024 * 1024, 0x20)), 413, "TOO_LARGE"],
    ["a path segment over the limit", get(`/v1/messages/${"a".repeat(600)}/trace`), 414, "URI_TOO_LONG"],
    [
      "an unsupported content type",
      post("/v1/messages", "{}", { "content-type": "text/plain" }),
      415,
      "UNSUPPORTED_MEDIA_TYPE",
    ],
    ["headers over the limit", get("/healthz", `x-big: ${"a".repeat(20_000)}\r\n`), 431, "HEADERS_TOO_LARGE"],
    ["a URL that is not percent-encoded UTF-8", get("/v1/agents/%E0%A4%A/stats"), 400, "BAD_REQUEST"],
    [
      "a hexadecimal Content-Length",
      "POST /v1/messages HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 0x2\r\n\r\n{}",
      400,
      "BAD_REQUEST",
    ],
    [
      "two Content-Lengths",
      "POST /v1/messages HTTP/1.1\r\nhost: x\r\ncontent-length: 2\r\ncontent-length: 3\r\n\r\n{}",
      400,
      "BAD_REQUEST",
    ],
    ["a method that is not HTTP", "BREW /healthz HTTP/1.1\r\nhost: x\r\n\r\n", 400, "BAD_REQUEST"],
    ["a JSON syntax error", post("/v1/messages", '{"type":'), 400, "INVALID_JSON"],
  ])("answers %s with {errorCode, message}", async (_label, request, status, errorCode) => {
    const answer = await rawRequest(port, request);
    expect(answer.status).toBe(status);
    expect(answer.headers["content-type"]).toMatch(/^application\/json/);
    expect(answer.body).toMatchObject({ errorCode, message: expect.any(String) as unknown });
    expect(
      Object.keys(answer.body as object).filter((key) => !["errorCode", "message", "field"].includes(key)),
    ).toEqual([]);
    if (status === 405) expect(answer.headers.allow).toBe("GET");
  });

  it("settles the lease of a 63-character agent name (a long lease id is not a long URL)", async () => {
    const agent = "a".repeat(63);
    await store.enqueue(agent, { specversion: "1.0", id: "m".repeat(128), source: "s", type: "t" } as never);
    const [delivery] = await store.receive(agent, { max: 1 });
    expect(delivery).toBeDefined();
    const ack = await app.inject({
      method: "POST",
      url: `/v1/deliveries/${encodeURIComponent(delivery?.leaseId ?? "")}/ack`,
    });
    expect(ack.statusCode).toBe(204);
    const trace = await app.inject({ url: `/v1/messages/${"m".repeat(128)}/trace` });
    expect(trace.statusCode).toBe(200);
  });
});
