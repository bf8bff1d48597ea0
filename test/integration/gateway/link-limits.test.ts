import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { gunzipSync } from "node:zlib";
import { afterEach, describe, expect, it } from "vitest";
import {
  counter,
  eventually,
  receiveAll,
  send,
  startTopology,
  tokenFor,
  type Topology,
} from "./gateway-fixture.js";

/** One request the recording proxy saw. */
interface Seen {
  method: string;
  path: string;
  bytes: number;
  encoding: string | undefined;
  status: number;
  /** The decoded batch's message ids (POST /v1/gateway/batches only). */
  ids: string[];
  /** The bandwidth clock's reading when the request arrived (virtual time, when the test uses one). */
  at: number;
}

interface RecordingProxy {
  url: string;
  seen: Seen[];
  close(): Promise<void>;
}

async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/**
 * A proxy in front of a gateway that records every request (size, encoding, the batch's ids) and, like a receiver
 * with a small body limit, answers 413 to a batch body over `maxBody` bytes instead of passing it on.
 */
async function recordingProxy(
  target: string,
  options: { maxBody?: number; now?: () => number } = {},
): Promise<RecordingProxy> {
  const seen: Seen[] = [];
  const server: Server = createServer((request, response) => {
    void (async () => {
      const body = await readBody(request);
      const encoding = request.headers["content-encoding"];
      const path = request.url ?? "/";
      const entry: Seen = {
        method: request.method ?? "GET",
        path,
        bytes: body.length,
        encoding,
        status: 0,
        ids: [],
        at: (options.now ?? Date.now)(),
      };
      if (path === "/v1/gateway/batches") {
        const json = encoding === "gzip" ? gunzipSync(body) : body;
        entry.ids = (JSON.parse(json.toString("utf8")) as { messages: { id: string }[] }).messages.map(
          (message) => message.id,
        );
      }
      seen.push(entry);
      if (options.maxBody !== undefined && path === "/v1/gateway/batches" && body.length > options.maxBody) {
        entry.status = 413;
        response
          .writeHead(413, { "content-type": "application/json" })
          .end(JSON.stringify({ errorCode: "TOO_LARGE", message: "request body is over the size limit" }));
        return;
      }
      const headers: Record<string, string> = {};
      for (const name of ["authorization", "bmn-source-domain", "content-type", "content-encoding"]) {
        const value = request.headers[name];
        if (typeof value === "string") headers[name] = value;
      }
      const answer = await fetch(new URL(path, target), {
        method: entry.method,
        headers,
        ...(entry.method === "GET" ? {} : { body }),
      });
      entry.status = answer.status;
      const retryAfter = answer.headers.get("retry-after");
      response
        .writeHead(answer.status, {
          "content-type": answer.headers.get("content-type") ?? "application/json",
          ...(retryAfter === null ? {} : { "retry-after": retryAfter }),
        })
        .end(Buffer.from(await answer.arrayBuffer()));
    })().catch((error: unknown) => {
      response.writeHead(502).end(String(error));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** Virtual time for the bandwidth bucket: it moves only when a send waits, and a wait returns at once. */
class VirtualClock {
  private elapsed = 0;
  readonly sleeps: number[] = [];
  constructor(private readonly start = Date.now()) {}
  now(): number {
    return this.start + this.elapsed;
  }
  /** Virtual milliseconds since the start. */
  get waitedMs(): number {
    return this.elapsed;
  }
  sleep(ms: number): Promise<void> {
    this.sleeps.push(ms);
    this.elapsed += ms;
    return Promise.resolve();
  }
}

/** `count` messages to alice@b of about `size` bytes each. */
function payloads(count: number, size: number): Record<string, unknown>[] {
  return Array.from({ length: count }, (_, n) => ({
    to: "alice@b",
    type: "task.created",
    data: { n, text: "x".repeat(size) },
  }));
}

describe("gateway link limits and encodings (a -> proxy -> b)", () => {
  let topology: Topology | undefined;
  let proxy: RecordingProxy | undefined;
  afterEach(async () => {
    await topology?.close();
    await proxy?.close();
    topology = undefined;
    proxy = undefined;
  });

  /** Domains a and b; a's gateway is not started, so what a's sidecar sends waits in its outbox. */
  async function twoDomains(): Promise<Topology> {
    topology = await startTopology(["a", "b"], [["a", "b"]], { deferred: ["a"] });
    return topology;
  }

  async function sendAll(topo: Topology, messages: Record<string, unknown>[]): Promise<string[]> {
    const ids: string[] = [];
    for (const message of messages) {
      const sent = await send(topo.node("a").sidecar, message);
      expect(sent.status).toBe(202);
      ids.push(sent.body.id ?? "");
    }
    return ids;
  }

  it("bandwidthBytesPerSecond: sends wait for the token bucket, so bytes never run ahead of burst + rate x time", async () => {
    const topo = await twoDomains();
    const clock = new VirtualClock();
    proxy = await recordingProxy(topo.node("b").gatewayUrl, { now: () => clock.now() });
    const rate = 2_048;
    // Batches stay under the burst, so after each wait the bucket is out of debt.
    const maxBytes = 1_500;
    const ids = await sendAll(topo, payloads(40, 300));
    const gateway = await topo.node("a").startGateway(
      {
        peers: [
          {
            domain: "b",
            endpoints: [proxy.url],
            token: tokenFor("a", "b"),
            bandwidthBytesPerSecond: rate,
          },
        ],
        compression: { algorithm: "none" },
        batching: { maxBytes, maxMessages: 1_000, maxDelayMs: 5 },
      },
      { bandwidthClock: clock },
    );
    const received = await receiveAll(topo.node("b").sidecar, "alice", ids.length, 20_000);
    expect(received.map((message) => message.id).sort()).toEqual([...ids].sort());

    const batches = proxy.seen.filter(
      (entry) => entry.path === "/v1/gateway/batches" && entry.status === 200,
    );
    const wire = await counter(gateway, "bmn_gateway_bytes_total", { peer: "b", stage: "wire" });
    expect(wire).toBe(batches.reduce((sum, entry) => sum + entry.bytes, 0));
    // Burst: one second's worth or one full batch, whichever is more.
    const burst = Math.max(rate, maxBytes);
    expect(wire).toBeGreaterThan(3 * burst);

    // In every window from the start to a send, the bytes sent fit in burst + rate x (virtual) time.
    const start = clock.now() - clock.waitedMs;
    let sent = 0;
    for (const entry of batches) {
      sent += entry.bytes;
      expect(sent).toBeLessThanOrEqual(burst + (rate * (entry.at - start)) / 1_000);
    }
    // And the limit costs no more than it must: the waits add up to what the bytes over the burst need
    // (each rounded up to a whole millisecond).
    const needed = ((wire - burst) / rate) * 1_000;
    expect(clock.waitedMs).toBeGreaterThanOrEqual(needed);
    expect(clock.waitedMs).toBeLessThanOrEqual(needed + clock.sleeps.length);
    expect(await counter(gateway, "bmn_gateway_bandwidth_delays_total", { peer: "b" })).toBe(
      clock.sleeps.length,
    );
    // Only what fits in the burst goes without waiting: at most the first batch here.
    expect(clock.sleeps.length).toBeGreaterThanOrEqual(batches.length - 1);
    expect(await counter(gateway, "bmn_gateway_bandwidth_delay_seconds_total", { peer: "b" })).toBeCloseTo(
      clock.waitedMs / 1_000,
      6,
    );
  });

  it("without a bandwidth limit no send waits", async () => {
    const topo = await twoDomains();
    const clock = new VirtualClock();
    proxy = await recordingProxy(topo.node("b").gatewayUrl);
    const ids = await sendAll(topo, payloads(20, 300));
    const gateway = await topo.node("a").startGateway(
      {
        peers: [{ domain: "b", endpoints: [proxy.url], token: tokenFor("a", "b") }],
        compression: { algorithm: "none" },
        batching: { maxBytes: 2_048, maxMessages: 1_000, maxDelayMs: 5 },
      },
      { bandwidthClock: clock },
    );
    expect(await receiveAll(topo.node("b").sidecar, "alice", ids.length)).toHaveLength(ids.length);
    expect(clock.sleeps).toEqual([]);
    expect(await counter(gateway, "bmn_gateway_bandwidth_delays_total", { peer: "b" })).toBe(0);
  });

  it("gzip: batches go out with content-encoding gzip, the receiver inflates them, every message arrives once", async () => {
    const topo = await twoDomains();
    proxy = await recordingProxy(topo.node("b").gatewayUrl);
    const ids = await sendAll(topo, payloads(30, 500));
    const gateway = await topo.node("a").startGateway({
      peers: [{ domain: "b", endpoints: [proxy.url], token: tokenFor("a", "b") }],
      compression: { algorithm: "gzip", minBytes: 0 },
    });
    const received = await receiveAll(topo.node("b").sidecar, "alice", ids.length);
    expect(received.map((message) => message.id)).toEqual(ids);
    expect(received[0]?.data).toEqual({ n: 0, text: "x".repeat(500) });
    expect(await receiveAll(topo.node("b").sidecar, "alice", 1, 300)).toEqual([]);

    const batches = proxy.seen.filter((entry) => entry.path === "/v1/gateway/batches");
    expect(batches.length).toBeGreaterThan(0);
    for (const entry of batches) expect(entry).toMatchObject({ encoding: "gzip", status: 200 });
    expect(batches.flatMap((entry) => entry.ids).sort()).toEqual([...ids].sort());
    // On the wire much smaller than the JSON; the receiver counted what it inflated.
    const wire = await counter(gateway, "bmn_gateway_bytes_total", { peer: "b", stage: "wire" });
    const raw = await counter(gateway, "bmn_gateway_bytes_total", { peer: "b", stage: "uncompressed" });
    expect(wire).toBeLessThan(raw / 4);
    const bGateway = topo.node("b").gateway;
    if (bGateway === undefined) throw new Error("b's gateway is not running");
    expect(
      await counter(bGateway, "bmn_gateway_bytes_total", {
        peer: "a",
        direction: "received",
        stage: "uncompressed",
      }),
    ).toBe(raw);
    expect(
      await counter(bGateway, "bmn_gateway_messages_received_total", { peer: "a", status: "accepted" }),
    ).toBe(ids.length);
  });

  it("413: a receiver with a small body limit makes the batch halve until it fits; all arrive once, in order", async () => {
    const topo = await twoDomains();
    const maxBody = 3_000;
    proxy = await recordingProxy(topo.node("b").gatewayUrl, { maxBody });
    const ids = await sendAll(topo, payloads(30, 300));
    const gateway = await topo.node("a").startGateway({
      peers: [{ domain: "b", endpoints: [proxy.url], token: tokenFor("a", "b") }],
      compression: { algorithm: "none" },
    });
    const received = await receiveAll(topo.node("b").sidecar, "alice", ids.length);
    // One replica, one batch in flight: the order survives the splitting.
    expect(received.map((message) => message.id)).toEqual(ids);
    expect(await receiveAll(topo.node("b").sidecar, "alice", 1, 300)).toEqual([]);

    const batches = proxy.seen.filter((entry) => entry.path === "/v1/gateway/batches");
    const refused = batches.filter((entry) => entry.status === 413);
    const accepted = batches.filter((entry) => entry.status === 200);
    expect(refused.length).toBeGreaterThan(0);
    // The first try carried everything; after each 413 the next try is the first half of the refused batch.
    expect(refused[0]?.ids).toEqual(ids);
    batches.forEach((entry, index) => {
      if (entry.status !== 413) return;
      const next = batches[index + 1];
      expect(next?.ids).toEqual(entry.ids.slice(0, Math.ceil(entry.ids.length / 2)));
    });
    for (const entry of accepted) expect(entry.bytes).toBeLessThanOrEqual(maxBody);
    expect(accepted.flatMap((entry) => entry.ids)).toEqual(ids);
    expect(await topo.node("a").store.listDeadLetters()).toEqual([]);
    await eventually(
      async () => ((await topo.node("a").store.queueStats("bmn.out.b")).depth === 0 ? true : undefined),
      "an empty outbox",
    );
    expect(
      await counter(gateway, "bmn_gateway_messages_forwarded_total", { peer: "b", outcome: "forwarded" }),
    ).toBe(ids.length);
  });

  it("413 on a single message: dead-lettered too-large at the source, never in b", async () => {
    const topo = await twoDomains();
    proxy = await recordingProxy(topo.node("b").gatewayUrl, { maxBody: 3_000 });
    const [small] = await sendAll(topo, payloads(1, 100));
    const [big] = await sendAll(topo, payloads(1, 4_000));
    await topo.node("a").startGateway({
      peers: [{ domain: "b", endpoints: [proxy.url], token: tokenFor("a", "b") }],
      compression: { algorithm: "none" },
    });
    const letter = await eventually(
      async () => (await topo.node("a").store.listDeadLetters({ reason: "too-large" }))[0],
      "a too-large dead letter in a",
    );
    expect(letter).toMatchObject({ agent: "bmn.out.b", message: { id: big } });
    expect(letter.lastError).toMatch(/too large/);
    const received = await receiveAll(topo.node("b").sidecar, "alice", 1);
    expect(received.map((message) => message.id)).toEqual([small]);
  });
});
