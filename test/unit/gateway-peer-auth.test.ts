import { describe, expect, it } from "vitest";
import type { GatewayPeerConfig } from "../../core/config.js";
import type { DomainName } from "../../core/names.js";
import { authenticatePeer } from "../../gateway/peer-auth.js";

const peers = new Map<string, GatewayPeerConfig>([
  ["b", { domain: "b" as DomainName, endpoints: ["http://b:7430"], token: "the-secret-of-link-ab" }],
]);
const headers = (source: string, token: string): Record<string, string> => ({
  "bmn-source-domain": source,
  authorization: `Bearer ${token}`,
});

describe("peer authentication", () => {
  it("accepts the link's token from its peer", () => {
    expect(authenticatePeer(headers("b", "the-secret-of-link-ab"), peers)).toMatchObject({ ok: true });
  });

  it("answers a wrong token of any length, and an unknown domain, the same way", () => {
    const answers = [
      authenticatePeer(headers("b", "x"), peers),
      authenticatePeer(headers("b", "the-secret-of-link-ac"), peers),
      authenticatePeer(headers("b", `the-secret-of-link-ab${"x".repeat(4_000)}`), peers),
      authenticatePeer(headers("zz", "the-secret-of-link-ab"), peers),
    ];
    expect(answers.every((answer) => !answer.ok)).toBe(true);
    expect(new Set(answers.map((answer) => (answer.ok ? "" : answer.message))).size).toBe(1);
  });

  it("refuses a request without a Bearer token or a source domain", () => {
    expect(authenticatePeer({ authorization: "Bearer the-secret-of-link-ab" }, peers)).toMatchObject({
      ok: false,
    });
    expect(authenticatePeer({ "bmn-source-domain": "b" }, peers)).toMatchObject({ ok: false });
    expect(
      authenticatePeer({ "bmn-source-domain": "b", authorization: "Basic the-secret-of-link-ab" }, peers),
    ).toMatchObject({ ok: false });
  });
});
