import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { DedupingAgent, Domains, sendMessages, type OutgoingMessage } from "./harness/domains.js";
import {
  deadLetters,
  idsInRedis,
  printCounts,
  receivedFrom,
  until,
  untilSettled,
} from "./harness/gateway-observe.js";

/**
 * The boundary of domain b between real processes: b's gateway admits only message types `task.*` (its
 * `gateway.policy`) and only peers that present their link's token. A refused message is dead-lettered in the
 * SOURCE domain a with reason `forbidden` (read through a's sidecar, `GET /v1/dlq?reason=forbidden`) and never
 * enters b's store (checked in b's Redis itself); a request with a forged or missing token is answered 401 and
 * stores nothing.
 */

const SUITE = "cross-domain-policy";

let domains: Domains;
let agent: DedupingAgent | undefined;

const sidecarA = (): string => domains.domain("a").sidecarUrl;
const sidecarB = (): string => domains.domain("b").sidecarUrl;
const gatewayB = (): string => domains.domain("b").gateway(0).url;

beforeAll(async () => {
  domains = await Domains.start({
    domains: ["a", "b"],
    perDomain: { b: { gateway: { policy: { allowedMessageTypes: ["task.*"] } } } },
  });
});

afterEach(async () => {
  await agent?.stop();
  agent = undefined;
});

afterAll(async () => {
  await domains.stop();
});

describe("boundary policy and peer authentication between domains (real processes)", () => {
  it("a refused message ends up in the source DLQ as `forbidden` and never enters the target store", async () => {
    const receiver = new DedupingAgent(sidecarB, "worker").start();
    agent = receiver;
    // Every fourth message has a type b does not admit; they travel in the same batches as the admitted ones.
    const messages: OutgoingMessage[] = Array.from({ length: 800 }, (_, index) => ({
      id: `policy-${index}`,
      to: "worker@b",
      type: index % 4 === 3 ? "secret.exfiltrate" : "task.run",
      data: { index },
    }));
    const allowed = messages.filter((message) => message.type === "task.run").map((message) => message.id);
    const forbidden = messages.filter((message) => message.type !== "task.run").map((message) => message.id);
    const refusedBefore = await receivedFrom(gatewayB(), "a", "refused");

    const accepted = await sendMessages(sidecarA, messages);
    expect(accepted.size).toBe(messages.length);
    await receiver.untilDelivered(allowed, 60_000);
    const letters = await until(
      async () => {
        const found = (await deadLetters(sidecarA(), "forbidden")).filter((letter) =>
          letter.message.id.startsWith("policy-"),
        );
        return found.length >= forbidden.length ? found : undefined;
      },
      60_000,
      "every refused message to be dead-lettered in a",
    );

    await untilSettled([{ sidecarUrl: sidecarA(), destination: "b" }], {
      sidecarUrl: sidecarB(),
      name: "worker",
    });

    // In a's DLQ: exactly the refused messages, under b's outbox, with the reason and the hops.
    expect(letters.map((letter) => letter.message.id).sort()).toEqual([...forbidden].sort());
    for (const letter of letters) {
      expect(letter.reason).toBe("forbidden");
      expect(letter.agent).toBe("bmn.out.b");
      expect(letter.lastError).toContain("refused by domain b");
      expect(letter.lastError).toContain("(hops: a -> b)");
    }
    // Not in b: never delivered, b's gateway refused each once, and b's Redis holds no trace of them (while it
    // does hold the admitted ones, in the dedupe window: the check can see what is there).
    const counts = receiver.counts(allowed);
    const refused = (await receivedFrom(gatewayB(), "a", "refused")) - refusedBefore;
    const inB = await idsInRedis(domains.domain("b").redis.url, [...forbidden, ...allowed.slice(0, 10)]);
    const forbiddenInB = forbidden.filter((id) => inB.has(id));
    printCounts(SUITE, "policy-refused messages dead-lettered at the source", counts, {
      refusedByB: refused,
      deadLetteredForbiddenInA: letters.length,
      forbiddenFoundInBStore: forbiddenInB.length,
    });
    expect(counts).toEqual({ expected: 600, delivered: 600, duplicates: 0, lost: 0, unexpected: 0 });
    expect(refused).toBe(forbidden.length);
    expect(forbiddenInB).toEqual([]);
    expect(allowed.slice(0, 10).every((id) => inB.has(id))).toBe(true);
    expect(await deadLetters(sidecarB())).toEqual([]);
  });

  it("a forged or missing peer token is answered 401 and nothing enters the target store", async () => {
    const receiver = new DedupingAgent(sidecarB, "worker").start();
    agent = receiver;
    const message = (id: string): OutgoingMessage & Record<string, unknown> => ({
      specversion: "1.0",
      id,
      source: "bmn://a/mallory",
      type: "task.run",
      to: "worker@b",
      data: { forged: true },
    });
    const goodToken = "token-a-b";
    const attempts: { name: string; headers: Record<string, string> }[] = [
      { name: "no authorization header", headers: { "bmn-source-domain": "a" } },
      { name: "forged token", headers: { "bmn-source-domain": "a", authorization: "Bearer token-forged-x" } },
      {
        name: "right token, one character off",
        headers: { "bmn-source-domain": "a", authorization: "Bearer token-a-c" },
      },
      { name: "no source domain", headers: { authorization: `Bearer ${goodToken}` } },
      {
        name: "the link's token, claimed by an unknown domain",
        headers: { "bmn-source-domain": "z", authorization: `Bearer ${goodToken}` },
      },
      {
        name: "not a Bearer token",
        headers: { "bmn-source-domain": "a", authorization: `Basic ${goodToken}` },
      },
    ];
    const forgedIds: string[] = [];
    const answers: Record<string, number> = {};
    for (const [index, attempt] of attempts.entries()) {
      const id = `forged-${index}`;
      forgedIds.push(id);
      const response = await fetch(`${gatewayB()}/v1/gateway/batches`, {
        method: "POST",
        headers: { "content-type": "application/json", ...attempt.headers },
        body: JSON.stringify({ messages: [message(id)] }),
      });
      const body = (await response.json()) as { errorCode?: string };
      answers[attempt.name] = response.status;
      expect(response.status, attempt.name).toBe(401);
      expect(body.errorCode, attempt.name).toBe("UNAUTHENTICATED");
      expect(response.headers.get("www-authenticate"), attempt.name).toBe("Bearer");
    }
    const routes = await fetch(`${gatewayB()}/v1/gateway/routes`, {
      headers: { "bmn-source-domain": "a", authorization: "Bearer token-forged-x" },
    });
    await routes.text();
    expect(routes.status).toBe(401);

    // A barrier: a message through the real link, sent after the forged ones, arrives; the forged ones do not,
    // and b's Redis holds none of them.
    const legit = await sendMessages(sidecarA, [
      { id: "auth-legit", to: "worker@b", type: "task.run", data: {} },
    ]);
    await receiver.untilDelivered(legit, 30_000);
    await untilSettled([{ sidecarUrl: sidecarA(), destination: "b" }], {
      sidecarUrl: sidecarB(),
      name: "worker",
    });
    const inB = await idsInRedis(domains.domain("b").redis.url, [...forgedIds, "auth-legit"]);
    const counts = receiver.counts(legit);
    printCounts(SUITE, "forged or missing peer token", counts, {
      forgedRequests: attempts.length,
      answers,
      forgedFoundInBStore: forgedIds.filter((id) => inB.has(id)).length,
    });
    expect(counts).toEqual({ expected: 1, delivered: 1, duplicates: 0, lost: 0, unexpected: 0 });
    expect(forgedIds.filter((id) => inB.has(id))).toEqual([]);
    expect(inB.has("auth-legit")).toBe(true);
  });
});
