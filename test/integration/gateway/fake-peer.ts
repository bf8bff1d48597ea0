import http from "node:http";
import type { AddressInfo } from "node:net";
import type { AdvertisedRoute } from "../../../core/api/gateway-api.js";

/**
 * A peer gateway that lies: a real HTTP server speaking the inter-domain protocol, advertising whatever routes a
 * test sets and accepting every batch (recorded). Batches must be sent uncompressed (`compression: none`).
 */
export interface FakePeer {
  readonly domain: string;
  readonly url: string;
  routes: unknown[];
  readonly batches: { messages: { id: string }[] }[];
  close(): Promise<void>;
}

export async function startFakePeer(domain: string, routes: AdvertisedRoute[] = []): Promise<FakePeer> {
  const peer = {
    domain,
    url: "",
    routes: routes as unknown[],
    batches: [] as { messages: { id: string }[] }[],
    close: () => Promise.resolve(),
  };
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      response.setHeader("content-type", "application/json");
      if (request.method === "GET" && request.url === "/v1/gateway/routes") {
        response.end(JSON.stringify({ domain, routes: peer.routes }));
        return;
      }
      if (request.method === "POST" && request.url === "/v1/gateway/batches") {
        const batch = JSON.parse(Buffer.concat(chunks).toString("utf8")) as { messages: { id: string }[] };
        peer.batches.push(batch);
        response.end(
          JSON.stringify({
            results: batch.messages.map((message) => ({ id: message.id, status: "accepted" })),
          }),
        );
        return;
      }
      response.statusCode = 404;
      response.end(JSON.stringify({ errorCode: "NOT_FOUND", message: "no such route" }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  peer.url = `http://127.0.0.1:${String((server.address() as AddressInfo).port)}`;
  peer.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => {
        resolve();
      });
    });
  return peer;
}
