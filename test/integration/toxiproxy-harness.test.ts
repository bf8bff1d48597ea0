import { createServer as createHttpServer, type Server as HttpServer } from "node:http";
import { connect, createServer, type Server, type Socket } from "node:net";
import { performance } from "node:perf_hooks";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ToxiproxyServer, type FaultyLink } from "../harness/toxiproxy.js";

// A real toxiproxy-server in front of a real TCP echo server and a real HTTP server on loopback.

let toxiproxy: ToxiproxyServer;
let echo: Server;
let echoAddress: string;
let http: HttpServer;
let httpAddress: string;
const sockets = new Set<Socket>();
const links: FaultyLink[] = [];

beforeAll(async () => {
  toxiproxy = await ToxiproxyServer.start();
  echo = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => undefined);
    socket.pipe(socket);
  });
  echoAddress = await listen(echo);
  http = createHttpServer((request, response) => {
    request.resume();
    request.on("end", () => response.end(`hello ${request.url ?? ""}`));
  });
  httpAddress = await listen(http);
});

afterEach(async () => {
  for (const link of links.splice(0)) await link.remove();
});

afterAll(async () => {
  await toxiproxy.stop();
  for (const socket of sockets) socket.destroy();
  http.closeAllConnections();
  await Promise.all([close(echo), close(http)]);
});

async function newLink(upstream = echoAddress): Promise<FaultyLink> {
  const link = await toxiproxy.createLink(upstream);
  links.push(link);
  return link;
}

interface RoundTrip {
  data: Buffer;
  elapsedMs: number;
  /** How many 'data' events the reply arrived in. */
  chunks: number;
}

/** Connects, sends `payload`, and resolves once the whole echo came back; rejects on any error or early close. */
function roundTrip(link: FaultyLink, payload: Buffer, timeoutMs = 10_000): Promise<RoundTrip> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const received: Buffer[] = [];
    let length = 0;
    const socket = connect(link.port, link.host, () => socket.write(payload));
    socket.setTimeout(timeoutMs, () => {
      socket.destroy();
      reject(new Error(`no complete echo within ${timeoutMs} ms (got ${length} bytes)`));
    });
    socket.on("data", (chunk) => {
      received.push(chunk);
      length += chunk.length;
      if (length >= payload.length) {
        socket.destroy();
        resolve({
          data: Buffer.concat(received),
          elapsedMs: performance.now() - started,
          chunks: received.length,
        });
      }
    });
    socket.on("error", reject);
    socket.on("close", () => {
      reject(new Error(`closed after ${length} of ${payload.length} bytes`));
    });
  });
}

function payloadOf(bytes: number): Buffer {
  return Buffer.from(Array.from({ length: bytes }, (_, index) => index % 251));
}

describe("toxiproxy harness", () => {
  it("forwards TCP traffic unchanged to the upstream on a loopback port of its own", async () => {
    const link = await newLink();
    expect(link.host).toBe("127.0.0.1");
    expect(link.port).toBeGreaterThan(0);
    expect(link.upstream).toBe(echoAddress);
    const payload = payloadOf(256 * 1024);
    expect((await roundTrip(link, payload)).data.equals(payload)).toBe(true);
  });

  it("cut refuses connections and heal lets them through again on the same port", async () => {
    const link = await newLink();
    const payload = payloadOf(1024);
    await roundTrip(link, payload);

    await link.cut();
    expect(link.enabled).toBe(false);
    await expect(roundTrip(link, payload)).rejects.toMatchObject({ code: "ECONNREFUSED" });

    await link.heal();
    expect(link.enabled).toBe(true);
    expect((await roundTrip(link, payload)).data.equals(payload)).toBe(true);
  });

  it("cut closes connections that are open at the time", async () => {
    const link = await newLink();
    const socket = connect(link.port, link.host);
    await new Promise((resolve) => socket.once("connect", resolve));
    const closed = new Promise((resolve) => socket.once("close", resolve));
    socket.on("error", () => undefined);
    await link.cut();
    await closed;
    await link.heal();
  });

  it("blackhole accepts connections but passes no data until healed, then closes them", async () => {
    const link = await newLink();
    const payload = payloadOf(1024);
    await link.blackhole();
    const socket = connect(link.port, link.host);
    socket.on("error", () => undefined);
    let echoed = 0;
    socket.on("data", (chunk) => (echoed += chunk.length));
    const closed = new Promise((resolve) => socket.once("close", resolve));
    await new Promise((resolve) => socket.once("connect", resolve));
    socket.write(payload);
    await expect(roundTrip(link, payload, 300)).rejects.toThrow(/no complete echo within 300 ms/);

    await link.heal();
    expect(await link.toxicNames()).toEqual([]);
    await closed;
    expect(echoed).toBe(0);
    expect((await roundTrip(link, payload)).data.equals(payload)).toBe(true);
  });

  it("latency delays the reply by at least the latency", async () => {
    const link = await newLink();
    const toxic = await link.latency(200);
    expect(toxic.type).toBe("latency");
    const delayed = await roundTrip(link, payloadOf(100));
    expect(delayed.elapsedMs).toBeGreaterThanOrEqual(200);

    await toxic.remove();
    const [up, down] = await link.latencyBothWays(150, 10);
    expect(up?.name).toBe("latency_upstream");
    expect(down?.name).toBe("latency_downstream");
    // 150 ± 10 each way.
    expect((await roundTrip(link, payloadOf(100))).elapsedMs).toBeGreaterThanOrEqual(280);
  });

  it("reset_peer resets the connection with a TCP RST, and removing it lets traffic through", async () => {
    const link = await newLink();
    const toxic = await link.resetPeer();
    await expect(roundTrip(link, payloadOf(1024))).rejects.toMatchObject({ code: "ECONNRESET" });
    await toxic.remove();
    await roundTrip(link, payloadOf(1024));
  });

  it("slicer delivers the data intact in many small pieces", async () => {
    const link = await newLink();
    await link.slicer(100, 0, 2_000);
    const payload = payloadOf(10_000);
    const reply = await roundTrip(link, payload);
    expect(reply.data.equals(payload)).toBe(true);
    expect(reply.chunks).toBeGreaterThanOrEqual(10);
  });

  it("bandwidth limits throughput", async () => {
    const link = await newLink();
    await link.bandwidth(32); // KB/s, downstream
    const payload = payloadOf(32 * 1024);
    const reply = await roundTrip(link, payload);
    expect(reply.data.equals(payload)).toBe(true);
    expect(reply.elapsedMs).toBeGreaterThanOrEqual(500);
  });

  it("packetLoss breaks a share of connections and adds latency; removeToxics restores the link", async () => {
    const link = await newLink();
    const toxics = await link.packetLoss({ lossRate: 0.5, latencyMs: 10 });
    expect(toxics.map((toxic) => toxic.type).sort()).toEqual([
      "latency",
      "latency",
      "reset_peer",
      "reset_peer",
    ]);
    const results = await Promise.allSettled(
      Array.from({ length: 40 }, () => roundTrip(link, payloadOf(64))),
    );
    const failed = results.filter((result) => result.status === "rejected").length;
    const passed = results.filter((result) => result.status === "fulfilled");
    // Each connection passes only if neither direction's 50 % toxic fires: 25 % pass on average.
    expect(failed).toBeGreaterThan(0);
    expect(passed.length).toBeGreaterThan(0);
    for (const result of passed) expect(result.value.elapsedMs).toBeGreaterThanOrEqual(20);

    await link.removeToxics();
    expect(await link.toxicNames()).toEqual([]);
    const after = await Promise.allSettled(Array.from({ length: 20 }, () => roundTrip(link, payloadOf(64))));
    expect(after.every((result) => result.status === "fulfilled")).toBe(true);
  });

  it("carries HTTP; a cut makes requests fail and heal makes them succeed again", async () => {
    const link = await newLink(httpAddress);
    const get = async (path: string): Promise<string> => {
      const response = await fetch(`${link.url}${path}`, { signal: AbortSignal.timeout(5_000) });
      return response.text();
    };
    expect(await get("/one")).toBe("hello /one");
    await link.cut();
    await expect(get("/two")).rejects.toThrow();
    await link.heal();
    expect(await get("/three")).toBe("hello /three");
  });
});

async function listen(server: Server | HttpServer): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("server has no TCP address");
  return `127.0.0.1:${address.port}`;
}

async function close(server: Server | HttpServer): Promise<void> {
  await new Promise<void>((resolve) =>
    server.close(() => {
      resolve();
    }),
  );
}
