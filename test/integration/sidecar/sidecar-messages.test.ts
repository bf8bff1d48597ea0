import { describe, expect, it } from "vitest";
import { until } from "../../harness/poll-until.js";
import { BACKENDS, http, useSidecar } from "./sidecar-fixture.js";

interface Deliveries {
  deliveries: { leaseId: string; attempt: number; message: Record<string, unknown> }[];
}

describe.each(BACKENDS)("sidecar messages over HTTP (%s)", (backend) => {
  const fixture = useSidecar(backend);
  /** A finished request's reply inbox is deleted (right after the answer is sent, hence the poll). */
  const noReplyInboxLeft = (): Promise<unknown> =>
    until(
      async () => !(await fixture.sidecar.store.listQueues()).some((queue) => queue.startsWith("reply-")),
      5_000,
      "the reply inbox to be deleted",
      async () => (await fixture.sidecar.store.listQueues()).join(","),
    );
  const receive = (agent: string, query = "max=100") =>
    http<Deliveries>(fixture.url, "GET", `/v1/agents/${agent}/messages?${query}`);

  it("accepts a plain JSON message, a structured CloudEvent and a binary-mode CloudEvent", async () => {
    const plain = await http(fixture.url, "POST", "/v1/messages", {
      json: { to: "m1", type: "greeting", data: { hi: 1 } },
    });
    expect(plain).toMatchObject({ status: 202, body: { duplicate: false } });
    const structured = await http(fixture.url, "POST", "/v1/messages", {
      body: JSON.stringify({
        specversion: "1.0",
        id: "ce-1",
        source: "urn:test",
        type: "greeting",
        to: "m1@local",
        data: "x",
      }),
      headers: { "content-type": "application/cloudevents+json; charset=utf-8" },
    });
    expect(structured).toMatchObject({ status: 202, body: { id: "ce-1", duplicate: false } });
    const binary = await http(fixture.url, "POST", "/v1/messages", {
      body: Buffer.from([0, 1, 2, 255]),
      headers: {
        "content-type": "application/octet-stream",
        "ce-type": "blob",
        "ce-to": "m1",
        "ce-priority": "9",
        "ce-id": "bin-1",
      },
    });
    expect(binary).toMatchObject({ status: 202, body: { id: "bin-1" } });

    const { body } = await receive("m1");
    // Priority 9 first, then the two default-priority messages in the order sent.
    expect(body.deliveries.map((delivery) => delivery.message.id)).toEqual(["bin-1", plain.body.id, "ce-1"]);
    expect(body.deliveries[0]?.message).toMatchObject({
      data_base64: "AAEC/w==",
      datacontenttype: "application/octet-stream",
    });
    expect(body.deliveries[1]?.message).toMatchObject({
      specversion: "1.0",
      type: "greeting",
      data: { hi: 1 },
      source: "bmn://local",
    });
  });

  it("answers duplicate: true for a repeated id and delivers once", async () => {
    const message = { id: "dup-1", to: "m2", type: "t" };
    expect((await http(fixture.url, "POST", "/v1/messages", { json: message })).body).toMatchObject({
      duplicate: false,
    });
    expect((await http(fixture.url, "POST", "/v1/messages", { json: message })).body).toMatchObject({
      duplicate: true,
    });
    expect((await receive("m2")).body.deliveries).toHaveLength(1);
  });

  it("publishes to subscribers of a topic pattern", async () => {
    await http(fixture.url, "POST", "/v1/agents/sub-a/subscriptions", { json: { pattern: "orders.*" } });
    await http(fixture.url, "POST", "/v1/agents/sub-b/subscriptions", { json: { pattern: "orders.#" } });
    const sent = await http(fixture.url, "POST", "/v1/messages", {
      json: { topic: "orders.created", type: "order" },
    });
    expect(sent).toMatchObject({ status: 202, body: { recipients: ["sub-a", "sub-b"] } });
    expect((await receive("sub-a")).body.deliveries).toHaveLength(1);
    expect((await receive("sub-b")).body.deliveries).toHaveLength(1);
  });

  it("sends a batch all or nothing", async () => {
    const good = await http(fixture.url, "POST", "/v1/messages:batch", {
      json: {
        messages: [
          { to: "b1", type: "a" },
          { to: "b1", type: "b", priority: 1 },
        ],
      },
    });
    expect(good.status).toBe(202);
    expect((good.body as { results: unknown[] }).results).toHaveLength(2);
    const bad = await http(fixture.url, "POST", "/v1/messages:batch", {
      json: {
        messages: [
          { to: "b2", type: "a" },
          { to: "b2", type: "b", priority: 99 },
        ],
      },
    });
    expect(bad).toMatchObject({
      status: 400,
      body: { errorCode: "INVALID_MESSAGE", field: "messages.1.priority" },
    });
    expect((await receive("b2")).body.deliveries).toEqual([]);
    expect((await receive("b1")).body.deliveries.map((delivery) => delivery.message.type)).toEqual([
      "a",
      "b",
    ]);
  });

  it("request/reply: waits for the reply carrying the request's correlation id", async () => {
    const responder = (async () => {
      const { body } = await receive("oracle", "max=1&wait=10");
      const request = body.deliveries[0];
      if (request === undefined) throw new Error("no request arrived");
      await http(fixture.url, "POST", "/v1/messages", {
        json: {
          to: request.message.replyto,
          correlationid: request.message.correlationid,
          type: "answer",
          data: 42,
        },
      });
      await http(fixture.url, "POST", `/v1/deliveries/${request.leaseId}/ack`);
    })();
    const answer = await http<{ reply: Record<string, unknown> }>(
      fixture.url,
      "POST",
      "/v1/requests?timeout=10",
      {
        json: { to: "oracle", type: "question", data: "meaning" },
      },
    );
    await responder;
    expect(answer).toMatchObject({ status: 200, body: { reply: { type: "answer", data: 42 } } });
    await noReplyInboxLeft();
  });

  it("request/reply answers 504 TIMEOUT when nobody replies", async () => {
    const answer = await http(fixture.url, "POST", "/v1/requests?timeout=0.2", {
      json: { to: "nobody-home", type: "q" },
    });
    expect(answer).toMatchObject({ status: 504, body: { errorCode: "TIMEOUT" } });
    await noReplyInboxLeft();
  });

  describe("bad input", () => {
    const cases: {
      name: string;
      send: () => Promise<{ status: number; body: unknown }>;
      status: number;
      errorCode: string;
      field?: string;
    }[] = [
      {
        name: "malformed JSON",
        send: () =>
          http(fixture.url, "POST", "/v1/messages", {
            body: "{not json",
            headers: { "content-type": "application/json" },
          }),
        status: 400,
        errorCode: "INVALID_JSON",
      },
      {
        name: "a JSON array",
        send: () => http(fixture.url, "POST", "/v1/messages", { json: [1, 2] }),
        status: 400,
        errorCode: "INVALID_MESSAGE",
      },
      {
        name: "wrong content type",
        send: () =>
          http(fixture.url, "POST", "/v1/messages", {
            body: "to=a",
            headers: { "content-type": "application/x-www-form-urlencoded" },
          }),
        status: 415,
        errorCode: "UNSUPPORTED_MEDIA_TYPE",
      },
      {
        name: "neither to nor topic",
        send: () => http(fixture.url, "POST", "/v1/messages", { json: { type: "t" } }),
        status: 400,
        errorCode: "INVALID_MESSAGE",
        field: "to",
      },
      {
        name: "missing type",
        send: () => http(fixture.url, "POST", "/v1/messages", { json: { to: "a" } }),
        status: 400,
        errorCode: "INVALID_MESSAGE",
        field: "type",
      },
      {
        name: "priority of the wrong type",
        send: () =>
          http(fixture.url, "POST", "/v1/messages", { json: { to: "a", type: "t", priority: "high" } }),
        status: 400,
        errorCode: "INVALID_MESSAGE",
        field: "priority",
      },
      {
        name: "an invalid address",
        send: () => http(fixture.url, "POST", "/v1/messages", { json: { to: "Bad*Agent", type: "t" } }),
        status: 400,
        errorCode: "INVALID_MESSAGE",
        field: "to",
      },
      {
        name: "an address in a domain with no route",
        send: () => http(fixture.url, "POST", "/v1/messages", { json: { to: "a@elsewhere", type: "t" } }),
        status: 422,
        errorCode: "UNROUTABLE",
        field: "to",
      },
      {
        name: "a bad id",
        send: () => http(fixture.url, "POST", "/v1/messages", { json: { to: "a", type: "t", id: "x{y}" } }),
        status: 400,
        errorCode: "INVALID_MESSAGE",
        field: "id",
      },
      {
        name: "a binary-mode header that is not a number",
        send: () =>
          http(fixture.url, "POST", "/v1/messages", {
            body: "x",
            headers: { "content-type": "text/plain", "ce-type": "t", "ce-to": "a", "ce-priority": "urgent" },
          }),
        status: 400,
        errorCode: "INVALID_MESSAGE",
        field: "ce-priority",
      },
      {
        name: "a binary-mode attribute with a bad value",
        send: () =>
          http(fixture.url, "POST", "/v1/messages", {
            body: "x",
            headers: { "content-type": "text/plain", "ce-type": "t", "ce-to": "NOPE!" },
          }),
        status: 400,
        errorCode: "INVALID_MESSAGE",
        field: "ce-to",
      },
      {
        name: "a binary-mode header with a bad attribute name",
        send: () =>
          http(fixture.url, "POST", "/v1/messages", {
            body: "x",
            headers: { "content-type": "text/plain", "ce-type": "t", "ce-to": "a", "ce-bad_name": "1" },
          }),
        status: 400,
        errorCode: "INVALID_MESSAGE",
        field: "ce-bad_name",
      },
      {
        name: "an oversized body",
        send: () =>
          http(fixture.url, "POST", "/v1/messages", {
            json: { to: "a", type: "t", data: "x".repeat(1024 * 1024 + 10) },
          }),
        status: 413,
        errorCode: "TOO_LARGE",
      },
      {
        name: "an invalid agent in the receive path",
        send: () => http(fixture.url, "GET", "/v1/agents/a%3Ab/messages"),
        status: 400,
        errorCode: "INVALID_ADDRESS",
        field: "agent",
      },
      {
        name: "a receive with a bad max",
        send: () => http(fixture.url, "GET", "/v1/agents/a/messages?max=0"),
        status: 400,
        errorCode: "INVALID_ARGUMENT",
        field: "max",
      },
      {
        name: "an unknown lease",
        send: () => http(fixture.url, "POST", "/v1/deliveries/a.0190.1/ack"),
        status: 404,
        errorCode: "LEASE_NOT_FOUND",
      },
      {
        name: "a malformed lease id",
        send: () => http(fixture.url, "POST", "/v1/deliveries/%7B%7D/nack", { json: {} }),
        status: 404,
        errorCode: "LEASE_NOT_FOUND",
      },
      {
        name: "a nack body with a wrong type",
        send: () => http(fixture.url, "POST", "/v1/deliveries/a.b.1/nack", { json: { delayMs: "soon" } }),
        status: 400,
        errorCode: "INVALID_ARGUMENT",
        field: "delayMs",
      },
      {
        name: "a commit of an unknown transaction",
        send: () =>
          http(fixture.url, "POST", "/v1/transactions/tx-00000000-0000-7000-8000-000000000000/commit"),
        status: 404,
        errorCode: "TX_NOT_FOUND",
      },
      {
        name: "an unknown route",
        send: () => http(fixture.url, "GET", "/v2/nothing"),
        status: 404,
        errorCode: "NOT_FOUND",
      },
    ];

    it.each(cases)(
      "answers $status $errorCode for $name, and keeps serving with nothing lost",
      async (testCase) => {
        const kept = await http<{ id: string }>(fixture.url, "POST", "/v1/messages", {
          json: { to: "canary", type: "keep" },
        });
        const answer = await testCase.send();
        expect(answer.status).toBe(testCase.status);
        expect(answer.body).toMatchObject({
          errorCode: testCase.errorCode,
          message: expect.any(String) as string,
        });
        if (testCase.field !== undefined) expect(answer.body).toMatchObject({ field: testCase.field });
        expect((await http(fixture.url, "GET", "/healthz")).status).toBe(200);
        const { body } = await receive("canary", "max=1000");
        expect(body.deliveries.map((delivery) => delivery.message.id)).toContain(kept.body.id);
        for (const delivery of body.deliveries)
          await http(fixture.url, "POST", `/v1/deliveries/${delivery.leaseId}/ack`);
      },
    );
  });
});
