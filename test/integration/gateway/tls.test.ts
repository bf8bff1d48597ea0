import { mkdtemp, readFile, rm } from "node:fs/promises";
import https from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createKubePki, type KubePki } from "../../harness/kube-pki.js";
import { receiveAll, send, startTopology, tokenFor, type Topology } from "./gateway-fixture.js";

/** GET over https with the given client material; answers the status, or the TLS error's message. */
async function get(url: string, options: https.RequestOptions): Promise<number | string> {
  return new Promise((resolve) => {
    const request = https.get(url, options, (response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
    });
    request.on("error", (error) => {
      resolve(error.message);
    });
  });
}

describe("gateway: TLS and mTLS between gateways (openssl-made certificates)", () => {
  let dir: string;
  let pki: KubePki;
  let topology: Topology;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "bmn-gw-tls-"));
    pki = await createKubePki(dir);
    // Both gateways serve with the 127.0.0.1 certificate and present the client certificate to their peer.
    topology = await startTopology(["a", "b"], [["a", "b"]], {
      scheme: "https",
      gateway: {
        tls: {
          certFile: pki.servingCert,
          keyFile: pki.servingKey,
          caFile: pki.caCert,
          requireClientCert: true,
        },
      },
      peerTls: { caFile: pki.caCert, certFile: pki.adminCert, keyFile: pki.adminKey },
    });
  });
  afterAll(async () => {
    await topology.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("forwards over mutual TLS", async () => {
    const a = topology.node("a");
    const b = topology.node("b");
    expect(a.gateway?.url).toMatch(/^https:\/\//);
    const sent = await send(a.sidecar, { to: "alice@b", type: "task" });
    const received = await receiveAll(b.sidecar, "alice", 1);
    expect(received.map((m) => m.id)).toEqual([sent.body.id]);
  });

  it("refuses a client without a certificate, and one that does not trust the gateway's CA", async () => {
    const b = topology.node("b");
    const ca = await readFile(pki.caCert);
    const headers = { "bmn-source-domain": "a", authorization: `Bearer ${tokenFor("a", "b")}` };
    const url = `${b.gatewayUrl}/v1/gateway/routes`;
    const withCert = await get(url, {
      ca,
      cert: await readFile(pki.adminCert),
      key: await readFile(pki.adminKey),
      headers,
      agent: false,
    });
    expect(withCert).toBe(200);
    const noCert = await get(url, { ca, headers, agent: false });
    expect(typeof noCert).toBe("string");
    const untrusted = await get(url, { headers, agent: false });
    expect(untrusted).toMatch(/self[- ]signed|unable to verify|certificate/i);
  });
});
