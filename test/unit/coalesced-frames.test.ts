import { createServer, type Server } from "node:http";
import type { Socket } from "node:net";
import { once } from "node:events";
import { afterEach, describe, expect, it } from "vitest";
import { WebSocket, WebSocketServer } from "ws";
import { CoalescedFrames } from "../../sidecar/server/coalesced-frames.js";

/** A real WebSocket pair over loopback; the server side hands out its socket and the TCP socket under it. */
async function connectedPair(): Promise<{
  server: Server;
  serverSocket: WebSocket;
  tcp: Socket;
  client: WebSocket;
}> {
  const server = createServer();
  const wss = new WebSocketServer({ noServer: true });
  const accepted = new Promise<{ serverSocket: WebSocket; tcp: Socket }>((resolve) => {
    server.on("upgrade", (request, tcp: Socket, head) => {
      wss.handleUpgrade(request, tcp, head, (serverSocket) => {
        resolve({ serverSocket, tcp });
      });
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("no port");
  const client = new WebSocket(`ws://127.0.0.1:${address.port}`);
  const [{ serverSocket, tcp }] = await Promise.all([accepted, once(client, "open")]);
  return { server, serverSocket, tcp, client };
}

describe("CoalescedFrames", () => {
  const cleanups: (() => void)[] = [];
  afterEach(() => {
    for (const cleanup of cleanups.splice(0)) cleanup();
  });

  it("holds the frames of one tick in the TCP socket and writes them together on the next tick, in order", async () => {
    const { server, serverSocket, tcp, client } = await connectedPair();
    cleanups.push(() => {
      client.terminate();
      server.close();
    });
    const received: unknown[] = [];
    const allThree = new Promise<void>((resolve) => {
      client.on("message", (data: Buffer) => {
        received.push(JSON.parse(data.toString("utf8")));
        if (received.length === 3) resolve();
      });
    });
    const frames = new CoalescedFrames(serverSocket, tcp);
    for (let n = 1; n <= 3; n++) frames.send({ type: "delivery", n });
    // Nothing has left yet: the socket is corked and holds all three frames.
    expect(tcp.writableCorked).toBe(1);
    expect(tcp.writableLength).toBeGreaterThan(0);
    await new Promise<void>((resolve) => {
      process.nextTick(resolve);
    });
    expect(tcp.writableCorked).toBe(0);
    await allThree;
    expect(received).toEqual([1, 2, 3].map((n) => ({ type: "delivery", n })));
  });

  it("sends nothing once the WebSocket is closed", async () => {
    const { server, serverSocket, tcp, client } = await connectedPair();
    cleanups.push(() => {
      server.close();
    });
    client.close();
    await once(serverSocket, "close");
    new CoalescedFrames(serverSocket, tcp).send({ type: "late" });
    expect(tcp.writableCorked).toBe(0);
  });
});
