import { describe, expect, it } from "vitest";
import { useInjectedSidecar } from "./injected-sidecar.js";

// `bmnvia` (the domains a message crossed) is written by gateways only: an agent cannot claim another origin.
describe("a hop history written by an agent", () => {
  const sidecar = useInjectedSidecar();

  async function received(agent: string): Promise<Record<string, unknown>[]> {
    const answer = await sidecar().inject({ method: "GET", url: `/v1/agents/${agent}/messages?max=10` });
    return answer
      .json<{ deliveries: { message: Record<string, unknown> }[] }>()
      .deliveries.map((d) => d.message);
  }

  it("is dropped in structured, binary and batch mode; the rest of the message is kept", async () => {
    const structured = await sidecar().inject({
      method: "POST",
      url: "/v1/messages",
      payload: { to: "hops", type: "t", bmnvia: "b", from: "worker", data: { n: 1 } },
    });
    expect(structured.statusCode).toBe(202);
    const binary = await sidecar().inject({
      method: "POST",
      url: "/v1/messages",
      headers: { "ce-to": "hops", "ce-type": "t", "ce-bmnvia": "b", "content-type": "application/json" },
      payload: { n: 2 },
    });
    expect(binary.statusCode).toBe(202);
    const batch = await sidecar().inject({
      method: "POST",
      url: "/v1/messages:batch",
      payload: { messages: [{ to: "hops", type: "t", bmnvia: "b,c", data: { n: 3 } }] },
    });
    expect(batch.statusCode).toBeLessThan(300);
    const messages = await received("hops");
    expect(messages.map((message) => message.data)).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]);
    for (const message of messages) expect(message).not.toHaveProperty("bmnvia");
    expect(messages[0]).toMatchObject({ from: "worker", type: "t" });
  });
});
