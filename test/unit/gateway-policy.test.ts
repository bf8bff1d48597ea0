import { describe, expect, it } from "vitest";
import { gatewayConfigSchema, gatewayPolicyConfigSchema, sidecarConfigSchema } from "../../core/config.js";
import { createMessage } from "../../core/envelope.js";
import { BoundaryPolicy } from "../../gateway/boundary-policy.js";
import { authenticatePeer } from "../../gateway/peer-auth.js";

const policyOf = (input: Record<string, unknown>) =>
  new BoundaryPolicy(gatewayPolicyConfigSchema.parse(input));
const message = (extra: Record<string, unknown> = {}) =>
  createMessage({ to: "x@b", type: "orders.created", ...extra });

describe("boundary policy", () => {
  it("admits everything without rules", () => {
    expect(policyOf({}).check(message(), "a", "a", 100)).toBeUndefined();
  });

  it("refuses source domains not listed, by origin and by the peer that hands the message in", () => {
    const policy = policyOf({ allowedSourceDomains: ["a", "hub"] });
    expect(policy.check(message(), "a", "hub", 1)).toBeUndefined();
    expect(policy.check(message(), "evil", "hub", 1)).toMatchObject({ reason: "forbidden" });
    expect(policy.check(message(), "a", "evil", 1)?.message).toMatch(/source domain evil/);
  });

  it("refuses agents not listed (name anywhere, or name@domain), and messages without from", () => {
    const policy = policyOf({ allowedSourceAgents: ["planner", "bot@a"] });
    expect(policy.check(message({ from: "planner@z" }), "z", "z", 1)).toBeUndefined();
    expect(policy.check(message({ from: "bot" }), "a", "a", 1)).toBeUndefined();
    expect(policy.check(message({ from: "bot@c" }), "c", "c", 1)).toMatchObject({ reason: "forbidden" });
    expect(policy.check(message(), "a", "a", 1)).toMatchObject({ reason: "forbidden" });
  });

  it("matches message types exactly or by a prefix ending in *", () => {
    const policy = policyOf({ allowedMessageTypes: ["orders.*", "ping"] });
    expect(policy.check(message(), "a", "a", 1)).toBeUndefined();
    expect(policy.check(message({ type: "ping" }), "a", "a", 1)).toBeUndefined();
    expect(policy.check(message({ type: "payments.sent" }), "a", "a", 1)).toMatchObject({
      reason: "forbidden",
    });
  });

  it("refuses larger messages as too-large", () => {
    expect(policyOf({ maxMessageBytes: 10 }).check(message(), "a", "a", 11)).toMatchObject({
      reason: "too-large",
    });
  });
});

describe("peer authentication", () => {
  const peers = new Map([
    ["a", { domain: "a", endpoints: ["http://x"], token: "the-secret-token" }],
  ]) as never;
  it("accepts the peer's token for its domain only", () => {
    const ok = authenticatePeer(
      { "bmn-source-domain": "a", authorization: "Bearer the-secret-token" },
      peers,
    );
    expect(ok).toMatchObject({ ok: true });
    expect(
      authenticatePeer({ "bmn-source-domain": "a", authorization: "Bearer the-secret-tokeN" }, peers).ok,
    ).toBe(false);
    expect(
      authenticatePeer({ "bmn-source-domain": "b", authorization: "Bearer the-secret-token" }, peers).ok,
    ).toBe(false);
    expect(authenticatePeer({ authorization: "Bearer the-secret-token" }, peers).ok).toBe(false);
    expect(authenticatePeer({ "bmn-source-domain": "a" }, peers).ok).toBe(false);
  });
});

describe("gateway config", () => {
  it("fills defaults", () => {
    const config = gatewayConfigSchema.parse({});
    expect(config).toMatchObject({
      host: "127.0.0.1",
      port: 7430,
      peers: [],
      batching: { maxMessages: 256, maxBytes: 1_048_576, maxDelayMs: 10 },
      compression: { algorithm: "brotli", minBytes: 1_024 },
      retry: { maxForwardAttempts: 0, backoffBaseMs: 200, backoffMaxMs: 30_000 },
      breaker: { failureThreshold: 5, openMs: 30_000 },
      requestTimeoutMs: 10_000,
      routeRefreshMs: 2_000,
      maxHops: 8,
    });
  });

  it.each([
    [{ peers: [{ domain: "b", endpoints: [], token: "12345678" }] }, "peers.0.endpoints"],
    [{ peers: [{ domain: "b", endpoints: ["http://x"], token: "short" }] }, "peers.0.token"],
    [{ peers: [{ domain: "B", endpoints: ["http://x"], token: "12345678" }] }, "peers.0.domain"],
    [{ compression: { algorithm: "zstd" } }, "compression.algorithm"],
    [{ tls: { certFile: "c", keyFile: "k", requireClientCert: true } }, "tls.caFile"],
    [{ batching: { maxMesages: 1 } }, "batching"],
    [
      {
        peers: [
          { domain: "b", endpoints: ["http://x"], token: "12345678" },
          { domain: "b", endpoints: ["http://y"], token: "12345678" },
        ],
      },
      "peers",
    ],
  ])("names the field of %j", (gateway, field) => {
    const result = gatewayConfigSchema.safeParse(gateway);
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.path.join(".")).toBe(field);
  });

  it("is an optional section of the sidecar config", () => {
    expect(sidecarConfigSchema.parse({}).gateway).toBeUndefined();
    expect(sidecarConfigSchema.parse({ gateway: {} }).gateway?.port).toBe(7430);
  });
});
