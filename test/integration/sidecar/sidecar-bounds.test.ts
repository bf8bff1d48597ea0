import { afterAll, describe, expect, it } from "vitest";
import type { WebSocket } from "ws";
import { loadConfig } from "../../../runtime/config/load-config.js";
import { SLOW_CONSUMER_CLOSE_CODE } from "../../../sidecar/server/stream-limits.js";
import { startSidecar, type RunningSidecar } from "../../../sidecar/start-sidecar.js";
import { until } from "../../harness/poll-until.js";
import { openRawSocket, type RawSocket } from "../../harness/raw-socket.js";
import { openRawStream } from "./raw-stream.js";
import { http } from "./sidecar-fixture.js";

/** Every per-client resource of the sidecar is bounded: sockets, slow bodies, stream buffers, limiter slots. */
describe("sidecar bounds", () => {
  const running: RunningSidecar[] = [];
  const sockets: RawSocket[] = [];
  const start = async (overrides: Record<string, unknown>) => {
    const sidecar = await startSidecar(loadConfig({ port: 0, logLevel: "silent", ...overrides }, {}), {
      logger: false,
    });
    running.push(sidecar);
    return sidecar;
  };
  afterAll(async () => {
    for (const raw of sockets) raw.socket.destroy();
    await Promise.allSettled(running.map((sidecar) => sidecar.close()));
  });

  it("cuts off a request whose body never finishes, and one whose headers never do", async () => {
    const sidecar = await start({ server: { limits: { requestTimeoutMs: 600, headersTimeoutMs: 300 } } });
    const slowBody = await openRawSocket(
      sidecar.url,
      "POST /v1/messages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{",
    );
    const slowHeaders = await openRawSocket(sidecar.url, "GET /healthz HTTP/1.1\r\nHost: x\r\n");
    sockets.push(slowBody, slowHeaders);
    await until(() => slowBody.isClosed(), 15_000, "the slow body to be cut off", slowBody.received);
    await until(() => slowHeaders.isClosed(), 15_000, "the slow headers to be cut off", slowHeaders.received);
    expect((await http(sidecar.url, "GET", "/healthz")).status).toBe(200);
  });

  it("refuses connections past the cap and serves again once one closes", async () => {
    const sidecar = await start({ server: { limits: { maxConnections: 2 } } });
    const held = [await openRawSocket(sidecar.url), await openRawSocket(sidecar.url)];
    sockets.push(...held);
    const third = await openRawSocket(sidecar.url, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    sockets.push(third);
    await until(() => third.isClosed(), 10_000, "the connection past the cap to be closed", third.received);
    held[0]?.socket.destroy();
    const fourth = await until(
      async () => {
        const raw = await openRawSocket(
          sidecar.url,
          "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        );
        sockets.push(raw);
        await until(() => raw.isClosed(), 10_000, "an answer");
        return raw.received().startsWith("HTTP/1.1 200") ? raw : undefined;
      },
      10_000,
      "a connection to be served once one slot is free",
    );
    expect(fourth.received()).toContain('"status":"ok"');
  });

  it("closes the socket of a WebSocket upgrade it refuses", async () => {
    const sidecar = await start({ agents: ["alice"] });
    const upgrade = await openRawSocket(
      sidecar.url,
      "GET /v1/agents/bob/stream HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    );
    sockets.push(upgrade);
    await until(
      () => upgrade.isClosed(),
      10_000,
      "the refused upgrade's socket to be closed",
      upgrade.received,
    );
    expect(upgrade.received()).toMatch(/^HTTP\/1.1 403/);
  });

  it("pending request/reply calls do not use up the in-flight limit", async () => {
    const sidecar = await start({ limits: { maxInFlight: 1, maxQueued: 0 } });
    const abort = new AbortController();
    const pending = fetch(`${sidecar.url}/v1/requests?timeout=60`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ to: "responder", type: "question" }),
      signal: abort.signal,
    }).catch(() => undefined);
    await until(
      async () =>
        (await http<{ depth: number }>(sidecar.url, "GET", "/v1/agents/responder/stats")).body.depth === 1,
      10_000,
      "the request to be waiting for its reply",
    );
    for (let index = 0; index < 3; index += 1) {
      expect(
        (await http(sidecar.url, "POST", "/v1/messages", { json: { to: "other", type: "t" } })).status,
      ).toBe(202);
    }
    abort.abort();
    await pending;
  });

  it("closes a WebSocket client that does not read with 4008 slow consumer, releasing its leases", async () => {
    const sidecar = await start({ server: { maxStreamBufferedBytes: 65_536 } });
    const data = "x".repeat(60_000);
    const count = 400;
    for (let index = 0; index < count; index += 1) {
      expect(
        (await http(sidecar.url, "POST", "/v1/messages", { json: { to: "sloth", type: "t", data } })).status,
      ).toBe(202);
    }
    const stream = openRawStream(`${sidecar.url.replace("http", "ws")}/v1/agents/sloth/stream`);
    expect(await stream.refused).toBeUndefined();
    // ws keeps its TCP socket private; pausing it is how a client that stops reading looks to the server.
    const tcp = (stream.socket as WebSocket & { _socket: { pause(): void; resume(): void } })._socket;
    tcp.pause();
    stream.socket.send(JSON.stringify({ type: "credit", n: 1_000 }));
    const metrics = () => fetch(`${sidecar.url}/metrics`).then((response) => response.text());
    await until(
      async () =>
        (await metrics()).includes(`bmn_streams_closed_total{code="${String(SLOW_CONSUMER_CLOSE_CODE)}"} 1`),
      30_000,
      "the sidecar to close the slow consumer",
      async () =>
        (await metrics())
          .split("\n")
          .filter((line) => line.startsWith("bmn_streams"))
          .join("; "),
    );
    tcp.resume();
    const closed = await stream.closed;
    expect(closed.code).toBe(SLOW_CONSUMER_CLOSE_CODE);
    expect(closed.reason).toMatch(/slow consumer/);
    expect(stream.frames.length).toBeLessThan(count);
    await until(
      async () =>
        (await http<{ inFlight: number; depth: number }>(sidecar.url, "GET", "/v1/agents/sloth/stats")).body
          .inFlight === 0,
      15_000,
      "the slow consumer's leases to be released",
    );
  });

  it("rate-limits error replies on a WebSocket", async () => {
    const sidecar = await start({});
    await http(sidecar.url, "POST", "/v1/messages", { json: { to: "noisy", type: "t" } });
    const stream = openRawStream(`${sidecar.url.replace("http", "ws")}/v1/agents/noisy/stream`);
    expect(await stream.refused).toBeUndefined();
    const bad = 300;
    for (let index = 0; index < bad; index += 1) stream.socket.send("not json");
    stream.socket.send(JSON.stringify({ type: "credit", n: 1 }));
    // The delivery is pushed after every bad frame was handled.
    await until(
      () => stream.frames.some((frame) => frame.type === "delivery"),
      10_000,
      "the delivery after the bad frames",
    );
    const errors = stream.frames.filter((frame) => frame.type === "error").length;
    expect(errors).toBeGreaterThan(0);
    expect(errors).toBeLessThan(bad);
    stream.socket.close();
    await stream.closed;
  });
});
