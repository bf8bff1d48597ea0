import { connect, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rawRequest } from "./raw-http.js";
import { eventually, startTopology, tokenFor, type DomainNode, type Topology } from "./gateway-fixture.js";

interface Exchange {
  socket: Socket;
  /** Everything the server sent so far. */
  received(): string;
  /** Resolves when the server has closed the connection (or rejects after `timeoutMs`). */
  closed(timeoutMs?: number): Promise<string>;
}

/** A raw connection to the gateway: `bytes` are written as they are, nothing more unless the test writes it. */
async function open(port: number, bytes = ""): Promise<Exchange> {
  const socket = connect(port, "127.0.0.1");
  let text = "";
  const state = { ended: false };
  socket.on("data", (chunk: Buffer) => {
    text += chunk.toString("utf8");
  });
  socket.on("error", () => undefined);
  socket.once("close", () => {
    state.ended = true;
  });
  await new Promise<void>((resolve) => {
    socket.once("connect", resolve).once("close", resolve);
  });
  if (bytes !== "" && !state.ended) socket.write(bytes);
  return {
    socket,
    received: () => text,
    closed: (timeoutMs = 15_000) =>
      eventually(() => (state.ended ? text : undefined), "the server to close the connection", timeoutMs),
  };
}

/** The status and JSON body of a raw HTTP answer. */
function parse(answer: string): { status: number; body: unknown } {
  const [head = "", ...rest] = answer.split("\r\n\r\n");
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0);
  return { status, body: JSON.parse(rest.join("\r\n\r\n")) as unknown };
}

const PEER_HEADERS = `bmn-source-domain: a\r\nauthorization: Bearer ${tokenFor("a", "b")}\r\n`;

describe("the gateway's HTTP server bounds what a client can hold", () => {
  let topology: Topology;
  let b: DomainNode;

  beforeAll(async () => {
    topology = await startTopology(["a", "b"], [["a", "b"]], {
      perDomain: {
        b: {
          server: {
            requestTimeoutMs: 1_500,
            headersTimeoutMs: 1_000,
            keepAliveTimeoutMs: 500,
            maxConnections: 8,
          },
        },
      },
    });
    b = topology.node("b");
  });
  afterAll(async () => {
    await topology.close();
  });

  it("a body that never completes is timed out with 408 and {errorCode, message}, and the connection closed", async () => {
    const slow = await open(
      b.gatewayPort,
      `POST /v1/gateway/batches HTTP/1.1\r\nhost: x\r\n${PEER_HEADERS}content-type: application/json\r\ncontent-length: 1000\r\n\r\n{"messages":[`,
    );
    const answer = parse(await slow.closed());
    expect(answer.status).toBe(408);
    expect(answer.body).toMatchObject({
      errorCode: "REQUEST_TIMEOUT",
      message: expect.any(String) as unknown,
    });
  });

  it("headers that never complete are timed out too", async () => {
    const slow = await open(b.gatewayPort, "GET /healthz HTTP/1.1\r\nhost: x\r\nx-slow: 1\r\n");
    const answer = parse(await slow.closed());
    expect(answer.status).toBe(408);
    expect(answer.body).toMatchObject({ errorCode: "REQUEST_TIMEOUT" });
  });

  it("an idle keep-alive connection is closed", async () => {
    const idle = await open(b.gatewayPort, "GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n");
    const answer = await idle.closed();
    expect(answer).toMatch(/^HTTP\/1\.1 200/);
  });

  it.each([
    [
      "headers over the size limit",
      431,
      "HEADERS_TOO_LARGE",
      `GET /healthz HTTP/1.1\r\nhost: x\r\nx-big: ${"y".repeat(20_000)}\r\n\r\n`,
    ],
    [
      "a URL over the limit",
      414,
      "URI_TOO_LONG",
      `GET /v1/gateway/routes?${"q".repeat(3_000)} HTTP/1.1\r\nhost: x\r\n\r\n`,
    ],
    [
      "a content-length that is not a number",
      400,
      "BAD_REQUEST",
      `POST /v1/gateway/batches HTTP/1.1\r\nhost: x\r\ncontent-length: abc\r\n\r\n`,
    ],
    [
      "two content-lengths",
      400,
      "BAD_REQUEST",
      `POST /v1/gateway/batches HTTP/1.1\r\nhost: x\r\ncontent-length: 1\r\ncontent-length: 2\r\n\r\n{}`,
    ],
    ["a URL that does not decode", 400, "BAD_REQUEST", `GET /v1/gateway/%zz HTTP/1.1\r\nhost: x\r\n\r\n`],
    ["bytes that are not HTTP", 400, "BAD_REQUEST", "HELLO\r\n\r\n"],
  ])("%s answers %i with {errorCode, message}", async (_name, status, errorCode, request) => {
    const exchange = await open(b.gatewayPort, request);
    await eventually(() => (exchange.received().includes("}") ? true : undefined), "an answer");
    exchange.socket.destroy();
    const answer = parse(exchange.received());
    expect(answer.status).toBe(status);
    expect(answer.body).toEqual({ errorCode, message: expect.any(String) as unknown });
  });
});

describe("the gateway's connection cap", () => {
  let topology: Topology;
  let c: DomainNode;

  beforeAll(async () => {
    topology = await startTopology(["c"], [], { perDomain: { c: { server: { maxConnections: 4 } } } });
    c = topology.node("c");
  });
  afterAll(async () => {
    await topology.close();
  });

  it("caps open connections: one over the cap is closed at once, and the gateway serves again after", async () => {
    const held = await Promise.all(Array.from({ length: 4 }, () => open(c.gatewayPort)));
    await eventually(async () => {
      const count = await new Promise<number>((resolve) => {
        c.gateway?.server.server.getConnections((_error, connections) => {
          resolve(connections);
        });
      });
      return count === 4 ? true : undefined;
    }, "4 connections held");
    const extra = await open(c.gatewayPort, "GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n");
    expect(await extra.closed()).toBe("");
    for (const connection of held) connection.socket.destroy();
    const again = await eventually(
      () =>
        rawRequest(c.gatewayPort, "GET", "/healthz").then(
          (answer) => (answer.status === 200 ? answer : undefined),
          () => undefined,
        ),
      "served again",
    );
    expect(JSON.parse(again.text)).toMatchObject({ status: "ok" });
  });
});
