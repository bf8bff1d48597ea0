import type { AddressInfo } from "node:net";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Io } from "../../../cli/context.js";
import { runCli } from "../../../cli/program.js";
import { buildServer } from "../../../sidecar/server/build-server.js";
import type { SidecarTopology } from "../../../core/api/topology-api.js";
import { freePort } from "../../harness/free-port.js";
import {
  eventually,
  receiveAll,
  send,
  startTopology,
  type DomainNode,
  type Topology,
} from "./gateway-fixture.js";

/** Runs `bmn ...args` in this process; answers the exit code and what it printed. */
async function bmn(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const io: Io = {
    out: (text) => (stdout += text),
    err: (text) => (stderr += text),
    readStdin: () => Promise.resolve(""),
    env: {},
    onInterrupt: () => () => undefined,
  };
  const code = await runCli(args, io);
  return { code, stdout, stderr };
}

describe("sidecar GET /v1/topology with a real gateway, and bmn topology without --gateway", () => {
  let topology: Topology;
  let a: DomainNode;
  let b: DomainNode;
  /** A second sidecar of domain a, on a's store, listing a's gateway and one that is not running. */
  let admin: FastifyInstance;
  let adminUrl: string;
  let deadGateway: string;

  beforeAll(async () => {
    topology = await startTopology(["a", "b"], [["a", "b"]]);
    a = topology.node("a");
    b = topology.node("b");
    deadGateway = `http://127.0.0.1:${await freePort()}`;
    admin = await buildServer({
      store: a.store,
      logger: false,
      config: {
        domain: "a",
        logLevel: "silent",
        routing: { crossDomain: true, gateways: [a.gatewayUrl, deadGateway] },
      },
    });
    await admin.listen({ port: 0, host: "127.0.0.1" });
    adminUrl = `http://127.0.0.1:${(admin.server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await admin.close();
    await topology.close();
  });

  async function read(): Promise<SidecarTopology> {
    const response = await fetch(`${adminUrl}/v1/topology`);
    expect(response.status).toBe(200);
    return (await response.json()) as SidecarTopology;
  }

  it("shows the gateway's link to b up, its routes, and the unreachable gateway", async () => {
    const view = await eventually(async () => {
      const current = await read();
      return current.gateways[0]?.topology?.links[0]?.state === "up" ? current : undefined;
    }, "the link a-b up as seen through the sidecar");
    expect(view).toMatchObject({ domain: "a", crossDomain: true, domains: ["a", "b"] });
    const [mine, dead] = view.gateways;
    expect(mine).toMatchObject({
      url: a.gatewayUrl,
      reachable: true,
      topology: {
        domain: "a",
        gateway: "gw-a",
        links: [{ peer: "b", state: "up", breaker: "closed" }],
        routes: [{ domain: "b", hops: 1, nextHop: "b", path: ["b"] }],
      },
    });
    expect(dead).toMatchObject({ url: deadGateway, reachable: false });
    expect(dead?.error).toMatch(/ECONNREFUSED/);
  });

  it("shows the backlog for b while b's gateway is down, with the age a's gateway reports; bmn topology prints it", async () => {
    await b.stopGateway();
    const ids: string[] = [];
    for (let n = 0; n < 3; n++) {
      const sent = await send(a.sidecar, { to: "alice@b", type: "task.created", data: { n } });
      expect(sent.status).toBe(202);
      ids.push(sent.body.id ?? "");
    }
    const view = await eventually(async () => {
      const current = await read();
      const outbox = current.outboxes.find((entry) => entry.destination === "b");
      // a's gateway holds what it is retrying (the rest waits behind it) and reports how long it has held it.
      // ... and that its link to b is down, so b is no longer among the reachable domains.
      return outbox !== undefined &&
        current.gateways[0]?.topology?.links[0]?.state === "down" &&
        outbox.depth + outbox.inFlight === 3 &&
        outbox.inFlight > 0 &&
        (outbox.oldestAgeMs ?? 0) > 0
        ? current
        : undefined;
    }, "the three messages for b in the outbox, some held by a's gateway, its link to b down");
    const [outbox] = view.outboxes;
    expect(view.outboxes).toHaveLength(1);
    expect(outbox).toMatchObject({ destination: "b", queue: "bmn.out.b", deadLettered: 0 });

    const table = await bmn(["--url", adminUrl, "topology"]);
    expect(table).toMatchObject({ code: 0, stderr: "" });
    const lines = table.stdout.split("\n");
    expect(lines[0]).toBe("domain a (sidecar; cross-domain routing on); reachable: a");
    expect(lines).toContainEqual(expect.stringMatching(/^OUTBOX\s+DEPTH\s+READY/));
    expect(lines).toContainEqual(expect.stringMatching(/^b\s+\d+\s+\d+\s+\d+\s+\d+\s+0\s+\d+\.\ds\s/));
    expect(lines).toContain(`gateway ${a.gatewayUrl}:`);
    expect(lines).toContainEqual(expect.stringMatching(/^ {2}domain a \(gateway gw-a\)/));
    expect(lines).toContainEqual(expect.stringMatching(/^ {2}LINK\s+STATE/));
    expect(lines).toContainEqual(
      expect.stringMatching(new RegExp(`^gateway ${deadGateway}: unreachable \\(`)),
    );

    const json = await bmn(["--url", adminUrl, "topology", "--json"]);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ domain: "a", outboxes: [{ destination: "b" }] });

    // With --gateway it asks the gateway itself, as before.
    const direct = await bmn(["topology", "--gateway", a.gatewayUrl, "--json"]);
    expect(direct.code).toBe(0);
    expect(JSON.parse(direct.stdout)).toMatchObject({ domain: "a", gateway: "gw-a" });

    // Healed: everything arrives and the backlog drains.
    await b.startGateway();
    const received = await receiveAll(b.sidecar, "alice", 3, 15_000);
    expect(received.map((message) => message.id).sort()).toEqual([...ids].sort());
    await eventually(async () => {
      const current = await read();
      const outbox = current.outboxes.find((entry) => entry.destination === "b");
      return outbox?.depth === 0 && outbox.inFlight === 0 ? true : undefined;
    }, "an empty outbox for b");
  });

  it("bmn topology says where the sidecar could not be reached", async () => {
    const closed = `http://127.0.0.1:${await freePort()}`;
    const result = await bmn(["--url", closed, "topology"]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(new RegExp(`cannot reach the sidecar at ${closed}.*--gateway`));
  });
});
