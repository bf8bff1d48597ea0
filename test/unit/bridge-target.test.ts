import { describe, expect, it } from "vitest";
import { parseConsumeRoute, parsePublishRoute } from "../../bridge/common/routes.js";
import { brokersOf } from "../../bridge/kafka/kafka-bridge.js";
import { bridgeKindOf } from "../../cli/bridge-target.js";
import { UsageError } from "../../cli/errors.js";

describe("bmn bridge <target>: the adapter from the URL scheme", () => {
  it("picks amqp, kafka, and legacy for redis:// only with --legacy", () => {
    expect(bridgeKindOf("amqp://guest:guest@rabbit:5672/", false)).toBe("amqp");
    expect(bridgeKindOf("amqps://rabbit", false)).toBe("amqp");
    expect(bridgeKindOf("kafka://a:9092,b:9092", false)).toBe("kafka");
    expect(bridgeKindOf("redis://legacy:6379", true)).toBe("legacy");
    expect(bridgeKindOf("legacy", false)).toBe("legacy");
    expect(() => bridgeKindOf("redis://legacy:6379", false)).toThrow(/add --legacy/);
    expect(() => bridgeKindOf("mqtt://x", false)).toThrow(UsageError);
    expect(() => bridgeKindOf("nonsense", false)).toThrow(/legacy, amqp, kafka or a URL/);
  });

  it("reads the broker list of a kafka:// URL", () => {
    expect(brokersOf("kafka://a:9092,b:9093")).toEqual(["a:9092", "b:9093"]);
    expect(brokersOf("kafka://a:9092/")).toEqual(["a:9092"]);
  });
});

describe("--consume and --publish routes", () => {
  it("parses each form and names the flag when one is wrong", () => {
    expect(parseConsumeRoute("orders=billing")).toEqual({ source: "orders", target: { to: "billing" } });
    expect(parseConsumeRoute("o=topic:shop.orders")).toEqual({
      source: "o",
      target: { topic: "shop.orders" },
    });
    expect(parseConsumeRoute("o.dead=dlq")).toEqual({ source: "o.dead", target: { deadLetter: true } });
    expect(parsePublishRoute("invoices.#=ex:rk", true)).toEqual({
      source: { pattern: "invoices.#" },
      destination: "ex",
      routingKey: "rk",
    });
    expect(parsePublishRoute("agent:sink=ex", true)).toEqual({
      source: { agent: "sink" },
      destination: "ex",
    });
    expect(parsePublishRoute("a.#=topic:with:colons", false)).toEqual({
      source: { pattern: "a.#" },
      destination: "topic:with:colons",
    });
    expect(() => parseConsumeRoute("orders")).toThrow(/--consume must look like/);
    expect(() => parseConsumeRoute("orders=Bad_Agent")).toThrow(/not an agent name/);
    expect(() => parsePublishRoute("bad pattern=x", true)).toThrow(/not a BMN topic pattern/);
  });
});
