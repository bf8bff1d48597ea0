import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../../runtime/config/load-config.js";
import { startSidecar, type RunningSidecar } from "../../../sidecar/start-sidecar.js";
import { InMemoryStore } from "../../../store/memory/memory-store.js";
import { until } from "../../harness/poll-until.js";
import { openRawStream } from "./raw-stream.js";
import { http } from "./sidecar-fixture.js";

interface Delivery {
  leaseId: string;
  message: { id: string; from?: string };
}

/**
 * A sidecar bound to its agent (BMN_AGENT=alice) beside an unbound one on the same store: the bound one must not
 * act for bob in any way, over HTTP or the WebSocket, and every send it accepts is from alice.
 */
describe("a sidecar bound to its agent", () => {
  const store = new InMemoryStore();
  let bound: RunningSidecar;
  let open: RunningSidecar;

  beforeAll(async () => {
    bound = await startSidecar(loadConfig({ port: 0, logLevel: "silent" }, { BMN_AGENT: "alice" }), {
      store,
      logger: false,
    });
    open = await startSidecar(loadConfig({ port: 0, logLevel: "silent" }, {}), { store, logger: false });
  });
  afterAll(async () => {
    await bound.close();
    await open.close();
  });

  const sendAsOpen = async (to: string, from = "carol") =>
    (await http<{ id: string }>(open.url, "POST", "/v1/messages", { json: { to, from, type: "t" } })).body.id;
  const leaseFor = async (agent: string): Promise<Delivery> => {
    await sendAsOpen(agent);
    const answer = await http<{ deliveries: Delivery[] }>(open.url, "GET", `/v1/agents/${agent}/messages`);
    const delivery = answer.body.deliveries[0];
    if (delivery === undefined) throw new Error(`no delivery for ${agent}`);
    return delivery;
  };
  const forbidden = (field: string) => ({ status: 403, body: { errorCode: "FORBIDDEN", field } });

  it.each([
    ["GET", "/v1/agents/bob/messages"],
    ["GET", "/v1/agents/%62ob/messages"],
    ["GET", "/v1/agents/bob/messages?wait=1"],
    ["PUT", "/v1/agents/bob"],
    ["DELETE", "/v1/agents/bob"],
    ["POST", "/v1/agents/bob/heartbeat"],
    ["POST", "/v1/agents/bob/subscriptions"],
    ["DELETE", "/v1/agents/bob/subscriptions?pattern=a.b"],
    ["GET", "/v1/dlq?agent=bob"],
    ["GET", "/v1/dlq/bob/0190a0a0-0000-7000-8000-000000000000"],
  ])("refuses %s %s for another agent with 403", async (method, path) => {
    const json = method === "POST" && path.endsWith("subscriptions") ? { pattern: "a.b" } : undefined;
    expect(await http(bound.url, method, path, json === undefined ? {} : { json })).toMatchObject(
      forbidden("agent"),
    );
  });

  it("serves its own agent", async () => {
    await sendAsOpen("alice");
    const answer = await http<{ deliveries: Delivery[] }>(bound.url, "GET", "/v1/agents/alice/messages");
    expect(answer.status).toBe(200);
    const delivery = answer.body.deliveries[0];
    expect(delivery).toBeDefined();
    expect((await http(bound.url, "POST", `/v1/deliveries/${delivery?.leaseId ?? ""}/ack`)).status).toBe(204);
    expect((await http(bound.url, "PUT", "/v1/agents/alice", { json: {} })).status).toBe(200);
  });

  it("refuses to ack, nack or extend another agent's lease, which stays valid", async () => {
    const delivery = await leaseFor("bob");
    for (const [path, json] of [
      ["ack", undefined],
      ["nack", { deadLetter: true }],
      ["extend", { leaseMs: 60_000 }],
    ] as const) {
      expect(
        await http(bound.url, "POST", `/v1/deliveries/${delivery.leaseId}/${path}`, json ? { json } : {}),
      ).toMatchObject(forbidden("leaseId"));
    }
    expect((await http(open.url, "POST", `/v1/deliveries/${delivery.leaseId}/ack`)).status).toBe(204);
  });

  it("reads, replays and purges only its own dead letters", async () => {
    const bobs = await leaseFor("bob");
    await http(open.url, "POST", `/v1/deliveries/${bobs.leaseId}/nack`, { json: { deadLetter: true } });
    const alices = await leaseFor("alice");
    await http(open.url, "POST", `/v1/deliveries/${alices.leaseId}/nack`, { json: { deadLetter: true } });

    const listed = await http<{ deadLetters: { agent: string }[] }>(bound.url, "GET", "/v1/dlq");
    expect(listed.status).toBe(200);
    expect(new Set(listed.body.deadLetters.map((letter) => letter.agent))).toEqual(new Set(["alice"]));
    expect(await http(bound.url, "POST", "/v1/dlq/purge", { json: { agent: "bob" } })).toMatchObject(
      forbidden("agent"),
    );
    expect(await http(bound.url, "POST", "/v1/dlq/replay", { json: { agent: "bob" } })).toMatchObject(
      forbidden("agent"),
    );
    expect((await http(bound.url, "POST", "/v1/dlq/purge", { json: {} })).status).toBe(200);
    const bobsLetters = await http<{ deadLetters: { message: { id: string } }[] }>(
      open.url,
      "GET",
      "/v1/dlq?agent=bob",
    );
    expect(bobsLetters.body.deadLetters.map((letter) => letter.message.id)).toContain(bobs.message.id);
  });

  it("stamps from on sends and refuses another sender", async () => {
    const sent = await http<{ id: string }>(bound.url, "POST", "/v1/messages", {
      json: { to: "dave", type: "t" },
    });
    expect(sent.status).toBe(202);
    const received = await http<{ deliveries: Delivery[] }>(open.url, "GET", "/v1/agents/dave/messages");
    expect(received.body.deliveries[0]?.message).toMatchObject({ id: sent.body.id, from: "alice" });

    for (const from of ["bob", "alice@elsewhere"]) {
      expect(
        await http(bound.url, "POST", "/v1/messages", { json: { to: "dave", from, type: "t" } }),
      ).toMatchObject(forbidden("from"));
    }
    expect(
      await http(bound.url, "POST", "/v1/messages", {
        headers: {
          "ce-specversion": "1.0",
          "ce-type": "t",
          "ce-to": "dave",
          "ce-from": "bob",
          "ce-id": "x1",
        },
        body: "{}",
      }),
    ).toMatchObject({ status: 403 });
    expect(
      await http(bound.url, "POST", "/v1/messages:batch", {
        json: {
          messages: [
            { to: "dave", type: "t" },
            { to: "dave", from: "bob", type: "t" },
          ],
        },
      }),
    ).toMatchObject({ status: 403, body: { errorCode: "FORBIDDEN" } });
    expect(
      await http(bound.url, "POST", "/v1/requests?timeout=1", {
        json: { to: "dave", from: "bob", type: "t" },
      }),
    ).toMatchObject(forbidden("from"));
    // The refused batch wrote nothing; only the first, stamped send reached dave.
    const left = await http<{ deliveries: Delivery[] }>(open.url, "GET", "/v1/agents/dave/messages?max=10");
    expect(left.body.deliveries).toEqual([]);
  });

  it("serves request/reply for its agent, whose reply inbox is its own", async () => {
    const pending = http<{ reply: { data?: unknown } }>(bound.url, "POST", "/v1/requests?timeout=30", {
      json: { to: "oracle", type: "question" },
    });
    const question = await until(
      async () =>
        (await http<{ deliveries: Delivery[] }>(open.url, "GET", "/v1/agents/oracle/messages")).body
          .deliveries[0],
      10_000,
      "the question to reach oracle",
    );
    const asked = question.message as Delivery["message"] & { replyto?: string; correlationid?: string };
    expect(asked.from).toBe("alice");
    await http(open.url, "POST", "/v1/messages", {
      json: {
        to: asked.replyto,
        from: "oracle",
        type: "answer",
        correlationid: asked.correlationid,
        data: 42,
      },
    });
    expect(await pending).toMatchObject({ status: 200, body: { reply: { data: 42 } } });
  });

  it("refuses another agent's WebSocket stream before the upgrade, and its leases over its own stream", async () => {
    const wsBase = bound.url.replace("http", "ws");
    expect(await openRawStream(`${wsBase}/v1/agents/bob/stream`).refused).toBe(403);

    const delivery = await leaseFor("bob");
    const stream = openRawStream(`${wsBase}/v1/agents/alice/stream`);
    expect(await stream.refused).toBeUndefined();
    for (const type of ["ack", "nack"])
      stream.socket.send(JSON.stringify({ type, leaseId: delivery.leaseId }));
    await until(
      () => stream.frames.length >= 2,
      5_000,
      "two error frames",
      () => JSON.stringify(stream.frames),
    );
    expect(stream.frames).toEqual([
      expect.objectContaining({ type: "error", errorCode: "FORBIDDEN", field: "leaseId" }),
      expect.objectContaining({ type: "error", errorCode: "FORBIDDEN", field: "leaseId" }),
    ]);
    stream.socket.close();
    expect((await http(open.url, "POST", `/v1/deliveries/${delivery.leaseId}/ack`)).status).toBe(204);
  });
});
