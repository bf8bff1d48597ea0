import { describe, expect, it } from "vitest";
import { BmnClientError, MessageStream, type Delivery, type Message } from "../../client/index.js";
import type { LeaseOps } from "../../client/message-stream.js";

/** An in-memory stand-in for the sidecar: a queue, and a log of every settle call. */
class FakeSidecar implements LeaseOps {
  readonly queue: Delivery[] = [];
  readonly calls: string[] = [];
  polls = 0;
  failNext: BmnClientError[] = [];
  private wake: (() => void) | undefined;
  private seq = 0;

  push(...data: unknown[]): void {
    for (const value of data) {
      const id = `m${++this.seq}`;
      this.queue.push({
        leaseId: `lease-${id}`,
        attempt: 1,
        leaseExpiresAt: Date.now() + 30_000,
        message: { specversion: "1.0", id, source: "test", type: "t", data: value },
      });
    }
    this.wake?.();
  }

  async receive(options: {
    max?: number | undefined;
    signal?: AbortSignal | undefined;
  }): Promise<Delivery[]> {
    this.polls++;
    const failure = this.failNext.shift();
    if (failure !== undefined) throw failure;
    if (this.queue.length === 0) {
      await new Promise<void>((resolve, reject) => {
        this.wake = resolve;
        options.signal?.addEventListener("abort", () => {
          reject(new DOMException("aborted", "AbortError"));
        });
      });
    }
    return this.queue.splice(0, options.max ?? 1);
  }

  ack(leaseId: string): Promise<void> {
    this.calls.push(`ack ${leaseId}`);
    return Promise.resolve();
  }

  nack(
    leaseId: string,
    options: {
      delayMs?: number | undefined;
      deadLetter?: boolean | undefined;
      reason?: string | undefined;
    } = {},
  ): Promise<void> {
    this.calls.push(`nack ${leaseId} ${JSON.stringify(options)}`);
    return Promise.resolve();
  }

  extend(): Promise<{ leaseExpiresAt: number }> {
    return Promise.resolve({ leaseExpiresAt: 0 });
  }
}

const identity = (message: Message) => ({ ok: true as const, message });

describe("MessageStream", () => {
  it("acks after the loop body when autoAck is on, and not before", async () => {
    const sidecar = new FakeSidecar();
    sidecar.push(1, 2);
    const stream = new MessageStream(sidecar, { autoAck: true, max: 10 }, identity);
    const seen: string[] = [];
    for await (const received of stream) {
      seen.push(`got ${JSON.stringify(received.message.data)}; calls ${sidecar.calls.length}`);
      if (seen.length === 2) void stream.drain();
    }
    await stream.closed;
    expect(seen).toEqual(["got 1; calls 0", "got 2; calls 1"]);
    expect(sidecar.calls).toEqual(["ack lease-m1", "ack lease-m2"]);
  });

  it("does not ack twice what the loop settled itself", async () => {
    const sidecar = new FakeSidecar();
    sidecar.push(1);
    const stream = new MessageStream(sidecar, { autoAck: true }, identity);
    for await (const received of stream) {
      await received.nack({ delayMs: 5 });
      await expect(received.ack()).rejects.toMatchObject({ errorCode: "ALREADY_SETTLED" });
      void stream.drain();
    }
    expect(sidecar.calls).toEqual(['nack lease-m1 {"delayMs":5}']);
  });

  it("close() nacks (delay 0) the buffered messages and the one in hand", async () => {
    const sidecar = new FakeSidecar();
    sidecar.push(1, 2, 3);
    const stream = new MessageStream(sidecar, { max: 10 }, identity);
    for await (const received of stream) {
      expect(received.message.data).toBe(1);
      await stream.close();
    }
    expect(sidecar.calls.sort()).toEqual([
      'nack lease-m1 {"delayMs":0}',
      'nack lease-m2 {"delayMs":0}',
      'nack lease-m3 {"delayMs":0}',
    ]);
  });

  it("drain() hands over what was fetched, then ends; closed waits for messages still held", async () => {
    const sidecar = new FakeSidecar();
    sidecar.push(1, 2);
    const stream = new MessageStream(sidecar, { max: 10 }, identity);
    const held = [];
    for await (const received of stream) {
      void stream.drain();
      held.push(received);
    }
    expect(held.map((r) => r.message.data)).toEqual([1, 2]);
    expect(sidecar.polls).toBe(1);
    let closed = false;
    void stream.closed.then(() => (closed = true));
    await held[0]?.ack();
    await Promise.resolve();
    expect(closed).toBe(false);
    await held[1]?.ack();
    await stream.closed;
    expect(sidecar.calls).toEqual(["ack lease-m1", "ack lease-m2"]);
  });

  it("a break gives back the message in hand and the buffer", async () => {
    const sidecar = new FakeSidecar();
    sidecar.push(1, 2);
    const stream = new MessageStream(sidecar, { autoAck: true, max: 10 }, identity);
    for await (const _received of stream) break;
    await stream.closed;
    expect(sidecar.calls.sort()).toEqual(['nack lease-m1 {"delayMs":0}', 'nack lease-m2 {"delayMs":0}']);
  });

  it("a break while draining still gives back the message in hand", async () => {
    const sidecar = new FakeSidecar();
    sidecar.push(1);
    const stream = new MessageStream(sidecar, { autoAck: true }, identity);
    for await (const _received of stream) {
      void stream.drain();
      break;
    }
    await stream.closed;
    expect(sidecar.calls).toEqual(['nack lease-m1 {"delayMs":0}']);
  });

  it("an abort signal stops a stream waiting for messages", async () => {
    const sidecar = new FakeSidecar();
    const controller = new AbortController();
    const stream = new MessageStream(sidecar, { signal: controller.signal }, identity);
    const done = (async () => {
      for await (const _received of stream) throw new Error("nothing was sent");
    })();
    controller.abort();
    await done;
    await stream.closed;
  });

  it("dead-letters what prepare refuses, and never yields it", async () => {
    const sidecar = new FakeSidecar();
    sidecar.push("bad", 2);
    const stream = new MessageStream<Message>(sidecar, { max: 10 }, (message) =>
      typeof message.data === "number"
        ? { ok: true, message }
        : { ok: false, reason: "invalid: not a number" },
    );
    const seen: unknown[] = [];
    for await (const received of stream) {
      seen.push(received.message.data);
      await received.ack();
      void stream.drain();
    }
    expect(seen).toEqual([2]);
    expect(sidecar.calls).toEqual([
      'nack lease-m1 {"deadLetter":true,"reason":"invalid: not a number"}',
      "ack lease-m2",
    ]);
  });

  it("retries an overloaded or unavailable sidecar, and ends with other errors", async () => {
    const sidecar = new FakeSidecar();
    sidecar.failNext = [
      new BmnClientError("OVERLOADED", "busy", { status: 429, retryAfterSeconds: 0 }),
      new BmnClientError("STORE_UNAVAILABLE", "down", { status: 503, retryAfterSeconds: 0 }),
    ];
    sidecar.push(1);
    const stream = new MessageStream(sidecar, { autoAck: true }, identity);
    for await (const received of stream) {
      expect(received.message.data).toBe(1);
      void stream.drain();
    }
    expect(sidecar.polls).toBe(3);

    const failing = new FakeSidecar();
    failing.failNext = [new BmnClientError("INVALID_ADDRESS", "bad agent", { status: 400 })];
    await expect(
      (async () => {
        for await (const _received of new MessageStream(failing, {}, identity)) break;
      })(),
    ).rejects.toMatchObject({ errorCode: "INVALID_ADDRESS" });
  });

  it("can be iterated only once", () => {
    const stream = new MessageStream(new FakeSidecar(), {}, identity);
    stream[Symbol.asyncIterator]();
    expect(() => stream[Symbol.asyncIterator]()).toThrow("only once");
  });
});
