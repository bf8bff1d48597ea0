import { brotliCompressSync, gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../../runtime/config/load-config.js";
import { startGateway } from "../../../gateway/start-gateway.js";
import {
  eventually,
  receiveAll,
  send,
  startTopology,
  tokenFor,
  type DomainNode,
  type Topology,
} from "./gateway-fixture.js";

describe("gateway: two domains in one process (memory stores)", () => {
  let topology: Topology;
  let a: DomainNode;
  let b: DomainNode;

  beforeAll(async () => {
    topology = await startTopology(["a", "b"], [["a", "b"]], {
      perDomain: { b: { policy: { allowedMessageTypes: ["task.*", "note"] } } },
    });
    a = topology.node("a");
    b = topology.node("b");
  });
  afterAll(async () => {
    await topology.close();
  });

  it("delivers a message sent to alice@b through a's sidecar to alice in b exactly once", async () => {
    const sent = await send(a.sidecar, { to: "alice@b", type: "task.created", data: { n: 1 } });
    expect(sent.status).toBe(202);
    const received = await receiveAll(b.sidecar, "alice", 1);
    expect(received.map((message) => message.id)).toEqual([sent.body.id]);
    expect(received[0]?.bmnvia).toBe("a");
    // Nothing more arrives, and the outbox in a is empty.
    expect(await receiveAll(b.sidecar, "alice", 1, 300)).toEqual([]);
    await eventually(
      async () => ((await a.store.queueStats("bmn.out.b")).depth === 0 ? true : undefined),
      "empty outbox",
    );
  });

  it("dead-letters a message refused by b's policy in a as forbidden; it never enters b", async () => {
    const sent = await send(a.sidecar, { to: "bob@b", type: "secret.leak", data: {} });
    expect(sent.status).toBe(202);
    const letter = await eventually(
      async () =>
        (await a.store.listDeadLetters({ reason: "forbidden" })).find((d) => d.message.id === sent.body.id),
      "a forbidden dead letter in a",
    );
    expect(letter.lastError).toMatch(/secret\.leak/);
    expect(letter.lastError).toMatch(/a -> b/);
    expect((await b.store.queueStats("bob")).depth).toBe(0);
    expect(await b.store.traceOf(sent.body.id ?? "")).toEqual([]);
  });

  it("answers 401 to a missing or forged token", async () => {
    const body = JSON.stringify({ messages: [] });
    const headers = { "content-type": "application/json", "bmn-source-domain": "a" };
    const missing = await fetch(`${b.gatewayUrl}/v1/gateway/batches`, { method: "POST", headers, body });
    expect(missing.status).toBe(401);
    expect(await missing.json()).toMatchObject({ errorCode: "UNAUTHENTICATED" });
    const forged = await fetch(`${b.gatewayUrl}/v1/gateway/batches`, {
      method: "POST",
      headers: { ...headers, authorization: "Bearer forged-token-123" },
      body,
    });
    expect(forged.status).toBe(401);
    const wrongDomain = await fetch(`${b.gatewayUrl}/v1/gateway/routes`, {
      headers: { "bmn-source-domain": "zzz", authorization: `Bearer ${tokenFor("a", "b")}` },
    });
    expect(wrongDomain.status).toBe(401);
  });

  it("accepts a resent batch once (a lost ack): the second time every message is a duplicate", async () => {
    const message = {
      specversion: "1.0",
      id: "0190a5d0-0000-7000-8000-000000000001",
      source: "bmn://a",
      type: "note",
      to: "carol@b",
      bmnvia: "a",
    };
    const post = () =>
      fetch(`${b.gatewayUrl}/v1/gateway/batches`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "bmn-source-domain": "a",
          authorization: `Bearer ${tokenFor("a", "b")}`,
        },
        body: JSON.stringify({ messages: [message] }),
      });
    const first = (await (await post()).json()) as { results: { status: string }[] };
    const second = (await (await post()).json()) as { results: { status: string }[] };
    expect(first.results.map((result) => result.status)).toEqual(["accepted"]);
    expect(second.results.map((result) => result.status)).toEqual(["duplicate"]);
    expect(await receiveAll(b.sidecar, "carol", 2, 500)).toHaveLength(1);
  });

  it("compresses batches above minBytes (brotli by default) and counts bytes before and after", async () => {
    const ids: string[] = [];
    const summary =
      "the agent reviewed the pull request and found three issues in the parser module; ".repeat(4);
    await Promise.all(
      Array.from({ length: 40 }, async (_, n) => {
        const sent = await send(a.sidecar, { to: "dave@b", type: "task.review", data: { n, summary } });
        ids.push(sent.body.id ?? "");
      }),
    );
    const received = await receiveAll(b.sidecar, "dave", 40);
    expect(received.map((m) => m.id).sort()).toEqual(ids.sort());
    const metrics = await (await fetch(`${a.gatewayUrl}/metrics`)).text();
    const value = (stage: string) =>
      Number(
        new RegExp(`bmn_gateway_bytes_total\\{peer="b",direction="sent",stage="${stage}"\\} (\\d+)`).exec(
          metrics,
        )?.[1],
      );
    expect(value("wire")).toBeGreaterThan(0);
    expect(value("wire")).toBeLessThan(value("uncompressed") * 0.5);
    expect(metrics).toMatch(/bmn_gateway_batch_messages_count\{peer="b"\} [1-9]/);
    expect(metrics).toMatch(/bmn_gateway_link_rtt_seconds_count\{peer="b"\} [1-9]/);
    expect(metrics).toMatch(/bmn_gateway_outbox_depth\{destination="b"\} 0/);
    const inbound = await (await fetch(`${b.gatewayUrl}/metrics`)).text();
    expect(inbound).toMatch(/bmn_gateway_messages_received_total\{peer="a",status="accepted"\} [1-9]/);
  });

  it("shares an outbox between two replicas of a's gateway without sending a message twice", async () => {
    const replica = await startGateway(
      loadConfig(
        { domain: "a", logLevel: "silent", gateway: { ...a.gateway?.config, port: 0, id: "gw-a2" } },
        {},
      ),
      { store: a.store, logger: false },
    );
    const duplicatesSeenByB = async () =>
      Number(
        /bmn_gateway_messages_received_total\{peer="a",status="duplicate"\} (\d+)/.exec(
          await (await fetch(`${b.gatewayUrl}/metrics`)).text(),
        )?.[1] ?? 0,
      );
    const duplicatesBefore = await duplicatesSeenByB();
    try {
      const ids: string[] = [];
      for (let n = 0; n < 60; n++)
        ids.push((await send(a.sidecar, { to: "erin@b", type: "task.x", data: { n } })).body.id ?? "");
      const received = await receiveAll(b.sidecar, "erin", 60);
      expect(received.map((m) => m.id).sort()).toEqual([...ids].sort());
      expect(await receiveAll(b.sidecar, "erin", 1, 300)).toEqual([]);
      // Both replicas leased from the one outbox: b saw no duplicate (no message was sent twice).
      expect(await duplicatesSeenByB()).toBe(duplicatesBefore);
    } finally {
      await replica.close();
    }
  });

  it("accepts gzip and br request bodies and refuses one that inflates past the cap with 413", async () => {
    const headers = {
      "content-type": "application/json",
      "bmn-source-domain": "a",
      authorization: `Bearer ${tokenFor("a", "b")}`,
    };
    const message = {
      specversion: "1.0",
      id: "0190a5d0-0000-7000-8000-0000000000b1",
      source: "bmn://a",
      type: "note",
      to: "frank@b",
      bmnvia: "a",
    };
    const body = Buffer.from(JSON.stringify({ messages: [message] }));
    const gz = await fetch(`${b.gatewayUrl}/v1/gateway/batches`, {
      method: "POST",
      headers: { ...headers, "content-encoding": "gzip" },
      body: gzipSync(body),
    });
    expect(await gz.json()).toEqual({ results: [{ id: message.id, status: "accepted" }] });
    const br = await fetch(`${b.gatewayUrl}/v1/gateway/batches`, {
      method: "POST",
      headers: { ...headers, "content-encoding": "br" },
      body: brotliCompressSync(body),
    });
    expect(await br.json()).toEqual({ results: [{ id: message.id, status: "duplicate" }] });
    const bomb = await fetch(`${b.gatewayUrl}/v1/gateway/batches`, {
      method: "POST",
      headers: { ...headers, "content-encoding": "gzip" },
      body: gzipSync(Buffer.alloc(64 * 1024 * 1024, 32)),
    });
    expect(bomb.status).toBe(413);
    expect(await bomb.json()).toMatchObject({ errorCode: "TOO_LARGE" });
  });
});
