import { request } from "node:https";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  INJECTION_PATH,
  startInjectionWebhookServer,
  type InjectionWebhookServer,
} from "../../operator/webhook/injection-webhook-server.js";
import { createCa, createServingCert } from "../../operator/webhook/self-signed-cert.js";

// Anyone who can reach the operator pod can send the webhook bodies: how many it reads at once is bounded.
describe("the injection webhook's limits", () => {
  const ca = createCa("limits-ca", 1);
  const serving = createServingCert(ca, ["127.0.0.1"], 1);
  let server: InjectionWebhookServer;

  beforeAll(async () => {
    server = await startInjectionWebhookServer({
      host: "127.0.0.1",
      port: 0,
      cert: serving.cert,
      key: serving.key,
      readDomain: () => Promise.resolve(undefined),
    });
  });
  afterAll(async () => {
    await server.close();
  });

  /** A POST whose body never ends (its headers promise more than is sent); answers the status if one comes. */
  function post(slow: boolean): { status: Promise<number>; end: () => void } {
    const outgoing = request({
      host: "127.0.0.1",
      port: server.port,
      method: "POST",
      path: INJECTION_PATH,
      ca: ca.cert,
      agent: false,
      headers: { "content-type": "application/json", "content-length": slow ? "1000000" : "2" },
    });
    const status = new Promise<number>((resolve, reject) => {
      outgoing.once("response", (response) => {
        response.resume();
        resolve(response.statusCode ?? 0);
      });
      outgoing.once("error", reject);
    });
    outgoing.write(slow ? "{" : "{}");
    if (!slow) outgoing.end();
    return {
      status,
      end: () => {
        status.catch(() => undefined); // cut by us: its hang-up is expected
        outgoing.destroy();
      },
    };
  }

  it("reads 16 reviews at once; the next is answered 503 at once, and a slot freed serves again", async () => {
    const slow = Array.from({ length: 16 }, () => post(true));
    // Each slow review holds a slot once its headers are in; poll until the next one is refused.
    let refused = 0;
    for (let tries = 0; tries < 200 && refused !== 503; tries++) refused = await post(false).status;
    expect(refused).toBe(503);
    for (const review of slow) review.end();
    let served = 503;
    for (let tries = 0; tries < 200 && served === 503; tries++) served = await post(false).status;
    // `{}` is no AdmissionReview: refused by the validation, so it was read.
    expect(served).toBe(400);
  });
});
