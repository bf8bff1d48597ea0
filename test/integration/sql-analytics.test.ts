import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BmnClient } from "../../client/index.js";
import { loadConfig } from "../../runtime/config/load-config.js";
import { buildServer } from "../../sidecar/server/build-server.js";
import { startSidecar, type RunningSidecar } from "../../sidecar/start-sidecar.js";
import { InMemoryStore } from "../../store/memory/memory-store.js";
import { parseAnalyticsParams } from "../../store/sql/analytics/analytics-params.js";
import { percentile } from "../../store/sql/analytics/percentile.js";
import type { AnalyticsResult } from "../../store/sql/analytics/sql-analytics.js";
import { migrate } from "../../store/sql/migrate.js";
import { initialSchema } from "../../store/sql/migrations/001-initial.js";
import { analyticsSchema } from "../../store/sql/migrations/002-analytics.js";
import { SqlClient } from "../../store/sql/sql-client.js";
import { sqlTables } from "../../store/sql/sql-tables.js";
import { SqlStore } from "../../store/sql/sql-store.js";
import type { MessageStore } from "../../store/store.js";
import { msg, waitFor } from "../conformance/helpers.js";
import { startMariaDb, type MariaDbServerHandle } from "../harness/mariadb-server.js";

const BIN = fileURLToPath(new URL("../../cli/bin/bmn.js", import.meta.url));
const MINUTE = 60_000;

let server: MariaDbServerHandle;

beforeAll(async () => {
  server = await startMariaDb();
});

afterAll(async () => {
  await server.cleanup();
});

const bucketOf = (at: number, ms = MINUTE): number => at - (at % ms);

/** Expected per-(bucket, agent) counts of a trace kind, computed from the store's own trace. */
async function expectedThroughput(store: MessageStore, ids: string[]): Promise<Map<string, number[]>> {
  const expected = new Map<string, number[]>();
  for (const id of ids) {
    for (const event of await store.traceOf(id)) {
      if (event.kind !== "accepted" && event.kind !== "enqueued") continue;
      const key = `${bucketOf(event.at)}|${event.agent ?? ""}`;
      const [accepted = 0, enqueued = 0] = expected.get(key) ?? [];
      expected.set(key, event.kind === "accepted" ? [accepted + 1, enqueued] : [accepted, enqueued + 1]);
    }
  }
  return expected;
}

describe("sql analytics on mariadb", () => {
  let store: SqlStore;
  let started: number;
  const ids: string[] = [];
  const bobAcked: string[] = [];

  beforeAll(async () => {
    store = await SqlStore.connect(server.url, { tablePrefix: "an_", poolSize: 4 });
    started = Date.now();
    const send = async (to: string, actor: string, draft: Record<string, unknown> = {}): Promise<string> => {
      const result = await store.enqueue(to, msg(draft), { actor });
      ids.push(result.id);
      return result.id;
    };
    for (let i = 0; i < 3; i++) await send("bob", "alice");
    await send("alice", "bob");
    for (let i = 0; i < 2; i++) await send("bob", "carol");
    // Already past its expiry: straight to the DLQ as `expired`.
    await send("dave", "erin", { expiresat: new Date(Date.now() - 5_000).toISOString() });

    const deliveries = await store.receive("bob", { max: 5, leaseMs: 60_000 });
    expect(deliveries).toHaveLength(5);
    for (const delivery of deliveries.slice(0, 3)) {
      await store.ack(delivery.leaseId);
      bobAcked.push(delivery.message.id);
    }
    await store.nack(deliveries[3]?.leaseId ?? "", { deadLetter: true });
    // deliveries[4] stays leased for a minute: held, not stuck.
    const [aliceLease] = await store.receive("alice", { max: 1, leaseMs: 30 });
    expect(aliceLease).toBeDefined();
  });

  afterAll(async () => {
    await store.close();
  });

  const window = (): { from: number; to: number } => ({ from: started - MINUTE, to: Date.now() + MINUTE });

  it("throughput counts accepted and enqueued per agent per minute bucket", async () => {
    const result = await store.analytics().run("throughput", { ...window(), bucket: "1" });
    const expected = await expectedThroughput(store, ids);
    const actual = new Map(
      (result.rows as { bucket: number; agent: string; accepted: number; enqueued: number }[]).map((row) => [
        `${row.bucket}|${row.agent}`,
        [row.accepted, row.enqueued],
      ]),
    );
    expect(actual).toEqual(expected);
    const totals = new Map<string, number>();
    for (const row of result.rows as { agent: string; enqueued: number }[])
      totals.set(row.agent, (totals.get(row.agent) ?? 0) + row.enqueued);
    expect(Object.fromEntries(totals)).toEqual({ alice: 1, bob: 5, dave: 1 });

    const onlyBob = await store.analytics().run("throughput", { ...window(), agent: "bob", bucket: 1_440 });
    const bobTotal = (onlyBob.rows as { agent: string; accepted: number }[]).reduce(
      (n, r) => n + r.accepted,
      0,
    );
    expect(bobTotal).toBe(5);
    expect(new Set(onlyBob.rows.map((row) => row.agent))).toEqual(new Set(["bob"]));
  });

  it("latency gives enqueue→ack percentiles per agent, from the trace", async () => {
    const samples: number[] = [];
    for (const id of bobAcked) {
      const events = await store.traceOf(id);
      const enqueued = events.find((e) => e.kind === "enqueued")?.at ?? Number.NaN;
      const acked = events.find((e) => e.kind === "acked")?.at ?? Number.NaN;
      samples.push(acked - enqueued);
    }
    samples.sort((a, b) => a - b);
    const result = await store.analytics().run("latency", window());
    expect(result.rows).toEqual([
      {
        agent: "bob",
        count: 3,
        p50Ms: percentile(samples, 50),
        p90Ms: percentile(samples, 90),
        p99Ms: percentile(samples, 99),
        maxMs: samples[2],
      },
    ]);
    expect(percentile([10, 20, 30, 40], 50)).toBe(20);
    expect(percentile([10, 20, 30, 40], 99)).toBe(40);
  });

  it("deadLetters counts by reason, agent and bucket", async () => {
    const result = await store.analytics().run("deadLetters", { ...window(), bucket: 60 });
    const rows = result.rows as { bucket: number; reason: string; agent: string; count: number }[];
    expect(rows.map(({ reason, agent, count }) => ({ reason, agent, count }))).toEqual([
      { reason: "expired", agent: "dave", count: 1 },
      { reason: "rejected", agent: "bob", count: 1 },
    ]);
    const letters = await store.listDeadLetters();
    for (const row of rows) {
      const letter = letters.find((l) => l.agent === row.agent);
      expect(row.bucket).toBe(bucketOf(letter?.deadLetteredAt ?? Number.NaN, 60 * MINUTE));
    }
    const rejected = await store.analytics().run("deadLetters", { ...window(), reason: "rejected" });
    expect(rejected.rows.map((row) => row.agent)).toEqual(["bob"]);
  });

  it("topTalkers orders agents by messages sent and received", async () => {
    const result = await store.analytics().run("topTalkers", window());
    expect(result.rows).toEqual([
      { agent: "bob", sent: 1, received: 5, total: 6 },
      { agent: "alice", sent: 3, received: 1, total: 4 },
      { agent: "carol", sent: 2, received: 0, total: 2 },
      { agent: "dave", sent: 0, received: 1, total: 1 },
      { agent: "erin", sent: 1, received: 0, total: 1 },
    ]);
    const top2 = await store.analytics().run("topTalkers", { ...window(), limit: "2" });
    expect(top2.rows.map((row) => row.agent)).toEqual(["bob", "alice"]);
  });

  it("stuckLeases finds a lapsed lease not yet settled, not a fresh one", async () => {
    // Polls the condition (alice's 30 ms lease lapsing on the server clock); no fixed sleep.
    const result = await waitFor(
      async () => {
        const answer = await store.analytics().run("stuckLeases", {});
        return answer.rows.length > 0 ? answer : undefined;
      },
      5_000,
      "a stuck lease",
    );
    expect(result.rows).toHaveLength(1);
    expect(result.rows[0]).toMatchObject({ agent: "alice", attempts: 1, expired: true });
    const row = result.rows[0] as { leasedAt: number | null; leaseExpiresAt: number };
    expect(row.leasedAt).toBeGreaterThanOrEqual(started);
    // Bob's minute-long lease is held, not stuck, unless it is held longer than olderThan.
    const bob = await store.analytics().run("stuckLeases", { agent: "bob" });
    expect(bob.rows).toEqual([]);
  });

  it("runs on a read-only session and reports no TiFlash on MariaDB", async () => {
    const info = await store.analytics().info();
    expect(info).toMatchObject({ dialect: "mariadb", readOnly: true, tiflash: null });
    await expect(
      store
        .analytics()
        .readOnlySession((session) => session.run(`DELETE FROM ${store.tables.trace} WHERE 1 = 0`)),
    ).rejects.toThrow(/READ ONLY/i);
  });

  it("binds values: a quote in a value bypassing validation matches nothing and changes nothing", async () => {
    const params = { ...parseAnalyticsParams(window()), agent: "x' OR '1'='1" };
    expect(await store.analytics().throughput(params)).toEqual([]);
    expect(await store.analytics().topTalkers(params)).toEqual([]);
    expect(
      await store.analytics().deadLetters({ ...params, agent: null, reason: "'; DROP TABLE an_trace; --" }),
    ).toEqual([]);
    expect((await store.analytics().run("topTalkers", window())).rows).toHaveLength(5);
  });

  it("refuses bad or hostile parameters naming the field", async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ agent: "x' OR '1'='1" }, "agent"],
      [{ reason: "'; DROP TABLE an_trace; --" }, "reason"],
      [{ bucket: "1; --" }, "bucket"],
      [{ bucket: "7" }, "bucket"],
      [{ limit: "1 OR 1=1" }, "limit"],
      [{ limit: "1001" }, "limit"],
      [{ from: "0); DROP TABLE an_messages; --" }, "from"],
      [{ to: "now()" }, "to"],
      [{ olderThan: "1e9" }, "olderThan"],
      [{ sql: "SELECT 1" }, "sql"],
      [{ from: "2000", to: "1000" }, "from"],
    ];
    for (const [params, field] of cases) {
      await expect(store.analytics().run("throughput", params)).rejects.toMatchObject({
        code: "INVALID_ARGUMENT",
        field,
      });
    }
    await expect(store.analytics().run("throughput; DROP TABLE an_trace", {})).rejects.toMatchObject({
      code: "NOT_FOUND",
      field: "query",
    });
  });
});

describe("migration 1 → 2", () => {
  it("adds the analytics columns to a v1 schema, keeping its rows, and is idempotent", async () => {
    const client = await SqlClient.open(server.url, {
      poolSize: 2,
      commandTimeoutMs: 5_000,
      txnMode: "pessimistic",
      maxTxAttempts: 3,
    });
    try {
      const tables = sqlTables("mig_");
      expect(await migrate(client, tables, [initialSchema])).toEqual({ applied: [1], version: 1 });
      await client.run(
        `INSERT INTO ${tables.trace} (message_id, at_ms, ord, correlation_id, expires_at, body) VALUES (?, ?, ?, ?, ?, ?)`,
        ["m1", 1, 1, null, Date.now() + MINUTE, '{"kind":"accepted"}'],
      );
      const upToAnalytics = [initialSchema, analyticsSchema];
      expect(await migrate(client, tables, upToAnalytics)).toEqual({ applied: [2], version: 2 });
      expect(await migrate(client, tables, upToAnalytics)).toEqual({ applied: [], version: 2 });
      // A crash half way through is recovered by running the statements again.
      for (const statement of analyticsSchema.statements({ dialect: client.dialect, tables }))
        await client.run(statement);
      const columns = await client.rows(
        `SELECT COLUMN_NAME AS name FROM information_schema.columns
          WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'mig_trace' ORDER BY ORDINAL_POSITION`,
      );
      expect(columns.map((row) => row.name)).toEqual([
        "message_id",
        "at_ms",
        "ord",
        "correlation_id",
        "expires_at",
        "body",
        "kind",
        "agent",
        "actor",
      ]);
      const [row] = await client.rows(`SELECT message_id, kind FROM ${tables.trace}`);
      expect(row).toEqual({ message_id: "m1", kind: null });
      const indexes = await client.rows(`SHOW INDEX FROM ${tables.trace} WHERE Key_name = 'by_kind_time'`);
      expect(indexes.map((index) => index.Column_name)).toEqual(["kind", "at_ms"]);
    } finally {
      await client.close();
    }
  });
});

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runCli(args: string[]): Promise<Run> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith("BMN_")));
  const child = spawn(process.execPath, [BIN, ...args], { env, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  return new Promise((resolve) => {
    child.on("close", (code) => {
      resolve({ code, stdout, stderr });
    });
  });
}

describe("stats over HTTP and the CLI", () => {
  let sidecar: RunningSidecar;
  let client: BmnClient;

  beforeAll(async () => {
    sidecar = await startSidecar(
      loadConfig({ port: 0, domain: "stats", store: { type: "tidb", tidb: { url: server.url } } }, {}),
      { logger: false },
    );
    client = new BmnClient({ url: sidecar.url });
    for (let i = 0; i < 4; i++) await client.send({ to: "bob", from: "alice", type: "t.x", data: { i } });
    await client.send({ to: "alice", from: "bob", type: "t.x", data: {} });
  });

  afterAll(async () => {
    await sidecar.close();
  });

  it("answers named queries with the domain and rows", async () => {
    const answer = await client.analytics("topTalkers", { from: Date.now() - MINUTE });
    expect(answer).toMatchObject({ query: "topTalkers", domain: "stats" });
    expect(answer.rows).toEqual([
      { agent: "alice", sent: 4, received: 1, total: 5 },
      { agent: "bob", sent: 1, received: 4, total: 5 },
    ]);
    const info = await fetch(`${sidecar.url}/v1/stats`);
    expect(await info.json()).toMatchObject({ dialect: "mariadb", readOnly: true, tiflash: null });
  });

  it("answers 400 with the field for hostile parameters and 404 for unknown queries; tables stay", async () => {
    const attempts: [string, string][] = [
      ["agent=x'%20OR%20'1'%3D'1", "agent"],
      ["reason=%27%3B%20DROP%20TABLE%20bmn_stats_trace%3B%20--", "reason"],
      ["bucket=1%3B%20--", "bucket"],
      ["limit=5%20UNION%20SELECT%201", "limit"],
      ["from=1%20OR%201%3D1", "from"],
      ["sql=DROP%20TABLE%20bmn_stats_messages", "sql"],
    ];
    for (const [query, field] of attempts) {
      const response = await fetch(`${sidecar.url}/v1/stats/throughput?${query}`);
      expect(response.status, query).toBe(400);
      expect(await response.json()).toMatchObject({ errorCode: "INVALID_ARGUMENT", field });
    }
    const unknown = await fetch(`${sidecar.url}/v1/stats/${encodeURIComponent("throughput; DROP TABLE x")}`);
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ errorCode: "NOT_FOUND", field: "query" });
    const after = await client.analytics("throughput", { from: Date.now() - MINUTE, bucket: 1_440 });
    expect(after.rows.reduce((n, row) => n + Number(row.enqueued), 0)).toBe(5);
    expect(await client.queues()).toHaveLength(2);
  });

  it("bmn stats prints a table or JSON", async () => {
    const json = await runCli(["--url", sidecar.url, "stats", "topTalkers", "--from", "10m", "--json"]);
    expect(json.stderr).toBe("");
    expect(json.code).toBe(0);
    expect((JSON.parse(json.stdout) as AnalyticsResult).rows).toHaveLength(2);
    const text = await runCli([
      "--url",
      sidecar.url,
      "stats",
      "throughput",
      "--agent",
      "bob",
      "--bucket",
      "60",
    ]);
    expect(text.code).toBe(0);
    const lines = text.stdout.trim().split("\n");
    expect(lines[0]).toMatch(/^BUCKET\s+AGENT\s+ACCEPTED\s+ENQUEUED$/);
    expect(lines.slice(1).every((line) => /^\d{4}-\d{2}-\d{2}T\S+Z\s+bob\s+\d+\s+\d+$/.test(line))).toBe(
      true,
    );
    const bad = await runCli(["--url", sidecar.url, "stats", "throughpt"]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/did you mean "throughput"/);
    const hostile = await runCli(["--url", sidecar.url, "stats", "throughput", "--agent", "x' OR '1'='1"]);
    expect(hostile.code).not.toBe(0);
    expect(hostile.stderr).toMatch(/agent/);
  });

  it("a sidecar on another store answers 404 saying analytics need the sql store", async () => {
    const app = await buildServer({ store: new InMemoryStore(), logger: false });
    try {
      const response = await app.inject({ method: "GET", url: "/v1/stats/throughput" });
      expect(response.statusCode).toBe(404);
      const body = response.json<{ errorCode: string; message: string }>();
      expect(body.errorCode).toBe("NOT_FOUND");
      expect(body.message).toMatch(/sql store/);
    } finally {
      await app.close();
    }
  });
});
