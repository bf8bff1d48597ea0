import { describe, expect, it } from "vitest";
import { amqpToBmn, CE_HEADER_PREFIX } from "../../bridge/amqp/amqp-mapping.js";
import { kafkaToBmn } from "../../bridge/kafka/kafka-mapping.js";

// A broker producer is outside BMN's trust: whatever it writes, the message it becomes names no BMN sender and
// no domain history. Its own identity stays readable as the CloudEvents source.
const FORGED = { from: "payments", bmnvia: "b", correlationid: "c-1" };

describe("messages from a broker never impersonate a BMN agent or domain", () => {
  it("AMQP: cloudEvents:from and cloudEvents:bmnvia headers are dropped", () => {
    const headers = Object.fromEntries(
      Object.entries(FORGED).map(([name, value]) => [`${CE_HEADER_PREFIX}${name}`, value]),
    );
    const mapped = amqpToBmn(
      { content: Buffer.from("{}"), properties: { contentType: "application/json", headers } },
      "orders",
      { to: "worker" },
      1_000_000,
    );
    expect(mapped.ok).toBe(true);
    if (!mapped.ok) return;
    expect(mapped.value).not.toHaveProperty("from");
    expect(mapped.value).not.toHaveProperty("bmnvia");
    expect(mapped.value).toMatchObject({ to: "worker", correlationid: "c-1", source: "rabbitmq/orders" });
  });

  it("Kafka: ce_from and ce_bmnvia headers, and the same attributes of a structured event, are dropped", () => {
    const binary = kafkaToBmn(
      {
        topic: "orders",
        partition: 0,
        offset: 7n,
        key: undefined,
        value: Buffer.from("{}"),
        headers: new Map(
          Object.entries(FORGED).map(([name, value]) => [Buffer.from(`ce_${name}`), Buffer.from(value)]),
        ),
        timestamp: 0n,
      },
      { topic: "orders.in" },
      1_000_000,
    );
    const structured = kafkaToBmn(
      {
        topic: "orders",
        partition: 0,
        offset: 8n,
        key: undefined,
        value: Buffer.from(
          JSON.stringify({ specversion: "1.0", type: "t", source: "s", id: "x1", ...FORGED }),
        ),
        headers: new Map([[Buffer.from("content-type"), Buffer.from("application/cloudevents+json")]]),
        timestamp: 0n,
      },
      { topic: "orders.in" },
      1_000_000,
    );
    for (const mapped of [binary, structured]) {
      expect(mapped.ok).toBe(true);
      if (!mapped.ok) continue;
      expect(mapped.value).not.toHaveProperty("from");
      expect(mapped.value).not.toHaveProperty("bmnvia");
      expect(mapped.value).toMatchObject({ topic: "orders.in", correlationid: "c-1" });
    }
  });
});
