import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BmnClient, type Message } from "../client/index.js";
import { BMN, type BmnProcess } from "../test/harness/bmn-process.js";
import { LegacyAgent } from "../test/harness/legacy-agent.js";
import { until } from "../test/harness/poll-until.js";
import { startRedis, type RedisServerHandle } from "../test/harness/redis-server.js";
import { bridgeCount, doctor, receiveUntil, startBridge, tallyReceived } from "./harness/bridge-process.js";
import { startSidecar, type SidecarProcess } from "./harness/sidecar-process.js";

// One Redis (the legacy network and the domain's store at once), one sidecar and one bridge for the whole file.
let redis: RedisServerHandle;
let sidecar: SidecarProcess;
let bridge: BmnProcess;
let bob: LegacyAgent;
let alice: BmnClient;

const BRIDGE_ENV = {
  BMN_BRIDGE_ANNOUNCE_MS: "500",
  BMN_BRIDGE_REFRESH_MS: "200",
  BMN_BRIDGE_OFFLINE_MS: "4000",
  // What the killed bridge held leased comes back after this (30 s by default).
  BMN_BRIDGE_LEASE_MS: "3000",
};

beforeAll(async () => {
  redis = await startRedis({ appendOnly: true });
  sidecar = await startSidecar({ BMN_STORE: "redis", BMN_REDIS_URL: redis.url });
  alice = new BmnClient({ url: sidecar.url, agent: "alice" });
  await alice.register({ capabilities: ["code-review"], ttlSeconds: 3_600 });
  await alice.subscribe("legacy.#");
  bridge = await startBridge("legacy bridge", sidecar.url, ["legacy", "--redis-url", redis.url], BRIDGE_ENV);
  bob = await LegacyAgent.start(redis.url, "Legacy_Bob", ["python", "testing"]);
  await bob.announce();
});

afterAll(async () => {
  await bob.close();
  await bridge.stop();
  await sidecar.stop();
  await redis.cleanup();
});

/** `bmn migrate legacy <mode> --json` as a real CLI process; answers its report. */
async function migrate(mode: "--dry-run" | "--apply"): Promise<{
  mailboxes: { stream: string; unread: number; pending: number; invalid: number; moved: number }[];
}> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [BMN, "--url", sidecar.url, "migrate", "legacy", "--redis-url", redis.url, mode, "--json"],
    { timeout: 30_000 },
  );
  return JSON.parse(stdout.trim()) as Awaited<ReturnType<typeof migrate>>;
}

const drainAlice = (done: (messages: Message[]) => boolean, what: string): Promise<Message[]> =>
  receiveUntil(alice, done, what);

describe("bmn bridge legacy (real Redis, sidecar and bridge processes, a legacy agent)", () => {
  it("each side discovers the other", async () => {
    const record = await until(
      async () => (await alice.agents()).find((agent) => agent.name === "legacy-bob"),
      15_000,
      "the legacy agent in the BMN registry",
    );
    expect(record.capabilities).toEqual(["python", "testing"]);
    expect(record.metadata).toMatchObject({ origin: "legacy", legacyid: "Legacy_Bob" });

    const discovery = await until(
      () => bob.heard.find((m) => m.type === "agent_discovery" && m.source === "alice"),
      15_000,
      "alice announced on the legacy channel",
    );
    expect(discovery.target).toBeNull();
    expect(discovery.payload).toMatchObject({ capabilities: ["code-review"] });
    const presence = JSON.parse((await bob.connection.get("beast:agents:alice")) ?? "{}") as Record<
      string,
      unknown
    >;
    expect(presence).toMatchObject({ agent_id: "alice", capabilities: ["code-review"], state: "active" });
    expect(await bob.connection.pttl("beast:agents:alice")).toBeGreaterThan(0);
    expect(await bob.connection.sismember("beast:agents:all", "alice")).toBe(1);
  });

  it("bmn doctor tells the legacy network from a plain Redis", async () => {
    const finding = await doctor(redis.url);
    expect(finding).toMatchObject({ bridge: "legacy" });
    expect(finding.found).toMatch(/^legacy Beast Mode network on Redis /);
    const plain = await startRedis();
    try {
      const empty = await doctor(plain.url);
      expect(empty.bridge).toBeUndefined();
      expect(empty.found).toMatch(/no legacy network/);
    } finally {
      await plain.cleanup();
    }
  });

  it("carries direct messages both ways, by channel and by mailbox, with the legacy fields", async () => {
    const channelId = await bob.publish({
      type: "help_wanted",
      target: "alice",
      payload: { question: "review my PR?" },
      priority: 8,
    });
    const mailboxId = await bob.sendToMailbox("alice", "technical_exchange", { diff: "+1 -1" });
    const got = await drainAlice(
      (messages) => [channelId, mailboxId].every((id) => messages.some((m) => m.id === id)),
      "both legacy messages at alice",
    );
    const fromChannel = got.find((m) => m.id === channelId);
    expect(fromChannel).toMatchObject({
      type: "beast.help_wanted",
      from: "legacy-bob",
      priority: 7,
      data: { question: "review my PR?" },
      legacyid: channelId,
      legacysource: "Legacy_Bob",
    });
    expect(got.find((m) => m.id === mailboxId)).toMatchObject({
      type: "beast.technical_exchange",
      data: { diff: "+1 -1" },
    });
    // Acked in the legacy group only after BMN stored it.
    await until(
      async () =>
        ((await bob.connection.xpending("beast:mailbox:alice:in", "alice:group")) as [number])[0] === 0,
      10_000,
      "the mailbox entry acked by the bridge",
    );

    const sent = await alice.send({
      to: "legacy-bob",
      from: "alice",
      type: "beast.agent_response",
      data: { ok: true },
      priority: 9,
    });
    const entries = await until(
      async () => {
        const read = await bob.readMailbox();
        return read.length > 0 ? read : undefined;
      },
      15_000,
      "alice's message in bob's mailbox",
    );
    expect(entries).toHaveLength(1);
    expect(entries[0]?.fields).toMatchObject({
      message_id: sent.id,
      sender: "alice",
      recipient: "Legacy_Bob",
      message_type: "agent_response",
      payload: JSON.stringify({ ok: true }),
    });
    expect(Date.parse(entries[0]?.fields.timestamp ?? "")).not.toBeNaN();
  });

  it("carries broadcasts both ways and never loops a message back", async () => {
    const broadcastId = await bob.publish({
      type: "status_update",
      target: null,
      payload: { message: "indexing" },
    });
    const got = await drainAlice((messages) => messages.some((m) => m.id === broadcastId), "bob's broadcast");
    expect(got.find((m) => m.id === broadcastId)).toMatchObject({
      topic: "legacy.status_update",
      type: "beast.status_update",
      data: { message: "indexing" },
    });

    const published = await alice.publish("beast.status_update", {
      from: "alice",
      type: "beast.status_update",
      data: { message: "done", task_completed: true },
      priority: 4,
    });
    const heard = await until(
      () => bob.heard.find((m) => m.id === published.id),
      15_000,
      "alice's broadcast on the legacy channel",
    );
    expect(heard).toMatchObject({ type: "status_update", source: "alice", target: null, priority: 5 });
    expect(heard.payload).toEqual({ message: "done", task_completed: true });
    // The bridge hears its own channel message and must not bring it back into BMN.
    const bridgedIn = await bridgeCount(bridge, "legacy-broadcast-in", "bridged");
    await bob.publish({
      type: "status_update",
      target: null,
      payload: { message: "marker" },
      id: "marker-1",
    });
    await drainAlice((messages) => messages.some((m) => m.id === "marker-1"), "the marker broadcast");
    expect(await bridgeCount(bridge, "legacy-broadcast-in", "bridged")).toBe(bridgedIn + 1);
    expect(bob.heard.filter((m) => m.id === published.id)).toHaveLength(1);
  });

  it("counts and dead-letters bad input without crashing, and passes unknown types through", async () => {
    const before = await bridgeCount(bridge, "legacy-channel-in", "dead-lettered");
    await bob.publishRaw("{not json");
    await bob.publishRaw(
      JSON.stringify({ type: "simple_message", source: "x", target: null, priority: 99, id: "p" }),
    );
    await bob.sendRawToMailbox("alice", [
      "message_id",
      "m-bad",
      "sender",
      "Legacy_Bob",
      "recipient",
      "alice",
    ]);
    // A legacy agent may not send as a BMN agent, on the channel or through a mailbox.
    const spoof = {
      type: "simple_message",
      source: "alice",
      target: null,
      payload: 1,
      priority: 5,
      id: "spoof-1",
    };
    await bob.publishRaw(JSON.stringify(spoof));
    await bob.sendRawToMailbox("alice", [
      ...["message_id", "spoof-2", "sender", "alice", "recipient", "alice"],
      ...["payload", "1", "message_type", "simple_message", "timestamp", new Date().toISOString()],
    ]);
    const unknownId = await bob.publish({
      type: "quantum_entanglement",
      target: "alice",
      payload: { spin: "up" },
    });
    const got = await drainAlice((messages) => messages.some((m) => m.id === unknownId), "the unknown type");
    expect(got.find((m) => m.id === unknownId)?.type).toBe("beast.quantum_entanglement");

    const dead = await until(
      async () => {
        const letters = await alice.dlq.list({ agent: "legacy-bridge" });
        return letters.length >= 5 ? letters : undefined;
      },
      15_000,
      "five dead letters of the bridge",
    );
    const invalid = dead.filter((letter) => letter.reason === "invalid");
    const forbidden = dead.filter((letter) => letter.reason === "forbidden");
    expect([invalid.length, forbidden.length]).toEqual([3, 2]);
    expect(forbidden.map((letter) => letter.lastError).join("\n")).toMatch(
      /"alice" is the name of a BMN agent/,
    );
    expect(got.some((m) => m.id === "spoof-1" || m.id === "spoof-2")).toBe(false);
    const errors = invalid.map((letter) => letter.lastError ?? "").join("\n");
    expect(errors).toMatch(/malformed JSON/);
    expect(errors).toMatch(/priority must be an integer from 1 to 10/);
    expect(errors).toMatch(/type must be/);
    expect(await bridgeCount(bridge, "legacy-channel-in", "dead-lettered")).toBe(before + 3);
    expect(await bridgeCount(bridge, "legacy-channel-in", "unknown-type")).toBeGreaterThanOrEqual(1);
    expect(bridge.alive).toBe(true);
    await expect(fetch(`${bridge.url}/readyz`)).resolves.toMatchObject({ status: 200 });
  });

  it("marks a legacy agent offline once its announcements stop", async () => {
    const carol = await LegacyAgent.start(redis.url, "carol", []);
    try {
      await carol.publish({ type: "agent_discovery", target: null, payload: { capabilities: ["ops"] } });
      await until(
        async () => (await alice.agents()).some((agent) => agent.name === "carol"),
        10_000,
        "carol registered",
      );
      // BMN_BRIDGE_OFFLINE_MS=4000 stands in for the 5 minutes.
      await until(
        async () => !(await alice.agents()).some((agent) => agent.name === "carol"),
        20_000,
        "carol offline",
      );
    } finally {
      await carol.close();
    }
  });

  it("loses nothing on the durable paths when the bridge is killed with SIGKILL mid-stream", async () => {
    await bob.announce(); // keep bob registered past the offline test's wait
    const total = 400;
    const inIds = new Set<string>();
    for (let i = 0; i < total / 2; i++)
      inIds.add(await bob.sendToMailbox("alice", "simple_message", { i }, `kill-in-${i}`));
    const outIds: string[] = [];
    for (let i = 0; i < total / 2; i++)
      outIds.push((await alice.send({ to: "legacy-bob", type: "beast.simple_message", data: { i } })).id);

    const received = new Map<string, number>();
    const receive = (): Promise<void> => tallyReceived(alice, received);
    await until(
      async () => {
        await receive();
        return received.size >= 20;
      },
      30_000,
      "the bridge under way",
    );
    const beforeKill = received.size;
    await bridge.kill();
    for (let i = total / 2; i < total; i++)
      inIds.add(await bob.sendToMailbox("alice", "simple_message", { i }, `kill-in-${i}`));
    for (let i = total / 2; i < total; i++)
      outIds.push((await alice.send({ to: "legacy-bob", type: "beast.simple_message", data: { i } })).id);
    await bridge.start();

    const mailbox = new Map<string, number>();
    await until(
      async () => {
        await receive();
        for (const entry of await bob.readMailbox(500)) {
          const id = entry.fields.message_id ?? "";
          mailbox.set(id, (mailbox.get(id) ?? 0) + 1);
        }
        return [...inIds].every((id) => received.has(id)) && outIds.every((id) => mailbox.has(id));
      },
      60_000,
      "every message across after the restart",
      () =>
        `legacy→BMN ${[...inIds].filter((id) => received.has(id)).length}/${total}, BMN→legacy ${mailbox.size}/${total}`,
    );
    const duplicatesIn = [...inIds].reduce((sum, id) => sum + (received.get(id) ?? 0) - 1, 0);
    const duplicatesOut = outIds.reduce((sum, id) => sum + (mailbox.get(id) ?? 0) - 1, 0);
    const lostIn = [...inIds].filter((id) => !received.has(id)).length;
    const lostOut = outIds.filter((id) => !mailbox.has(id)).length;
    console.log(
      `legacy bridge kill -9: legacy→BMN sent ${total}, received ${total - lostIn}, lost ${lostIn}, duplicates ${duplicatesIn} (${beforeKill} before the kill); BMN→legacy sent ${total}, in mailbox ${total - lostOut}, lost ${lostOut}, duplicates ${duplicatesOut}`,
    );
    expect(lostIn).toBe(0);
    expect(lostOut).toBe(0);
    // BMN dedupes redelivered mailbox entries by id; the mailbox write is once per id.
    expect(duplicatesIn).toBe(0);
    expect(duplicatesOut).toBe(0);
  });

  it("a mailbox entry read while BMN is down arrives once BMN is back, without a bridge restart", async () => {
    const legacyRedis = new Redis(redis.url);
    try {
      await sidecar.stop();
      const ids: string[] = [];
      for (let i = 0; i < 3; i++)
        ids.push(await bob.sendToMailbox("alice", "simple_message", { i }, `down-${i}`));
      // The bridge has read them (they are pending for it) but could not store them in BMN.
      await until(
        async () => {
          const [count] = (await legacyRedis.xpending("beast:mailbox:alice:in", "alice:group")) as [number];
          return count >= ids.length;
        },
        30_000,
        "the bridge reading the entries while BMN is down",
      );
      await sidecar.start();
      const received = await drainAlice(
        (messages) => ids.every((id) => messages.some((message) => message.id === id)),
        "every entry read while BMN was down",
      );
      expect(received.filter((message) => ids.includes(message.id)).length).toBe(ids.length);
    } finally {
      legacyRedis.disconnect();
    }
  });

  it("bmn migrate legacy moves a pending mailbox once: a second run moves nothing", async () => {
    // dave ran on the legacy side: 2 entries read but never acked, 3 never read, 1 that is no legacy message.
    const stream = "beast:mailbox:dave:in";
    await bob.connection.xgroup("CREATE", stream, "dave:group", "$", "MKSTREAM");
    const ids: string[] = [];
    for (let i = 0; i < 5; i++)
      ids.push(await bob.sendToMailbox("dave", "simple_message", { i }, `migrate-${i}`));
    await bob.sendRawToMailbox("dave", ["message_id", "migrate-bad", "payload", "{"]);
    await bob.connection.xreadgroup("GROUP", "dave:group", "old-dave", "COUNT", 2, "STREAMS", stream, ">");

    const dry = (await migrate("--dry-run")).mailboxes.find((m) => m.stream === stream);
    expect(dry).toMatchObject({ pending: 2, unread: 4, invalid: 1, moved: 0 });
    expect(((await bob.connection.xpending(stream, "dave:group")) as [number])[0]).toBe(2);
    const dave = alice.as("dave");
    expect((await dave.stats()).depth).toBe(0);

    const applied = (await migrate("--apply")).mailboxes.find((m) => m.stream === stream);
    expect(applied).toMatchObject({ pending: 2, unread: 4, invalid: 1, moved: 5 });
    const moved = await until(
      async () => {
        const deliveries = await dave.receive({ max: 10, waitSeconds: 0.2 });
        return deliveries.length === 5 ? deliveries : undefined;
      },
      10_000,
      "the five moved messages in dave's BMN queue",
    );
    expect(moved.map((d) => d.message.id).sort()).toEqual([...ids].sort());
    expect(((await bob.connection.xpending(stream, "dave:group")) as [number])[0]).toBe(0);

    const again = (await migrate("--apply")).mailboxes.find((m) => m.stream === stream);
    expect(again).toMatchObject({ pending: 0, unread: 0, moved: 0 });
    console.log(
      `legacy migrate: dry run would move ${dry ? dry.pending + dry.unread - dry.invalid : "?"}, apply moved ${applied?.moved ?? "?"}, second apply moved ${again?.moved ?? "?"}`,
    );
  });
});
