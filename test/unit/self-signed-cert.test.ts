import { X509Certificate } from "node:crypto";
import { createServer, request } from "node:https";
import type { AddressInfo } from "node:net";
import { describe, expect, it } from "vitest";
import { createCa, createServingCert } from "../../operator/webhook/self-signed-cert.js";
import { issueTls, servingHosts, usableTls } from "../../operator/webhook/webhook-tls.js";

// The operator's own certificates for the injection webhook (node:crypto has no X.509 builder; ours is checked
// by node's X.509 parser and a real TLS handshake; the apiserver test checks Go's side).

const HOSTS = servingHosts("bmn-webhook", "bmn-system", ["127.0.0.1"]);

describe("the webhook's self-signed certificates", () => {
  it("makes a CA and a serving certificate it signed, for the Service's names and an IP", () => {
    const ca = createCa("test-ca", 10);
    const serving = createServingCert(ca, HOSTS, 5);
    const caCert = new X509Certificate(ca.cert);
    const cert = new X509Certificate(serving.cert);
    expect(caCert.ca).toBe(true);
    expect(cert.ca).toBe(false);
    expect(cert.verify(caCert.publicKey)).toBe(true);
    expect(cert.issuer).toBe(caCert.subject);
    expect(cert.checkHost("bmn-webhook.bmn-system.svc")).toBe("bmn-webhook.bmn-system.svc");
    expect(cert.checkHost("bmn-webhook.bmn-system.svc.cluster.local")).toBeDefined();
    expect(cert.checkHost("other.bmn-system.svc")).toBeUndefined();
    expect(cert.checkIP("127.0.0.1")).toBe("127.0.0.1");
    expect(cert.keyUsage).toEqual(["1.3.6.1.5.5.7.3.1"]);
    const days = (Date.parse(cert.validTo) - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(4.9);
    expect(days).toBeLessThan(5.1);
  });

  it("serves TLS that a client trusting only the CA accepts", async () => {
    const ca = createCa("test-ca", 10);
    const serving = createServingCert(ca, HOSTS, 5);
    const server = createServer({ cert: serving.cert, key: serving.key }, (_req, res) => {
      res.end("ok");
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const body = await new Promise<string>((resolve, reject) => {
        const req = request(
          { host: "127.0.0.1", port: (server.address() as AddressInfo).port, ca: ca.cert, path: "/" },
          (res) => {
            let text = "";
            res.on("data", (chunk: Buffer) => {
              text += chunk.toString();
            });
            res.on("end", () => {
              resolve(text);
            });
          },
        );
        req.on("error", reject);
        req.end();
      });
      expect(body).toBe("ok");
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });

  it("keeps stored TLS while it lasts, renews close to the end, and keeps a long-lived CA when renewing", () => {
    const tls = issueTls(HOSTS, {});
    expect(usableTls(tls, HOSTS)).toBe(true);
    // Other names, a missing key, or 340 days on (under 30 days left): not usable.
    expect(usableTls(tls, [...HOSTS, "elsewhere.svc"])).toBe(false);
    expect(usableTls({ ca: tls.ca, caKey: tls.caKey, cert: tls.cert }, HOSTS)).toBe(false);
    expect(usableTls(tls, HOSTS, Date.now() + 340 * 86_400_000)).toBe(false);
    // A key that does not belong to the certificate.
    expect(usableTls({ ...tls, key: issueTls(HOSTS, {}).key }, HOSTS)).toBe(false);
    const renewed = issueTls(HOSTS, tls);
    expect(renewed.ca).toBe(tls.ca);
    expect(renewed.cert).not.toBe(tls.cert);
    expect(usableTls(renewed, HOSTS)).toBe(true);
  });
});
