import { connect, createServer, type Server, type Socket } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../runtime/config/load-config.js";
import { startSidecar } from "../../sidecar/start-sidecar.js";
import { SqlStore } from "../../store/sql/sql-store.js";
import { expectBmnError, msg, receiveAll, waitFor } from "../conformance/helpers.js";
import { freePort } from "../harness/free-port.js";
import { startMariaDb, type MariaDbServerHandle } from "../harness/mariadb-server.js";

const HOST = "127.0.0.1";

/**
 * An in-test TCP forwarder to the MariaDB server: a second endpoint URL that reaches the SAME database (two
 * MariaDB servers would be two databases), which the test can cut (stop listening, drop every connection) and heal.
 */
class TcpProxy {
  /** Client connections accepted since the proxy started. */
  accepted = 0;
  /** Chunks forwarded from clients to the server (statements sent through the proxy). */
  forwarded = 0;
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();

  private constructor(
    readonly port: number,
    private readonly target: MariaDbServerHandle,
  ) {}

  static async start(target: MariaDbServerHandle): Promise<TcpProxy> {
    const proxy = new TcpProxy(await freePort(), target);
    await proxy.heal();
    return proxy;
  }

  get url(): string {
    return `mysql://root@${HOST}:${this.port}/${this.target.database}`;
  }

  async heal(): Promise<void> {
    if (this.server !== undefined) return;
    const server = createServer((client) => {
      this.accepted++;
      const upstream = connect(this.target.port, HOST);
      for (const socket of [client, upstream]) {
        this.sockets.add(socket);
        socket.on("error", () => undefined);
        socket.on("close", () => {
          this.sockets.delete(socket);
          client.destroy();
          upstream.destroy();
        });
      }
      client.on("data", () => {
        this.forwarded++;
      });
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.port, HOST, () => {
        resolve();
      });
    });
    this.server = server;
  }

  async cut(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const socket of this.sockets) socket.destroy();
    if (server !== undefined) await new Promise((resolve) => server.close(resolve));
  }
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

let prefixes = 0;
async function open(urls: string[]): Promise<SqlStore> {
  const store = await SqlStore.connect(urls, {
    tablePrefix: `fo${++prefixes}_`,
    commandTimeoutMs: 1_000,
    probeMaxMs: 300,
    policy: { traceRetentionMs: 0 },
  });
  cleanups.push(() => store.close());
  return store;
}

async function answers(ping: () => Promise<void>): Promise<boolean> {
  try {
    await ping();
    return true;
  } catch {
    return false;
  }
}

describe("sql store endpoints and failover (MariaDB behind a cuttable proxy)", () => {
  let server: MariaDbServerHandle;
  let proxy: TcpProxy;

  beforeAll(async () => {
    server = await startMariaDb({ durable: true });
    proxy = await TcpProxy.start(server);
  });

  afterAll(async () => {
    await proxy.cut();
    await server.cleanup();
  });

  afterEach(async () => {
    await server.start();
    await proxy.heal();
  });

  it("serves through the direct endpoint while the proxy is cut, probes it back, and survives a restart of the server", async () => {
    const store = await open([proxy.url, server.url]);
    expect(store.endpoints().map((endpoint) => endpoint.healthy)).toEqual([true, true]);
    const accepted: string[] = [];
    for (let i = 0; i < 10; i++) accepted.push((await store.enqueue("worker", msg({ data: { i } }))).id);
    // Round-robin: both endpoints carry calls.
    expect(proxy.accepted).toBeGreaterThan(0);

    // Cut: every call still succeeds (reads and transactions move to the direct endpoint).
    await proxy.cut();
    for (let i = 10; i < 30; i++) accepted.push((await store.enqueue("worker", msg({ data: { i } }))).id);
    for (let i = 0; i < 4; i++) expect((await store.queueStats("worker")).depth).toBe(accepted.length);
    expect(store.endpoints().map((endpoint) => endpoint.healthy)).toEqual([false, true]);
    expect(store.endpoints()[0]?.lastError).toMatch(/unavailable/i);
    await store.ping();
    const held = await store.receive("worker", { max: 5, leaseMs: 60_000 });
    expect(held).toHaveLength(5);
    for (const delivery of held) await store.ack(delivery.leaseId);
    const acked = new Set<string>(held.map((delivery) => delivery.message.id));

    // Heal: the background probe puts the endpoint back, and calls reach it again.
    await proxy.heal();
    await waitFor(() => store.endpoints()[0]?.healthy, 10_000, "the probe to restore the proxied endpoint");
    expect(store.endpoints()[0]).toMatchObject({ healthy: true, failures: 0 });
    const before = proxy.forwarded;
    for (let i = 0; i < 6; i++) await store.queueStats("worker");
    expect(proxy.forwarded).toBeGreaterThan(before);

    // Both down: STORE_UNAVAILABLE, ping fails, every endpoint unhealthy; nothing accepted is lost.
    await server.stop();
    await expectBmnError(() => store.enqueue("worker", msg()), "STORE_UNAVAILABLE");
    await expectBmnError(() => store.receive("worker", { max: 1 }), "STORE_UNAVAILABLE");
    await expectBmnError(() => store.ping(), "STORE_UNAVAILABLE");
    expect(store.endpoints().map((endpoint) => endpoint.healthy)).toEqual([false, false]);

    await server.start();
    await waitFor(() => answers(() => store.ping()), 30_000, "the store to reconnect");
    await waitFor(
      () => store.endpoints().every((endpoint) => endpoint.healthy),
      10_000,
      "both endpoints to be healthy again",
    );
    const rest: string[] = (await receiveAll(store, "worker")).map((delivery) => delivery.message.id);
    expect(new Set(rest)).toEqual(new Set(accepted.filter((id) => !acked.has(id))));
    expect(rest).toHaveLength(accepted.length - acked.size);
  });

  it("starts with an endpoint down, migrating on the healthy one, and opens it once it answers", async () => {
    await proxy.cut();
    const store = await open([proxy.url, server.url]);
    expect(store.endpoints()).toMatchObject([{ healthy: false }, { healthy: true }]);
    const sent = await store.enqueue("late", msg());
    await proxy.heal();
    await waitFor(() => store.endpoints()[0]?.healthy, 10_000, "the probe to open the endpoint");
    const before = proxy.forwarded;
    const ids: string[] = [];
    for (let i = 0; i < 4; i++)
      ids.push(...(await store.receive("late", { max: 1 })).map((d) => d.message.id));
    expect(ids).toEqual([sent.id]);
    expect(proxy.forwarded).toBeGreaterThan(before);
  });

  it("fails to connect with STORE_UNAVAILABLE when no endpoint answers", async () => {
    await proxy.cut();
    await server.stop();
    await expect(SqlStore.connect([proxy.url, server.url], { commandTimeoutMs: 500 })).rejects.toMatchObject({
      code: "STORE_UNAVAILABLE",
    });
  });

  it("a sidecar on BMN_TIDB_URL with two endpoints answers /readyz 503 while none is healthy and 200 after", async () => {
    const config = loadConfig(
      { port: 0, domain: "failover" },
      { BMN_STORE: "tidb", BMN_TIDB_URL: ` ${proxy.url} , ${server.url}` },
    );
    expect(config.store.sql?.urls).toEqual([proxy.url, server.url]);
    const sidecar = await startSidecar(config, { logger: false });
    cleanups.push(() => sidecar.close());
    const readyz = async (): Promise<number> => (await fetch(`${sidecar.url}/readyz`)).status;
    expect(await readyz()).toBe(200);

    // One endpoint down: still ready.
    await proxy.cut();
    await waitFor(async () => (await readyz()) === 200, 5_000, "ready with one endpoint");

    await server.stop();
    await waitFor(async () => (await readyz()) === 503, 10_000, "/readyz to answer 503");

    await server.start();
    await proxy.heal();
    await waitFor(async () => (await readyz()) === 200, 30_000, "/readyz to answer 200 again");
  });
});
