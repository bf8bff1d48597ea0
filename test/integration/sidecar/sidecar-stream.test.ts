import { describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { BACKENDS, http, useSidecar } from "./sidecar-fixture.js";

interface Frame {
  type: string;
  leaseId?: string;
  attempt?: number;
  errorCode?: string;
  field?: string;
  message?: { id: string };
}

/** A WebSocket client that queues the frames it gets, so a test can await the next one. */
class StreamClient {
  private readonly frames: Frame[] = [];
  private readonly waiters: ((frame: Frame) => void)[] = [];
  readonly closed: Promise<number>;

  private constructor(readonly socket: WebSocket) {
    socket.on("message", (raw: Buffer) => {
      const frame = JSON.parse(raw.toString("utf8")) as Frame;
      const waiter = this.waiters.shift();
      if (waiter === undefined) this.frames.push(frame);
      else waiter(frame);
    });
    this.closed = new Promise((resolve) =>
      socket.on("close", (code) => {
        resolve(code);
      }),
    );
  }

  static async open(url: string): Promise<StreamClient> {
    const socket = new WebSocket(url);
    // Listen before the socket opens: the server may speak first.
    const client = new StreamClient(socket);
    await new Promise<void>((resolve, reject) => {
      socket.once("open", () => {
        resolve();
      });
      socket.once("error", reject);
    });
    return client;
  }

  send(frame: unknown): void {
    this.socket.send(typeof frame === "string" ? frame : JSON.stringify(frame));
  }

  next(timeoutMs = 5_000): Promise<Frame> {
    const queued = this.frames.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`no frame within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.push((frame) => {
        clearTimeout(timer);
        resolve(frame);
      });
    });
  }

  async close(): Promise<void> {
    this.socket.close();
    await this.closed;
  }
}

describe.each(BACKENDS)("sidecar WebSocket stream (%s)", (backend) => {
  const fixture = useSidecar(backend);
  const wsUrl = (agent: string, query = "") =>
    `${fixture.url.replace("http", "ws")}/v1/agents/${agent}/stream${query}`;
  const send = async (to: string, data: unknown = null) =>
    (await http<{ id: string }>(fixture.url, "POST", "/v1/messages", { json: { to, type: "t", data } })).body
      .id;
  const stats = async (agent: string) =>
    (await http<{ inFlight: number; ready: number }>(fixture.url, "GET", `/v1/agents/${agent}/stats`)).body;

  it("pushes no more deliveries than the credit granted, and acks over the socket", async () => {
    const ids = [await send("ws1"), await send("ws1"), await send("ws1")];
    const client = await StreamClient.open(wsUrl("ws1"));
    client.send({ type: "credit", n: 2 });
    const first = await client.next();
    const second = await client.next();
    expect([first.message?.id, second.message?.id]).toEqual(ids.slice(0, 2));
    // With the credit used up, the third stays queued, not leased.
    expect(await stats("ws1")).toMatchObject({ inFlight: 2, ready: 1 });
    client.send({ type: "ack", leaseId: first.leaseId });
    expect(await client.next()).toEqual({ type: "acked", leaseId: first.leaseId });
    client.send({ type: "credit", n: 1 });
    const third = await client.next();
    expect(third).toMatchObject({ type: "delivery", attempt: 1, message: { id: ids[2] } });
    client.send({ type: "nack", leaseId: third.leaseId, deadLetter: true, reason: "nope" });
    expect(await client.next()).toEqual({ type: "nacked", leaseId: third.leaseId });
    await client.close();
  });

  it("a client that grants no credit gets nothing and leases nothing", async () => {
    await send("stingy");
    const client = await StreamClient.open(wsUrl("stingy"));
    client.send({ type: "ack", leaseId: "stingy.none.1" });
    // The error answer proves the server has read the frames; still nothing was pushed or leased.
    expect(await client.next()).toMatchObject({
      type: "error",
      errorCode: "LEASE_NOT_FOUND",
      leaseId: "stingy.none.1",
    });
    expect(await stats("stingy")).toMatchObject({ inFlight: 0, ready: 1 });
    await client.close();
  });

  it("answers a flood of acks for unknown leases and bad frames with error frames, and keeps serving", async () => {
    const client = await StreamClient.open(wsUrl("flood"));
    for (let i = 0; i < 200; i++) client.send({ type: "ack", leaseId: `flood.m${i}.${i + 1}` });
    client.send("{not json");
    client.send({ type: "credit", n: 0 });
    client.send({ type: "dance" });
    const id = await send("flood");
    client.send({ type: "credit", n: 1 });
    // Error replies are rate-limited (stream-limits.ts): the flood gets some back, not one per bad frame.
    const errors: Frame[] = [];
    let frame = await client.next();
    while (frame.type !== "delivery") {
      errors.push(frame);
      frame = await client.next();
    }
    expect(frame).toMatchObject({ type: "delivery", message: { id } });
    expect(errors.length).toBeGreaterThan(0);
    expect(errors.length).toBeLessThan(203);
    for (const error of errors)
      expect(["LEASE_NOT_FOUND", "INVALID_ARGUMENT", "INVALID_JSON"]).toContain(error.errorCode);
    await client.close();
  });

  it("releases unacked leases when the socket closes, so a resumed stream gets them at once", async () => {
    const id = await send("resume");
    const first = await StreamClient.open(wsUrl("resume", "?lease=300"));
    first.send({ type: "credit", n: 5 });
    expect(await first.next()).toMatchObject({ message: { id }, attempt: 1 });
    await first.close();
    const second = await StreamClient.open(wsUrl("resume", "?lease=300"));
    second.send({ type: "credit", n: 5 });
    // Without the release this would wait for the 300 s lease.
    const again = await second.next();
    expect(again).toMatchObject({ type: "delivery", message: { id } });
    expect(again.attempt).toBe(2);
    await second.close();
  });

  it("refuses a stream for an invalid agent with an error frame and close code 1008", async () => {
    const client = await StreamClient.open(wsUrl("Bad*Name".replace("*", "%2A")));
    expect(await client.next()).toMatchObject({
      type: "error",
      errorCode: "INVALID_ADDRESS",
      field: "agent",
    });
    expect(await client.closed).toBe(1008);
  });
});
