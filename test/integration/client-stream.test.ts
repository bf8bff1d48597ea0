import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { BmnClient, BmnClientError, type ReceivedMessage } from "../../client/index.js";
import { BACKENDS, useSidecar } from "./sidecar/sidecar-fixture.js";

const fresh = (prefix: string): string => `${prefix}-${randomUUID().slice(0, 8)}`;

/** Every stream in these tests ends within this, whatever happens: bounded waits, never sleeps. */
const bounded = (): AbortSignal => AbortSignal.timeout(20_000);

describe.each(BACKENDS)("client.messages() and typed payloads (%s store)", (backend) => {
  const fixture = useSidecar(backend);
  const client = (agent: string): BmnClient => new BmnClient({ url: fixture.url, agent });

  async function sendNumbered(bmn: BmnClient, agent: string, count: number): Promise<void> {
    await bmn.sendBatch(Array.from({ length: count }, (_, n) => ({ to: agent, type: "n", data: n })));
  }

  it("yields messages in order and acks each once the loop body finishes (autoAck)", async () => {
    const agent = fresh("auto");
    const bmn = client(agent);
    await sendNumbered(bmn, agent, 5);
    const seen: unknown[] = [];
    const stream = bmn.messages({ autoAck: true, max: 2, waitSeconds: 5, signal: bounded() });
    for await (const received of stream) {
      seen.push(received.message.data);
      expect(received.attempt).toBe(1);
      if (seen.length === 5) await stream.drain();
    }
    await stream.closed;
    expect(seen).toEqual([0, 1, 2, 3, 4]);
    expect(await bmn.stats()).toMatchObject({ depth: 0, inFlight: 0 });
  });

  it("close() gives back every unsettled message at once (nack, delay 0)", async () => {
    const agent = fresh("close");
    const bmn = client(agent);
    await sendNumbered(bmn, agent, 4);
    const stream = bmn.messages({ max: 4, waitSeconds: 5, signal: bounded() });
    let inHand: ReceivedMessage | undefined;
    for await (const received of stream) {
      inHand = received;
      await stream.close(); // three more are buffered, one is in hand: all four go back
    }
    expect(inHand?.settled).toBe(true);
    await expect(inHand?.ack()).rejects.toMatchObject({ errorCode: "ALREADY_SETTLED" });
    const again = await bmn.receive({ max: 10, waitSeconds: 5 });
    expect(again.map((d) => d.message.data).sort()).toEqual([0, 1, 2, 3]);
    expect(again.every((d) => d.attempt === 2)).toBe(true);
  });

  it("drain() stops fetching but still hands over what was fetched, then ends", async () => {
    const agent = fresh("drain");
    const bmn = client(agent);
    await sendNumbered(bmn, agent, 3);
    const stream = bmn.messages({ max: 3, waitSeconds: 5, signal: bounded() });
    const seen: unknown[] = [];
    let drained: Promise<void> | undefined;
    for await (const received of stream) {
      drained ??= stream.drain();
      seen.push(received.message.data);
      await received.ack();
    }
    await drained;
    expect(seen).toEqual([0, 1, 2]);
    // A message sent after the drain stays queued for the next consumer.
    await bmn.send({ to: agent, type: "n", data: 3 });
    expect((await bmn.receive({ waitSeconds: 5 })).map((d) => d.message.data)).toEqual([3]);
  });

  it("leaving the loop with a throw gives the message in hand back for redelivery", async () => {
    const agent = fresh("throw");
    const bmn = client(agent);
    await sendNumbered(bmn, agent, 1);
    const failure = new Error("handler failed");
    await expect(
      (async () => {
        for await (const _received of bmn.messages({ autoAck: true, waitSeconds: 5, signal: bounded() })) {
          throw failure;
        }
      })(),
    ).rejects.toBe(failure);
    const [redelivered] = await bmn.receive({ waitSeconds: 5 });
    expect(redelivered).toMatchObject({ attempt: 2, message: { data: 0 } });
  });

  it("an aborted signal ends an idle stream without error", async () => {
    const agent = fresh("idle");
    const controller = new AbortController();
    const stream = client(agent).messages({ waitSeconds: 30, signal: controller.signal });
    const consumed = (async () => {
      let count = 0;
      for await (const _received of stream) count++;
      return count;
    })();
    controller.abort();
    expect(await consumed).toBe(0);
    await stream.closed;
  });

  it("acks through a transaction: settled at commit, handed back to the loop on rollback", async () => {
    const agent = fresh("tx-stream");
    const out = fresh("tx-out");
    const bmn = client(agent);
    await sendNumbered(bmn, agent, 1);
    const stream = bmn.messages({ autoAck: true, waitSeconds: 5, signal: bounded() });
    for await (const received of stream) {
      await expect(
        bmn.transaction(async (tx) => {
          await tx.send({ to: out, type: "result" });
          await tx.ack(received);
          expect(received.settled).toBe(true);
          throw new Error("abort the transaction");
        }),
      ).rejects.toThrow("abort the transaction");
      expect(received.settled).toBe(false);
      await bmn.transaction(async (tx) => {
        await tx.send({ to: out, type: "result", data: received.message.data });
        await tx.ack(received);
      });
      void stream.drain(); // autoAck skips it: the transaction acked it
    }
    await stream.closed;
    expect(await bmn.stats()).toMatchObject({ depth: 0, inFlight: 0 });
    expect((await bmn.receive({ agent: out, max: 10, waitSeconds: 5 })).map((d) => d.message.data)).toEqual([
      0,
    ]);
  });

  describe("typed payloads", () => {
    const schemas = {
      "order.created": z.object({ orderId: z.string(), amount: z.number().positive() }),
      "order.cancelled": z.object({ orderId: z.string(), reason: z.string().default("unknown") }),
    };

    it("validates data before sending: nothing leaves the process when it fails", async () => {
      const agent = fresh("typed-send");
      const typed = client(agent).typed(schemas);
      await typed.send("order.created", { orderId: "o-1", amount: 5 }, { to: agent });
      const error = await typed
        .send("order.created", { orderId: "o-2", amount: -1 }, { to: agent })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(BmnClientError);
      expect(error).toMatchObject({ errorCode: "INVALID_MESSAGE", field: "data.amount" });
      const deliveries = await client(agent).receive({ max: 10 });
      expect(deliveries.map((d) => d.message.data)).toEqual([{ orderId: "o-1", amount: 5 }]);
    });

    it("parses data by type, and dead-letters a message whose data fails its schema", async () => {
      const agent = fresh("typed-recv");
      const bmn = client(agent);
      await bmn.sendBatch([
        { to: agent, type: "order.created", data: { orderId: "o-1", amount: 10 } },
        { to: agent, type: "order.created", data: { orderId: "o-2", amount: "ten" } },
        { to: agent, type: "order.cancelled", data: { orderId: "o-3" } },
        { to: agent, type: "order.shipped", data: {} },
      ]);
      const typed = bmn.typed(schemas);
      const seen: string[] = [];
      const stream = typed.messages({ autoAck: true, max: 10, waitSeconds: 5, signal: bounded() });
      for await (const { message } of stream) {
        switch (message.type) {
          case "order.created":
            seen.push(`${message.data.orderId}:${message.data.amount.toFixed(2)}`);
            break;
          case "order.cancelled":
            seen.push(`${message.data.orderId}:${message.data.reason}`);
            break;
        }
        if (seen.length === 2) await stream.drain();
      }
      expect(seen).toEqual(["o-1:10.00", "o-3:unknown"]);

      const letters = await bmn.dlq.list({ agent });
      expect(letters).toHaveLength(2);
      const byType = new Map(letters.map((letter) => [letter.message.type, letter]));
      expect(byType.get("order.created")).toMatchObject({
        reason: "rejected",
        message: { data: { orderId: "o-2" } },
      });
      expect(byType.get("order.created")?.lastError).toMatch(/^invalid: amount: /);
      expect(byType.get("order.shipped")?.lastError).toBe(
        'invalid: no schema for message type "order.shipped"',
      );
    });
  });
});
