import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AddressForbiddenError, guardedPost } from "../../sidecar/a2a/guarded-post.js";
import { isPrivateAddress } from "../../sidecar/a2a/push-url-policy.js";
import { answerEndlessly } from "../harness/endless-answer.js";

// Push notifications go to URLs an A2A client chose: the POST connects only where the policy allows (checked on
// the very addresses the socket uses, so DNS rebinding cannot slip in), and never reads an answer without bound.
describe("the guarded webhook POST", () => {
  let server: Server;
  let port: number;
  const received: string[] = [];
  let endlessClosed: Promise<void> = Promise.resolve();

  beforeAll(async () => {
    server = createServer((request: IncomingMessage, response: ServerResponse) => {
      let body = "";
      request.setEncoding("utf8");
      request.on("data", (chunk: string) => (body += chunk));
      request.on("end", () => {
        received.push(`${request.url ?? ""} ${body}`);
        if (request.url === "/endless") {
          endlessClosed = answerEndlessly(response);
          return;
        }
        response.writeHead(request.url === "/fail" ? 503 : 204).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const post = (path: string, allowAddress: (address: string) => boolean, headers = {}) =>
    guardedPost(`http://localhost:${String(port)}${path}`, {
      headers,
      body: `{"path":"${path}"}`,
      signal: AbortSignal.timeout(10_000),
      allowAddress,
      maxResponseBytes: 64 * 1024,
    });

  it("never connects when the name resolves to an address the policy refuses", async () => {
    const before = received.length;
    const refused = await post("/private", (address) => !isPrivateAddress(address)).catch(
      (error: unknown) => error,
    );
    expect(refused).toBeInstanceOf(AddressForbiddenError);
    expect((refused as AddressForbiddenError).address).toMatch(/^(127\.0\.0\.1|::1)$/);
    expect(received.length).toBe(before);
  });

  it("posts and answers the status where the policy allows", async () => {
    expect(await post("/ok", () => true)).toBe(204);
    expect(await post("/fail", () => true)).toBe(503);
    expect(received).toContain('/ok {"path":"/ok"}');
  });

  it("stops reading an answer past its bound and closes the connection", async () => {
    expect(await post("/endless", () => true)).toBe(200);
    await endlessClosed;
  });

  it("refuses a credential with a line break before sending anything", async () => {
    const before = received.length;
    await expect(post("/header", () => true, { authorization: "Bearer x\r\nx-evil: 1" })).rejects.toThrow();
    expect(received.length).toBe(before);
  });
});
