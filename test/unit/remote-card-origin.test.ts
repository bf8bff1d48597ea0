import { describe, expect, it } from "vitest";
import type { AgentCard } from "../../core/api/a2a-api.js";
import { jsonRpcUrl, RemoteRefusal } from "../../sidecar/a2a/remote-client.js";

const CARD_URL = "https://agent.example.com/.well-known/agent-card.json";
const cardWith = (url: string): AgentCard =>
  ({
    supportedInterfaces: [{ url, protocolBinding: "JSONRPC", protocolVersion: "1.0" }],
  }) as unknown as AgentCard; // only the interfaces are read

describe("where the bridge sends a remote agent's calls", () => {
  it("is the JSON-RPC interface on the card's own origin", () => {
    expect(jsonRpcUrl(cardWith("https://agent.example.com/a2a"), CARD_URL)).toBe(
      "https://agent.example.com/a2a",
    );
  });

  it("never a URL the card points elsewhere, e.g. inside the cluster", () => {
    for (const url of [
      "http://10.0.0.1/a2a",
      "https://agent.example.com:8443/a2a",
      "http://agent.example.com/a2a",
      "not a url",
    ])
      expect(() => jsonRpcUrl(cardWith(url), CARD_URL)).toThrow(RemoteRefusal);
  });
});
