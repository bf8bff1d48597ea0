import { afterEach, describe, expect, it } from "vitest";
import { httpServerLimitsSchema } from "../../core/config.js";
import {
  createOperatorMetrics,
  startOperatorServer,
  type OperatorServer,
} from "../../operator/operator-server.js";
import { until } from "../harness/poll-until.js";
import { openRawSocket, type RawSocket } from "../harness/raw-socket.js";

/** The shared HTTP server limits (runtime/http/server-limits.ts), here on the operator's server. */
describe("operator HTTP server limits", () => {
  let server: OperatorServer | undefined;
  const sockets: RawSocket[] = [];
  afterEach(async () => {
    for (const raw of sockets.splice(0)) raw.socket.destroy();
    await server?.close();
  });

  const start = async (limits: Record<string, number>) => {
    server = await startOperatorServer({
      host: "127.0.0.1",
      port: 0,
      metrics: createOperatorMetrics(),
      notReadyReason: () => undefined,
      unhealthyReason: () => undefined,
      limits: httpServerLimitsSchema.parse(limits),
    });
    return `http://127.0.0.1:${String(server.port)}`;
  };

  it("closes a client that never finishes its headers", async () => {
    const url = await start({ headersTimeoutMs: 200, requestTimeoutMs: 400 });
    const slow = await openRawSocket(url, "GET /healthz HTTP/1.1\r\nHost: x\r\n");
    sockets.push(slow);
    await until(() => slow.isClosed(), 10_000, "the slow client to be closed", slow.received);
  });

  it("refuses connections past the cap", async () => {
    const url = await start({ maxConnections: 2 });
    sockets.push(await openRawSocket(url), await openRawSocket(url));
    const third = await openRawSocket(url, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    sockets.push(third);
    await until(() => third.isClosed(), 10_000, "the connection past the cap to be closed", third.received);
    expect(third.received()).toBe("");
  });
});
