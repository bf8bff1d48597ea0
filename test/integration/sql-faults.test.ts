import { createConnection, type Connection } from "mysql2/promise";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Delivery } from "../../store/store.js";
import { migrate, SCHEMA_VERSION, SchemaVersionError } from "../../store/sql/migrate.js";
import { SqlClient } from "../../store/sql/sql-client.js";
import { sqlTables } from "../../store/sql/sql-tables.js";
import { SqlStore, type SqlStoreOptions } from "../../store/sql/sql-store.js";
import { expectBmnError, msg, receiveAll, since, waitFor, untilPingable } from "../conformance/helpers.js";
import { expectCrashRecovery } from "../conformance/crash-recovery.js";
import { startMariaDb, type MariaDbServerHandle } from "../harness/mariadb-server.js";

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

let prefixes = 0;
function uniquePrefix(): string {
  return `f${++prefixes}_`;
}

async function open(url: string, options: SqlStoreOptions = {}): Promise<SqlStore> {
  const store = await SqlStore.connect(url, {
    tablePrefix: uniquePrefix(),
    commandTimeoutMs: 1_000,
    policy: { traceRetentionMs: 0 },
    ...options,
  });
  cleanups.push(() => store.close());
  return store;
}

async function rawConnection(server: MariaDbServerHandle): Promise<Connection> {
  const connection = await createConnection({ uri: server.url });
  connection.on("error", () => undefined);
  cleanups.push(async () => {
    connection.destroy();
    await Promise.resolve();
  });
  return connection;
}

describe("sql store faults (MariaDB)", () => {
  let shared: MariaDbServerHandle;

  beforeAll(async () => {
    shared = await startMariaDb();
  });

  afterAll(async () => {
    await shared.cleanup();
  });

  it("keeps every accepted message and lease across a SIGKILL of MariaDB and a restart", async () => {
    const server = await startMariaDb({ durable: true });
    cleanups.push(() => server.cleanup());
    const store = await open(server.url);
    const [settings] = await store.client.rows("SELECT @@innodb_flush_log_at_trx_commit AS flush");
    expect(Number(settings?.flush)).toBe(1);

    await expectCrashRecovery(server, store);
    expect(await store.queueStats("worker")).toMatchObject({ depth: 0, inFlight: 200 - 1 });
  });

  it("answers STORE_UNAVAILABLE within the command timeout while MariaDB is down, loses nothing, and recovers by itself", async () => {
    const server = await startMariaDb();
    cleanups.push(() => server.cleanup());
    const store = await open(server.url);
    const before = await store.enqueue("worker", msg());
    const [leased] = await store.receive("other", { max: 1 });
    expect(leased).toBeUndefined();

    await server.stop();
    const start = Date.now();
    await expectBmnError(() => store.enqueue("worker", msg()), "STORE_UNAVAILABLE");
    await expectBmnError(() => store.receive("worker", { max: 1 }), "STORE_UNAVAILABLE");
    await expectBmnError(() => store.queueStats("worker"), "STORE_UNAVAILABLE");
    await expectBmnError(() => store.listDeadLetters(), "STORE_UNAVAILABLE");
    await expectBmnError(() => store.ping(), "STORE_UNAVAILABLE");
    // Refused connections fail at once; nothing waits for the 1 s command timeout, let alone longer.
    expect(since(start)).toBeLessThan(5 * 1_000);

    await server.start();
    await untilPingable(store);
    const after = await store.enqueue("worker", msg());
    const ids = (await receiveAll(store, "worker")).map((delivery) => delivery.message.id);
    expect(ids).toEqual([before.id, after.id]);
  });

  it("fails to connect with STORE_UNAVAILABLE when nothing listens", async () => {
    const server = await startMariaDb({ durable: false });
    const url = server.url;
    await server.cleanup();
    await expect(SqlStore.connect(url, { commandTimeoutMs: 500 })).rejects.toMatchObject({
      code: "STORE_UNAVAILABLE",
    });
  });

  it("16 competing consumers on 4 stores share 10 000 messages: each delivered once within its lease, none lost", async () => {
    const prefix = uniquePrefix();
    const producer = await open(shared.url, { tablePrefix: prefix });
    const stores = [
      producer,
      ...(await Promise.all([1, 2, 3].map(() => open(shared.url, { tablePrefix: prefix, poolSize: 6 })))),
    ];
    const total = 10_000;
    const seen = new Map<string, string[]>();
    const attempts: number[] = [];
    let acked = 0;
    const deadline = Date.now() + 100_000;

    const consume = async (store: SqlStore, name: string): Promise<void> => {
      while (acked < total && Date.now() < deadline) {
        const batch: Delivery[] = await store.receive("pool", { max: 8, waitMs: 200, leaseMs: 120_000 });
        for (const delivery of batch) {
          seen.set(delivery.message.id, [...(seen.get(delivery.message.id) ?? []), name]);
          attempts.push(delivery.attempt);
        }
        await Promise.all(batch.map((delivery) => store.ack(delivery.leaseId)));
        acked += batch.length;
      }
    };
    const consumers = Array.from({ length: 16 }, (_, i) =>
      consume(stores[i % stores.length] ?? producer, `c${i}`),
    );

    const messages = Array.from({ length: total }, (_, i) => msg({ data: { i }, priority: i % 3 }));
    for (let i = 0; i < total; i += 50) {
      await Promise.all(messages.slice(i, i + 50).map((message) => producer.enqueue("pool", message)));
    }
    await Promise.all(consumers);

    expect(acked).toBe(total);
    const doubles = [...seen.entries()].filter(([, holders]) => holders.length > 1);
    expect(doubles).toEqual([]);
    expect(new Set(seen.keys())).toEqual(new Set(messages.map((message) => message.id)));
    expect(attempts.every((attempt) => attempt === 1)).toBe(true);
    expect(new Set([...seen.values()].flat()).size).toBeGreaterThan(4);
    expect(await producer.queueStats("pool")).toMatchObject({ depth: 0, inFlight: 0, deadLettered: 0 });
  });

  it("a long-poll wakes for a message another store (another process) sends, within the poll interval", async () => {
    const prefix = uniquePrefix();
    const receiver = await open(shared.url, { tablePrefix: prefix, pollIntervalMs: 200 });
    const sender = await open(shared.url, { tablePrefix: prefix });
    const start = Date.now();
    const pending = receiver.receive("listener", { waitMs: 10_000 });
    // Sent once the receiver certainly waits: its first look found nothing.
    await waitFor(async () => (await sender.queueStats("listener")).depth === 0, 1_000, "the empty queue");
    const sent = await sender.enqueue("listener", msg());
    const got = await pending;
    expect(got.map((delivery) => delivery.message.id)).toEqual([sent.id]);
    expect(since(start)).toBeLessThan(3_000);
  });

  it("concurrent sends of one dedupe key through four stores are accepted exactly once", async () => {
    const prefix = uniquePrefix();
    const stores = await Promise.all([1, 2, 3, 4].map(() => open(shared.url, { tablePrefix: prefix })));
    for (let round = 0; round < 10; round++) {
      const message = msg({ dedupekey: `order-${round}` });
      const results = await Promise.all(
        stores.flatMap((store) => [
          store.enqueue("orders", message),
          store.enqueue("orders", { ...message }),
        ]),
      );
      expect(results.filter((result) => !result.duplicate)).toHaveLength(1);
    }
    expect(await receiveAll(stores[0] ?? (await open(shared.url)), "orders")).toHaveLength(10);
  });

  it("a write that keeps hitting a lock fails with TX_CONFLICT after its attempts and applies nothing", async () => {
    // A 3 s command timeout makes the row lock wait 1 s (about half of it).
    const store = await open(shared.url, { maxTxAttempts: 2, commandTimeoutMs: 3_000 });
    const blocker = await rawConnection(shared);
    // Another session inserts the same dedupe key and keeps its transaction open: the store's insert waits for
    // that row lock until innodb_lock_wait_timeout, retries once, and gives up.
    const message = msg({ dedupekey: "contended" });
    await blocker.query("START TRANSACTION");
    await blocker.execute(
      `INSERT INTO ${store.tables.dedupe} (queue, dedupe_key, until_at) VALUES (?, ?, ?)`,
      ["worker", "contended", Date.now() + 60_000],
    );
    await expectBmnError(() => store.enqueue("worker", message), "TX_CONFLICT");
    expect(await store.queueStats("worker")).toMatchObject({ depth: 0 });
    await blocker.query("ROLLBACK");
    expect(await store.enqueue("worker", message)).toMatchObject({ duplicate: false });
  });

  it("migrates an empty database; migrating again is a no-op, also when several stores start at once", async () => {
    const url = shared.url.replace(/\/bmn$/, "/fresh_migrations");
    const prefix = uniquePrefix();
    const stores = await Promise.all([1, 2, 3, 4].map(() => open(url, { tablePrefix: prefix })));
    const first = stores[0];
    if (first === undefined) throw new Error("expected a store");
    const recorded = await first.client.rows(
      "SELECT version, name, applied_at FROM bmn_schema_migrations WHERE table_prefix = ? ORDER BY version",
      [prefix],
    );
    expect(recorded.map((row) => Number(row.version))).toEqual(
      Array.from({ length: SCHEMA_VERSION }, (_, i) => i + 1),
    );
    const tables = await first.client.rows(
      "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name LIKE ?",
      [`${prefix.replace(/_/g, "\\_")}%`],
    );
    expect(tables.map((row) => String(row.name)).sort()).toEqual(
      [
        "a2a_events",
        "a2a_push",
        "a2a_tasks",
        "agents",
        "dead_letters",
        "dedupe",
        "messages",
        "queues",
        "seq",
        "subscriptions",
        "trace",
      ].map((table) => `${prefix}${table}`),
    );

    const again = await migrate(first.client, sqlTables(prefix));
    expect(again).toEqual({ applied: [], version: SCHEMA_VERSION });
    const after = await first.client.rows(
      "SELECT version, name, applied_at FROM bmn_schema_migrations WHERE table_prefix = ? ORDER BY version",
      [prefix],
    );
    expect(after).toEqual(recorded);
    // And the store works on the migrated tables.
    await first.enqueue("worker", msg());
    expect(await receiveAll(first, "worker")).toHaveLength(1);
  });

  it("refuses to start against a schema newer than the code, with a clear error", async () => {
    const prefix = uniquePrefix();
    const store = await open(shared.url, { tablePrefix: prefix });
    await store.client.run(
      "INSERT INTO bmn_schema_migrations (table_prefix, version, name, applied_at) VALUES (?, ?, ?, ?)",
      [prefix, SCHEMA_VERSION + 1, "from-a-newer-bmn", Date.now()],
    );
    const refused = SqlStore.connect(shared.url, { tablePrefix: prefix });
    await expect(refused).rejects.toBeInstanceOf(SchemaVersionError);
    await expect(refused).rejects.toThrow(/newer than this BMN knows/);

    const client = await SqlClient.open(shared.url, {
      poolSize: 1,
      commandTimeoutMs: 1_000,
      txnMode: "pessimistic",
      maxTxAttempts: 1,
    });
    cleanups.push(() => client.close());
    await expect(migrate(client, sqlTables(prefix))).rejects.toMatchObject({
      databaseVersion: SCHEMA_VERSION + 1,
      codeVersion: SCHEMA_VERSION,
    });
  });
});
