import { connect, type Channel, type ChannelModel, type GetMessage } from "amqplib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BmnClient, type Message } from "../client/index.js";
import type { BmnProcess } from "../test/harness/bmn-process.js";
import { until } from "../test/harness/poll-until.js";
import { startRabbitMq, type RabbitMqHandle } from "../test/harness/rabbitmq-server.js";
import { startRedis, type RedisServerHandle } from "../test/harness/redis-server.js";
import { bridgeCount, doctor, receiveUntil, startBridge, tallyReceived } from "./harness/bridge-process.js";
import { startSidecar, type SidecarProcess } from "./harness/sidecar-process.js";

// One RabbitMQ, Redis, sidecar and bridge for the whole file.
let rabbit: RabbitMqHandle;
let redis: RedisServerHandle;
let sidecar: SidecarProcess;
let bridge: BmnProcess;
let amqp: ChannelModel;
let channel: Channel;
let bmn: BmnClient;

const ROUTES = [
  ...["--consume", "orders=billing", "--consume", "orders.dead=dlq"],
  ...["--publish", "invoices.#=bmn-out", "--publish", "agent:rabbit-sink=bmn-out:sink.direct"],
  ...["--publish", "full.#=bmn-full:full", "--publish", "nowhere.#=bmn-out"],
];

/** The RabbitMQ side's topology: what an operator sets up before the bridge runs. */
async function declareTopology(ch: Channel): Promise<void> {
  await ch.assertExchange("bmn-out", "topic", { durable: true });
  await ch.assertExchange("bmn-full", "direct", { durable: true });
  await ch.assertQueue("orders", { durable: true });
  await ch.assertQueue("orders.dead", { durable: true });
  await ch.assertQueue("orders.work", {
    durable: true,
    arguments: { "x-dead-letter-exchange": "", "x-dead-letter-routing-key": "orders.dead" },
  });
  await ch.assertQueue("invoices-q", { durable: true });
  await ch.bindQueue("invoices-q", "bmn-out", "invoices.#");
  await ch.assertQueue("sink-q", { durable: true });
  await ch.bindQueue("sink-q", "bmn-out", "sink.direct");
  await ch.assertQueue("full-q", {
    durable: true,
    arguments: { "x-max-length": 1, "x-overflow": "reject-publish" },
  });
  await ch.bindQueue("full-q", "bmn-full", "full");
}

async function openAmqp(): Promise<void> {
  amqp = await until(() => connect(rabbit.url), 30_000, "RabbitMQ accepting connections");
  amqp.on("error", () => undefined);
  channel = await amqp.createChannel();
  channel.on("error", () => undefined);
}

beforeAll(async () => {
  const started = Date.now();
  [rabbit, redis] = await Promise.all([startRabbitMq(), startRedis({ appendOnly: true })]);
  console.log(`RabbitMQ node started in ${Date.now() - started} ms`);
  await openAmqp();
  await declareTopology(channel);
  sidecar = await startSidecar({ BMN_STORE: "redis", BMN_REDIS_URL: redis.url });
  bmn = new BmnClient({ url: sidecar.url, agent: "alice" });
  bridge = await startBridge("amqp bridge", sidecar.url, [rabbit.url, ...ROUTES], {
    BMN_BRIDGE_LEASE_MS: "3000",
  });
});

afterAll(async () => {
  await amqp.close().catch(() => undefined);
  await bridge.stop();
  await sidecar.stop();
  await Promise.all([rabbit.cleanup(), redis.cleanup()]);
});

const drain = (agent: string, done: (messages: Message[]) => boolean, what: string): Promise<Message[]> =>
  receiveUntil(bmn.as(agent), done, what);

/** Gets (and acks) what RabbitMQ queue `queue` holds until `done` holds. */
async function drainQueue(
  queue: string,
  done: (messages: GetMessage[]) => boolean,
  what: string,
): Promise<GetMessage[]> {
  const messages: GetMessage[] = [];
  await until(
    async () => {
      for (let got = await channel.get(queue); got !== false; got = await channel.get(queue)) {
        messages.push(got);
        channel.ack(got);
      }
      return done(messages);
    },
    60_000,
    what,
    () => `${messages.length} got`,
  );
  return messages;
}

describe("bmn bridge amqp (real RabbitMQ, Redis, sidecar and bridge processes)", () => {
  it("bmn doctor finds RabbitMQ and names the amqp bridge", async () => {
    const finding = await doctor(rabbit.url);
    expect(finding).toMatchObject({ bridge: "amqp" });
    expect(finding.found).toMatch(/^RabbitMQ 3\./);
  });

  it("carries a RabbitMQ message into a BMN agent's queue, headers mapped to CloudEvents attributes", async () => {
    channel.sendToQueue("orders", Buffer.from(JSON.stringify({ order: 42 })), {
      messageId: "order-42",
      contentType: "application/json",
      priority: 7,
      correlationId: "corr-1",
      timestamp: 1_767_323_045,
      persistent: true,
      headers: {
        "cloudEvents:type": "com.shop.order.created",
        "cloudEvents:source": "/shop",
        "cloudEvents:tenant": "acme",
      },
    });
    const [message] = await drain("billing", (m) => m.length >= 1, "the order at billing");
    expect(message).toMatchObject({
      id: "order-42",
      type: "com.shop.order.created",
      source: "/shop",
      to: "billing",
      priority: 7,
      correlationid: "corr-1",
      datacontenttype: "application/json",
      time: "2026-01-02T03:04:05.000Z",
      tenant: "acme",
      data: { order: 42 },
    });
  });

  it("publishes BMN topics and an agent's queue to exchanges, with publisher confirms and CloudEvents headers", async () => {
    const sent = await bmn.publish("invoices.created", {
      type: "com.shop.invoice.created",
      data: { invoice: 7 },
      priority: 6,
      correlationid: "corr-2",
    });
    const [got] = await drainQueue("invoices-q", (m) => m.length >= 1, "the invoice in RabbitMQ");
    expect(got?.fields.routingKey).toBe("invoices.created");
    expect(got?.properties).toMatchObject({
      messageId: sent.id,
      type: "com.shop.invoice.created",
      contentType: "application/json",
      priority: 6,
      correlationId: "corr-2",
      deliveryMode: 2,
    });
    expect(got?.properties.headers).toMatchObject({
      "cloudEvents:id": sent.id,
      "cloudEvents:topic": "invoices.created",
      "cloudEvents:specversion": "1.0",
    });
    expect(JSON.parse(got?.content.toString() ?? "")).toEqual({ invoice: 7 });

    const direct = await bmn.send({
      to: "rabbit-sink",
      type: "t.direct",
      data: "plain",
      datacontenttype: "text/plain",
    });
    const [sunk] = await drainQueue("sink-q", (m) => m.length >= 1, "the agent's message in RabbitMQ");
    expect(sunk?.properties.messageId).toBe(direct.id);
    expect(sunk?.content.toString()).toBe("plain");
  });

  it("dead-letters in BMN, with a reason, what RabbitMQ refuses or dead-lettered itself, and oversized bodies", async () => {
    await bmn.publish("nowhere.at.all", { type: "t.lost", data: 1 });
    await bmn.publish("full.a", { type: "t.full", data: 1 });
    await bmn.publish("full.b", { type: "t.full", data: 2 });
    // A RabbitMQ consumer rejects a message; its queue dead-letters it to orders.dead, which the bridge reads.
    channel.sendToQueue("orders.work", Buffer.from("bad order"), { messageId: "work-1" });
    const work = await until(() => channel.get("orders.work"), 10_000, "the work message");
    channel.nack(work, false, false);
    channel.sendToQueue("orders", Buffer.alloc(2 * 1024 * 1024, 120), { messageId: "huge-1" });
    channel.sendToQueue("orders", Buffer.from("{oops"), {
      messageId: "bad-json",
      contentType: "application/json",
    });

    const letters = await until(
      async () => {
        const list = await bmn.dlq.list({ agent: "amqp-bridge" });
        return list.length >= 5 ? list : undefined;
      },
      30_000,
      "five dead letters",
    );
    const byReason = (reason: string): string[] =>
      letters.filter((l) => l.reason === reason).map((l) => l.lastError ?? "");
    expect(byReason("unroutable").join()).toMatch(
      /no queue bound to exchange "bmn-out" for routing key "nowhere.at.all"/,
    );
    expect(byReason("rejected").join("\n")).toMatch(/nacked the publish to exchange "bmn-full"/);
    expect(byReason("rejected").join("\n")).toMatch(/dead-lettered it: rejected in queue orders.work/);
    expect(byReason("too-large").join()).toMatch(/body is 2097152 bytes/);
    expect(byReason("invalid").join()).toMatch(/not the JSON its content-type says/);
    expect(await bridgeCount(bridge, "amqp-in", "dead-lettered")).toBeGreaterThanOrEqual(3);
    expect(bridge.alive).toBe(true);
    await drainQueue("full-q", (m) => m.length === 1, "the one message the full queue took");
  });

  it("loses nothing when RabbitMQ restarts under a running bridge and the bridge is killed with SIGKILL mid-stream", async () => {
    const total = 300;
    const third = total / 3;
    const inIds = Array.from({ length: total }, (_, i) => `kill-in-${i}`);
    const outIds: string[] = [];
    const send = async (from: number, to: number): Promise<void> => {
      for (const id of inIds.slice(from, to))
        channel.sendToQueue("orders", Buffer.from(JSON.stringify({ id })), {
          messageId: id,
          persistent: true,
          contentType: "application/json",
        });
      for (let i = from; i < to; i++)
        outIds.push((await bmn.publish("invoices.kill", { type: "t.kill", data: { i } })).id);
    };
    const received = new Map<string, number>();
    const receive = (): Promise<void> => tallyReceived(bmn.as("billing"), received);
    const underWay = (atLeast: number, what: string): Promise<true> =>
      until(
        async () => {
          await receive();
          return received.size >= atLeast;
        },
        60_000,
        what,
      );

    // 1. RabbitMQ restarts while the bridge runs: the bridge reconnects with backoff.
    await send(0, third);
    await underWay(20, "the bridge under way");
    const beforeRestart = received.size;
    await amqp.close().catch(() => undefined);
    await rabbit.restart();
    await openAmqp();
    await send(third, 2 * third);
    await underWay(third + 20, "the bridge reconnected to the restarted RabbitMQ");
    // 2. The bridge dies mid-stream.
    const beforeKill = received.size;
    await bridge.kill();
    await send(2 * third, total);
    await bridge.start();

    const inRabbit = new Map<string, number>();
    await until(
      async () => {
        await receive();
        for (
          let got = await channel.get("invoices-q");
          got !== false;
          got = await channel.get("invoices-q")
        ) {
          const id = String(got.properties.messageId);
          inRabbit.set(id, (inRabbit.get(id) ?? 0) + 1);
          channel.ack(got);
        }
        return inIds.every((id) => received.has(id)) && outIds.every((id) => inRabbit.has(id));
      },
      90_000,
      "every message across after the restarts",
      () =>
        `RabbitMQ→BMN ${inIds.filter((id) => received.has(id)).length}/${total}, BMN→RabbitMQ ${outIds.filter((id) => inRabbit.has(id)).length}/${total}`,
    );
    const dupIn = inIds.reduce((sum, id) => sum + (received.get(id) ?? 0) - 1, 0);
    const dupOut = outIds.reduce((sum, id) => sum + (inRabbit.get(id) ?? 0) - 1, 0);
    console.log(
      `amqp bridge, RabbitMQ restart + bridge kill -9: RabbitMQ→BMN sent ${total}, received ${inIds.filter((id) => received.has(id)).length}, lost 0, duplicates ${dupIn} (${beforeRestart} before the RabbitMQ restart, ${beforeKill} before the kill); BMN→RabbitMQ sent ${total}, in RabbitMQ ${outIds.filter((id) => inRabbit.has(id)).length}, lost 0, duplicates ${dupOut}`,
    );
    // Inbound: every message has a message-id, so BMN's dedupe takes a redelivery once.
    expect(dupIn).toBe(0);
    // Outbound is at least once: a message confirmed by RabbitMQ but not yet acked to BMN is published again.
    expect(dupOut).toBeGreaterThanOrEqual(0);
  });
});
