import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { BridgeMetrics } from "./bridge-metrics.js";

export interface BridgeServer {
  readonly url: string;
  close(): Promise<void>;
}

/**
 * The bridge's probe port: `/healthz` (the process runs), `/readyz` (both sides connected, via `ready()`) and
 * `/metrics` (Prometheus text). Nothing else is served, so it needs no token.
 */
export async function startBridgeServer(
  host: string,
  port: number,
  metrics: BridgeMetrics,
  ready: () => boolean,
): Promise<BridgeServer> {
  const server: Server = createServer((request, response) => {
    const path = (request.url ?? "/").split("?")[0];
    if (request.method !== "GET") {
      response.writeHead(405, { "content-type": "application/json" }).end(errorBody("METHOD_NOT_ALLOWED"));
    } else if (path === "/healthz") {
      response.writeHead(200, { "content-type": "application/json" }).end('{"status":"ok"}');
    } else if (path === "/readyz") {
      const isReady = ready();
      response
        .writeHead(isReady ? 200 : 503, { "content-type": "application/json" })
        .end(JSON.stringify({ status: isReady ? "ready" : "connecting" }));
    } else if (path === "/metrics") {
      metrics.registry.metrics().then(
        (text) => response.writeHead(200, { "content-type": metrics.registry.contentType }).end(text),
        () => response.writeHead(500).end(),
      );
    } else {
      response.writeHead(404, { "content-type": "application/json" }).end(errorBody("NOT_FOUND"));
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  return {
    url: `http://${host}:${address.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
        server.closeAllConnections();
      }),
  };
}

function errorBody(errorCode: string): string {
  return JSON.stringify({ errorCode, message: "the bridge serves GET /healthz, /readyz and /metrics only" });
}
