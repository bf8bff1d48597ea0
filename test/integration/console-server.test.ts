import { request } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startConsole, type RunningConsole } from "../../console/start-console.js";
import { loadConfig } from "../../runtime/config/load-config.js";
import { startSidecar, type RunningSidecar } from "../../sidecar/start-sidecar.js";
import { InMemoryStore } from "../../store/memory/memory-store.js";
import { freePort } from "../harness/free-port.js";
import { rawRequest } from "./sidecar/raw-request.js";

/** The console's safety rules over plain HTTP, against a real sidecar that wants an API token. */

const SIDECAR_TOKEN = "sidecar-secret-0001";
const CONSOLE_TOKEN = "console-secret-0001";

let sidecar: RunningSidecar;
let open: RunningConsole;
let guarded: RunningConsole;
let csrf: string;

const json = { "content-type": "application/json" };

async function csrfOf(url: string, headers: Record<string, string> = {}): Promise<string> {
  const page = await rawRequest(url, "GET", "/", headers);
  const token = /name="bmn-csrf" content="([^"]+)"/.exec(page.body)?.[1];
  if (token === undefined) throw new Error(`no CSRF token in ${page.body}`);
  return token;
}

beforeAll(async () => {
  const config = loadConfig({ port: 0, logLevel: "silent", server: { apiToken: SIDECAR_TOKEN } }, {});
  sidecar = await startSidecar(config, { store: new InMemoryStore(), logger: false });
  open = await startConsole({ port: 0, sidecarUrl: sidecar.url, sidecarToken: SIDECAR_TOKEN }, false);
  guarded = await startConsole(
    { port: 0, sidecarUrl: sidecar.url, sidecarToken: SIDECAR_TOKEN, token: CONSOLE_TOKEN },
    false,
  );
  csrf = await csrfOf(open.url);
});

afterAll(async () => {
  await open.close();
  await guarded.close();
  await sidecar.close();
});

describe("bmn console: one API, forwarded, and guarded", () => {
  it("serves the page with a strict Content-Security-Policy and never shows the sidecar's token", async () => {
    const response = await fetch(`${open.url}/`);
    expect(response.status).toBe(200);
    const policy = response.headers.get("content-security-policy") ?? "";
    expect(policy).toContain("default-src 'none'");
    expect(policy).toMatch(/script-src 'self' 'sha256-[A-Za-z0-9+/=]+'/);
    expect(policy).toContain("frame-ancestors 'none'");
    expect(response.headers.get("x-content-type-options")).toBe("nosniff");
    expect(await response.text()).not.toContain(SIDECAR_TOKEN);
    // The vendor files come from the installed packages.
    expect((await fetch(`${open.url}/assets/preact.mjs`)).headers.get("content-type")).toMatch(/javascript/);
  });

  it("forwards reads to the sidecar with its token", async () => {
    // Without the page's CSRF header even a read is refused: a receive (a GET) leases messages.
    expect(
      (await rawRequest(open.url, "GET", "/api/v1/agents/worker/messages?max=10&lease=3600")).status,
    ).toBe(403);
    const info = await fetch(`${open.url}/api/v1/info`, { headers: { "x-bmn-csrf": csrf } });
    expect(info.status).toBe(200);
    expect(await info.json()).toMatchObject({ store: "memory" });
    // Without the console adding the token, the sidecar itself refuses: the browser's own credentials are not sent.
    const bare = await startConsole({ port: 0, sidecarUrl: sidecar.url }, false);
    try {
      const bareCsrf = await csrfOf(bare.url);
      const refused = await fetch(`${bare.url}/api/v1/info`, {
        headers: { authorization: `Bearer ${SIDECAR_TOKEN}`, "x-bmn-csrf": bareCsrf },
      });
      expect(refused.status).toBe(401);
    } finally {
      await bare.close();
    }
  });

  it("needs the page's CSRF token for changes, and refuses cross-site requests even with it", async () => {
    const message = JSON.stringify({ to: "worker", type: "t" });
    const refused = await rawRequest(open.url, "POST", "/api/v1/messages", json, message);
    expect(refused.status).toBe(403);
    expect(refused.body).toContain('"field":"x-bmn-csrf"');
    const accepted = await rawRequest(
      open.url,
      "POST",
      "/api/v1/messages",
      { ...json, "x-bmn-csrf": csrf },
      message,
    );
    expect(accepted.status).toBe(202);
    expect((await sidecar.store.queueStats("worker")).depth).toBe(1);
    const crossOrigin = { ...json, "x-bmn-csrf": csrf, origin: "http://evil.example" };
    expect((await rawRequest(open.url, "POST", "/api/v1/messages", crossOrigin, message)).status).toBe(403);
    const crossSite = { ...json, "x-bmn-csrf": csrf, "sec-fetch-site": "cross-site" };
    expect((await rawRequest(open.url, "POST", "/api/v1/messages", crossSite, message)).status).toBe(403);
    expect((await sidecar.store.queueStats("worker")).depth).toBe(1);
  });

  it("refuses a foreign Host while bound to loopback (DNS rebinding)", async () => {
    const port = new URL(open.url).port;
    expect((await rawRequest(open.url, "GET", "/api/v1/info", { host: `evil.example:${port}` })).status).toBe(
      403,
    );
    expect(
      (await rawRequest(open.url, "GET", "/api/v1/info", { host: `localhost:${port}`, "x-bmn-csrf": csrf }))
        .status,
    ).toBe(200);
  });

  it("rebuilds the sidecar path from the route it matched: encoded slashes stay inside one parameter", async () => {
    const tricked = await rawRequest(open.url, "GET", "/api/v1/dlq/..%2F..%2Fmetrics/x", {
      "x-bmn-csrf": csrf,
    });
    expect(tricked.status).toBe(400);
    expect(tricked.body).toContain("INVALID");
    expect((await rawRequest(open.url, "GET", "/api/v1/nope")).status).toBe(404);
    expect((await rawRequest(open.url, "GET", "/api/../v1/info")).status).toBe(404);
  });

  it("with a console token, needs it for the page and the API; the sign-in sets a session cookie", async () => {
    expect((await rawRequest(guarded.url, "GET", "/api/v1/info")).status).toBe(401);
    expect(
      (await rawRequest(guarded.url, "GET", "/api/v1/info", { authorization: `Bearer ${CONSOLE_TOKEN}` }))
        .status,
    ).toBe(200);
    const page = await fetch(`${guarded.url}/`, { redirect: "manual" });
    expect(page.status).toBe(303);
    expect(page.headers.get("location")).toBe("/login");
    const form = { "content-type": "application/x-www-form-urlencoded" };
    expect((await rawRequest(guarded.url, "POST", "/login", form, "token=wrong-token-1")).status).toBe(401);
    const signIn = await fetch(`${guarded.url}/login`, {
      method: "POST",
      headers: form,
      body: `token=${CONSOLE_TOKEN}`,
      redirect: "manual",
    });
    expect(signIn.status).toBe(303);
    const cookie = (signIn.headers.get("set-cookie") ?? "").split(";")[0] ?? "";
    expect(signIn.headers.get("set-cookie")).toMatch(/HttpOnly; SameSite=Strict/);
    expect(cookie).not.toContain(CONSOLE_TOKEN);
    const token = await csrfOf(guarded.url, { cookie });
    expect(
      (await rawRequest(guarded.url, "GET", "/api/v1/info", { cookie, "x-bmn-csrf": token })).status,
    ).toBe(200);
    const replay = await rawRequest(
      guarded.url,
      "POST",
      "/api/v1/dlq/replay",
      { ...json, cookie, "x-bmn-csrf": token },
      '{"dryRun":true}',
    );
    expect(replay.status).toBe(200);
    expect(replay.body).toContain('"dryRun":true');
  });

  it("slows token guessing: after 10 wrong tries a client waits, even with the right token", async () => {
    const locked = await startConsole(
      { port: 0, sidecarUrl: sidecar.url, sidecarToken: SIDECAR_TOKEN, token: CONSOLE_TOKEN },
      false,
    );
    try {
      for (let guess = 0; guess < 10; guess++) {
        const wrong = await rawRequest(locked.url, "GET", "/api/v1/info", {
          authorization: `Bearer guess-${guess}`,
        });
        expect(wrong.status).toBe(401);
      }
      const right = await fetch(`${locked.url}/api/v1/info`, {
        headers: { authorization: `Bearer ${CONSOLE_TOKEN}` },
      });
      expect(right.status).toBe(429);
      expect(Number(right.headers.get("retry-after"))).toBeGreaterThan(0);
      expect(await right.json()).toMatchObject({ errorCode: "TOO_MANY_ATTEMPTS", field: "token" });
      const form = { "content-type": "application/x-www-form-urlencoded" };
      expect((await rawRequest(locked.url, "POST", "/login", form, `token=${CONSOLE_TOKEN}`)).status).toBe(
        429,
      );
      // Not signing in at all is not guessing: the page still answers with its sign-in redirect.
      expect((await fetch(`${locked.url}/`, { redirect: "manual" })).status).toBe(303);
    } finally {
      await locked.close();
    }
  });

  it("refuses to listen beyond loopback without a console token", async () => {
    await expect(startConsole({ host: "0.0.0.0", port: 0, sidecarUrl: sidecar.url }, false)).rejects.toThrow(
      /console token/,
    );
  });

  it("answers 502 SIDECAR_UNREACHABLE when the sidecar is gone", async () => {
    const nowhere = await startConsole(
      { port: 0, sidecarUrl: `http://127.0.0.1:${await freePort()}` },
      false,
    );
    try {
      const answer = await rawRequest(nowhere.url, "GET", "/api/v1/info", {
        "x-bmn-csrf": await csrfOf(nowhere.url),
      });
      expect(answer.status).toBe(502);
      expect(JSON.parse(answer.body)).toMatchObject({ errorCode: "SIDECAR_UNREACHABLE" });
    } finally {
      await nowhere.close();
    }
  });

  it("cancels the sidecar call when the page goes away: an abandoned long-poll leases nothing", async () => {
    const store = new InMemoryStore();
    let pollStarted: () => void = () => undefined;
    let pollEnded: () => void = () => undefined;
    const started = new Promise<void>((resolve) => (pollStarted = resolve));
    const ended = new Promise<void>((resolve) => (pollEnded = resolve));
    const receive = store.receive.bind(store);
    // Observes the real store's receive: when the console's poll reaches it, and when the poll is over.
    store.receive = (agent, options) => {
      if (agent !== "abandoned") return receive(agent, options);
      pollStarted();
      return receive(agent, options).finally(pollEnded);
    };
    const plain = await startSidecar(loadConfig({ port: 0, logLevel: "silent" }, {}), {
      store,
      logger: false,
    });
    const viewer = await startConsole({ port: 0, sidecarUrl: plain.url }, false);
    try {
      const token = await csrfOf(viewer.url);
      const url = new URL(viewer.url);
      const poll = request({
        host: url.hostname,
        port: url.port,
        path: "/api/v1/agents/abandoned/messages?max=1&wait=30",
        headers: { "x-bmn-csrf": token },
        agent: false,
      });
      poll.on("error", () => undefined);
      poll.end();
      await started;
      poll.destroy();
      await Promise.race([
        ended,
        new Promise((_, reject) => {
          setTimeout(() => {
            reject(new Error("the sidecar's poll outlived the page by 10 s"));
          }, 10_000).unref();
        }),
      ]);
      // A message sent now waits for whoever asks next: it was not leased to the page that left.
      await fetch(`${plain.url}/v1/messages`, {
        method: "POST",
        headers: json,
        body: JSON.stringify({ to: "abandoned", type: "t" }),
      });
      const next = await fetch(`${plain.url}/v1/agents/abandoned/messages?max=1`);
      expect(((await next.json()) as { deliveries: unknown[] }).deliveries).toHaveLength(1);
    } finally {
      await viewer.close();
      await plain.close();
    }
  });
});
