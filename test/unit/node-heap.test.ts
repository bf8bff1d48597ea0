import { describe, expect, it } from "vitest";
import { nodeHeapEnv, quantityBytes, withNodeHeap } from "../../operator/builders/node-heap.js";

describe("quantityBytes", () => {
  it("reads binary, decimal, exponent and plain quantities", () => {
    expect(quantityBytes("256Mi")).toBe(256 * 2 ** 20);
    expect(quantityBytes("1Gi")).toBe(2 ** 30);
    expect(quantityBytes("500M")).toBe(5e8);
    expect(quantityBytes("1.5G")).toBe(1.5e9);
    expect(quantityBytes("5e8")).toBe(5e8);
    expect(quantityBytes("268435456")).toBe(268_435_456);
    expect(quantityBytes(1_000_000)).toBe(1_000_000);
    expect(quantityBytes("12Qi")).toBeUndefined();
    expect(quantityBytes("lots")).toBeUndefined();
  });
});

describe("nodeHeapEnv and withNodeHeap", () => {
  it("gives V8's old space 40 % of the memory limit, at least 32 MiB", () => {
    expect(nodeHeapEnv({ limits: { memory: "256Mi" } })).toEqual([
      { name: "NODE_OPTIONS", value: "--max-old-space-size=102" },
    ]);
    expect(nodeHeapEnv({ limits: { memory: "1Gi" } })).toEqual([
      { name: "NODE_OPTIONS", value: "--max-old-space-size=409" },
    ]);
    expect(nodeHeapEnv({ limits: { memory: "16Mi" } })).toEqual([
      { name: "NODE_OPTIONS", value: "--max-old-space-size=32" },
    ]);
  });

  it("sets nothing without a memory limit, and never overrides the user's NODE_OPTIONS", () => {
    expect(nodeHeapEnv(undefined)).toEqual([]);
    expect(nodeHeapEnv({ requests: { memory: "64Mi" } })).toEqual([]);
    expect(nodeHeapEnv({ limits: { cpu: "1" } })).toEqual([]);
    const own = { name: "bmn", env: [{ name: "NODE_OPTIONS", value: "--max-old-space-size=900" }] };
    expect(withNodeHeap({ ...own, resources: { limits: { memory: "256Mi" } } }).env).toEqual(own.env);
    expect(withNodeHeap({ name: "bmn", resources: { limits: { memory: "512Mi" } } }).env).toEqual([
      { name: "NODE_OPTIONS", value: "--max-old-space-size=204" },
    ]);
  });
});
