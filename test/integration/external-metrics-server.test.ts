import { readFile } from "node:fs/promises";
import { mkdtemp, rm } from "node:fs/promises";
import { request } from "node:https";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  startExternalMetricsServer,
  type ExternalMetricsServer,
} from "../../operator/external-metrics/external-metrics-server.js";
import {
  MetricUnavailableError,
  type MetricsSource,
} from "../../operator/external-metrics/store-metrics-source.js";
import { createKubePki, type KubePki } from "../harness/kube-pki.js";

// The operator's external.metrics.k8s.io server over real TLS: only the front proxy's client certificate gets in.
// The store behind it is replaced by a fixed source (the real-pod e2e suite reads a real one through the
// apiserver's aggregation layer).

const source: MetricsSource = {
  read(namespace, metricName, selector) {
    if (selector["beastmode.network/domain"] === undefined) {
      return Promise.reject(
        new MetricUnavailableError("labelSelector must name beastmode.network/domain", 400),
      );
    }
    return Promise.resolve({
      value: namespace === "busy" ? 42 : 0,
      labels: { ...selector, metric: metricName },
    });
  },
  close: () => Promise.resolve(),
};

interface Answer {
  status: number;
  body: string;
}

describe("the external metrics API server", () => {
  let dir: string;
  let pki: KubePki;
  let server: ExternalMetricsServer;
  let restricted: ExternalMetricsServer;
  let guarded: ExternalMetricsServer;
  let tls: { ca: Buffer; cert: Buffer; key: Buffer };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "bmn-metrics-api-"));
    pki = await createKubePki(dir);
    tls = {
      ca: await readFile(pki.caCert),
      cert: await readFile(pki.adminCert),
      key: await readFile(pki.adminKey),
    };
    const common = {
      host: "127.0.0.1",
      port: 0,
      cert: await readFile(pki.servingCert),
      key: await readFile(pki.servingKey),
      clientCa: tls.ca.toString(),
      source,
    };
    server = await startExternalMetricsServer({ ...common, allowedNames: [] });
    restricted = await startExternalMetricsServer({ ...common, allowedNames: ["front-proxy-client"] });
    guarded = await startExternalMetricsServer({
      ...common,
      allowedNames: [],
      handshakeTimeoutMs: 2_000,
      maxConnectionsPerAddress: 2,
    });
  });

  afterAll(async () => {
    await server.close();
    await restricted.close();
    await guarded.close();
    await rm(dir, { recursive: true, force: true });
  });

  function get(port: number, path: string, clientCert = true): Promise<Answer> {
    return new Promise((resolve, reject) => {
      const req = request(
        {
          host: "127.0.0.1",
          port,
          path,
          ca: tls.ca,
          ...(clientCert ? { cert: tls.cert, key: tls.key } : {}),
          timeout: 5_000,
        },
        (res) => {
          let body = "";
          res.setEncoding("utf8");
          res.on("data", (chunk: string) => (body += chunk));
          res.on("end", () => {
            resolve({ status: res.statusCode ?? 0, body });
          });
        },
      );
      req.on("error", reject);
      req.end();
    });
  }

  const path = "/apis/external.metrics.k8s.io/v1beta1";

  it("lists its metrics and answers a value for a namespace and selector", async () => {
    const list = await get(server.port, path);
    expect(list.status).toBe(200);
    const resources = JSON.parse(list.body) as {
      kind: string;
      groupVersion: string;
      resources: { name: string }[];
    };
    expect(resources).toMatchObject({
      kind: "APIResourceList",
      groupVersion: "external.metrics.k8s.io/v1beta1",
    });
    expect(resources.resources.map((resource) => resource.name).sort()).toEqual([
      "bmn_outbox_in_flight",
      "bmn_outbox_oldest_age_seconds",
      "bmn_outbox_ready_depth",
      "bmn_queue_in_flight",
      "bmn_queue_oldest_age_seconds",
      "bmn_queue_ready_depth",
    ]);
    const value = await get(
      server.port,
      `${path}/namespaces/busy/bmn_queue_ready_depth?labelSelector=${encodeURIComponent("beastmode.network/domain=a,beastmode.network/agent=b")}`,
    );
    expect(value.status).toBe(200);
    const answer = JSON.parse(value.body) as { kind: string; items: { metricName: string; value: string }[] };
    expect(answer.kind).toBe("ExternalMetricValueList");
    expect(answer.items).toEqual([
      expect.objectContaining({ metricName: "bmn_queue_ready_depth", value: "42" }),
    ]);
  });

  it("answers a metav1 Status for an unknown metric, a bad selector and a source refusal", async () => {
    const unknown = await get(server.port, `${path}/namespaces/busy/cpu_usage`);
    expect(unknown.status).toBe(404);
    expect(JSON.parse(unknown.body)).toMatchObject({ kind: "Status", reason: "NotFound" });
    const badSelector = await get(
      server.port,
      `${path}/namespaces/busy/bmn_queue_ready_depth?labelSelector=a!%3Db`,
    );
    expect(badSelector.status).toBe(400);
    const refused = await get(server.port, `${path}/namespaces/busy/bmn_queue_ready_depth`);
    expect(refused.status).toBe(400);
    expect(JSON.parse(refused.body)).toMatchObject({
      message: "labelSelector must name beastmode.network/domain",
    });
  });

  it("refuses a client without a certificate from the front proxy's CA", async () => {
    await expect(get(server.port, path, false)).rejects.toThrow();
  });

  it("refuses a CA-signed client whose name the cluster does not allow", async () => {
    const answer = await get(restricted.port, path);
    expect(answer.status).toBe(403);
  });

  it("drops sockets that never finish a TLS handshake, and caps the connections of one address", async () => {
    const idle = (): Promise<Socket> =>
      new Promise((resolve, reject) => {
        const socket = connect(guarded.port, "127.0.0.1", () => {
          resolve(socket);
        });
        socket.once("error", reject);
      });
    const closed = (socket: Socket): Promise<void> =>
      new Promise((resolve) => {
        if (socket.closed) resolve();
        else
          socket.once("close", () => {
            resolve();
          });
      });
    const [first, second, third] = [await idle(), await idle(), await idle()];
    // The third is over the cap: closed at once, while the first two wait for their handshake to time out.
    await closed(third);
    expect(first.closed || second.closed).toBe(false);
    await Promise.all([closed(first), closed(second)]);
    // The slots are free again for a client with a certificate.
    expect((await get(guarded.port, path)).status).toBe(200);
  });
});
