import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SidecarConfigInput } from "../core/config.js";
import { BmnProcess } from "../test/harness/bmn-process.js";
import { accessibilityViolations, launchChromium } from "../test/harness/chromium.js";
import { freePort } from "../test/harness/free-port.js";
import { startMariaDb } from "../test/harness/mariadb-server.js";
import { until } from "../test/harness/poll-until.js";
import { Domains } from "./harness/domains.js";

/**
 * The console in a real Chromium (Debian's, driven by playwright-core) against real processes: two domains a and b
 * (each a Redis, a sidecar and a gateway, the gateways linked through Toxiproxy), one more sidecar of a that lists
 * a's gateway (routing.gateways), and `bmn console` using that sidecar. The test makes the traffic, dead letters
 * and faults itself and reads them off the pages. Screenshots go to a temporary directory, or to docs/images with
 * BMN_UPDATE_SCREENSHOTS=1.
 */

const IMAGES = fileURLToPath(new URL("../docs/images/", import.meta.url));
const WAIT_MS = 30_000;

let domains: Domains;
let configDir: string;
let sidecar: BmnProcess;
let consoleProcess: BmnProcess;
let browser: Browser;
let page: Page;
let screenshots: string;
const cspViolations: string[] = [];
const pageErrors: string[] = [];

// eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- the caller names the answer's shape
async function api<T>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
  const response = await fetch(`${sidecar.url}${path}`, {
    method,
    ...(body === undefined
      ? {}
      : { headers: { "content-type": "application/json" }, body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, body: (text === "" ? undefined : JSON.parse(text)) as T };
}

async function send(message: Record<string, unknown>): Promise<string> {
  const answer = await api<{ id: string }>("POST", "/v1/messages", { type: "console.test", ...message });
  expect(answer.status).toBe(202);
  return answer.body.id;
}

interface Delivery {
  leaseId: string;
  message: { id: string };
}

async function receive(agent: string, max = 100): Promise<Delivery[]> {
  return (await api<{ deliveries: Delivery[] }>("GET", `/v1/agents/${agent}/messages?max=${max}`)).body
    .deliveries;
}

async function open(hash: string): Promise<void> {
  await page.goto(`${consoleProcess.url}/${hash}`);
  await page.locator("main h1").waitFor();
}

async function screenshot(name: string): Promise<void> {
  await page.screenshot({ path: join(screenshots, `console-${name}.png`), fullPage: true });
}

async function expectAccessible(): Promise<void> {
  const violations = await accessibilityViolations(page);
  expect(
    violations.map((v) => `${v.id}: ${v.help} at ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`),
  ).toEqual([]);
}

const text = async (selector: string): Promise<string> =>
  (await page.locator(selector).first().textContent()) ?? "";

beforeAll(async () => {
  domains = await Domains.start({ domains: ["a", "b"], links: [["a", "b"]] });
  configDir = await mkdtemp(join(tmpdir(), "bmn-console-"));
  const file = join(configDir, "sidecar-a.json");
  const config: SidecarConfigInput = {
    domain: "a",
    host: "127.0.0.1",
    store: { type: "redis", redis: { url: domains.domain("a").redis.url } },
    routing: { crossDomain: true, gateways: [domains.domain("a").gateway(0).url] },
  };
  await writeFile(file, JSON.stringify(config));
  sidecar = await BmnProcess.start({
    label: "console's sidecar of a",
    port: await freePort(),
    args: (port) => ["start", "--port", String(port)],
    env: { BMN_CONFIG: file },
    readyPath: "/readyz",
  });
  consoleProcess = await BmnProcess.start({
    label: "console",
    port: await freePort(),
    args: (port) => ["console", "--port", String(port), "--sidecar", sidecar.url],
    readyPath: "/",
    readyLine: /bmn console listening on http:\/\//,
  });
  screenshots = process.env.BMN_UPDATE_SCREENSHOTS === "1" ? IMAGES : join(configDir, "images");
  await mkdir(screenshots, { recursive: true });
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on("console", (message) => {
    if (message.text().includes("Content Security Policy")) cspViolations.push(message.text());
  });
  page.on("pageerror", (error) => pageErrors.push(error.message));
});

afterAll(async () => {
  await browser.close().catch(() => undefined);
  await consoleProcess.stop().catch(() => undefined);
  await sidecar.stop().catch(() => undefined);
  await domains.stop();
  await rm(configDir, { recursive: true, force: true });
});

describe("the console in Chromium (real console, sidecars, gateways and Redis)", () => {
  it("the overview shows the rates and queue depths of the traffic the test makes", async () => {
    await open("#/overview");
    // The first sample of the counters is only a baseline: rates show after the second.
    await until(async () => /^\d/.test(await text('[data-rate="send"]')), WAIT_MS, "the first rates");
    for (let i = 0; i < 30; i++) await send({ to: "worker", data: { i } });
    const taken = await receive("worker", 10);
    for (const delivery of taken)
      expect((await api("POST", `/v1/deliveries/${delivery.leaseId}/ack`)).status).toBe(204);
    await until(
      async () => Number(await text('[data-rate="send"]')) > 0 && Number(await text('[data-rate="ack"]')) > 0,
      WAIT_MS,
      "send and ack rates above 0",
      () => text(".cards"),
    );
    await until(
      async () => (await text('tr[data-queue="worker"] [data-col="depth"]')) === "20",
      WAIT_MS,
      "worker's depth of 20",
    );
    expect(await text('tr[data-queue="worker"] [data-col="in-flight"]')).toBe("0");
    expect(await text('tr[data-queue="worker"] [data-col="age"]')).not.toBe("–");
    expect(await text('[data-testid="store-health"]')).toContain("Ready");
    await screenshot("overview");
    await expectAccessible();
  });

  it("the agents page lists registrations with capabilities and queue counts", async () => {
    expect((await api("PUT", "/v1/agents/worker", { capabilities: ["summarize", "translate"] })).status).toBe(
      200,
    );
    await open("#/agents");
    await page.locator('tr[data-agent="worker"]').waitFor();
    expect(await text('tr[data-agent="worker"]')).toContain("summarize");
    await page.locator('tr[data-agent="worker"] a').first().click();
    await until(() => page.url().endsWith("#/messages/worker"), WAIT_MS, "the click through to the queue");
    await screenshot("agents");
    await expectAccessible();
  });

  it("the messages page browses a queue page by page and filters by type", async () => {
    await send({ to: "worker", type: "console.other", data: { odd: true } });
    await open("#/messages/worker");
    await until(
      async () => (await page.locator("tr[data-message]").count()) === 21,
      WAIT_MS,
      "21 ready messages",
    );
    await page.getByLabel("Type contains").fill("console.other");
    await until(async () => (await page.locator("tr[data-message]").count()) === 1, WAIT_MS, "the filter");
    await page.locator("tr[data-message] button").first().click();
    expect(await text("pre.envelope")).toContain('"odd": true');
    // Browsing took nothing: the queue still holds all 21, none in flight.
    expect(
      (await api<{ depth: number; inFlight: number }>("GET", "/v1/agents/worker/stats")).body,
    ).toMatchObject({
      depth: 21,
      inFlight: 0,
    });
    await screenshot("messages");
    await expectAccessible();
  });

  it("lists dead letters with reasons; a dry run changes nothing; replay, redirect and purge act and are traced", async () => {
    const rejected: string[] = [];
    for (let i = 0; i < 3; i++) rejected.push(await send({ to: "sorter", data: { i } }));
    for (const delivery of await receive("sorter")) {
      await api("POST", `/v1/deliveries/${delivery.leaseId}/nack`, {
        deadLetter: true,
        reason: `bad input ${delivery.message.id}`,
      });
    }
    const expired = await send({ to: "sorter", expiresat: new Date(Date.now() - 1_000).toISOString() });

    await open("#/dlq?agent=sorter");
    await until(
      async () => (await page.locator("tr[data-dead-letter]").count()) === 4,
      WAIT_MS,
      "4 dead letters",
    );
    const reasons = await page.locator('tr[data-dead-letter] [data-col="reason"]').allTextContents();
    expect(reasons.sort()).toEqual(["expired", "rejected", "rejected", "rejected"]);
    expect(await text(`tr[data-dead-letter="${rejected[0] ?? ""}"]`)).toContain(
      `bad input ${rejected[0] ?? ""}`,
    );
    await screenshot("dead-letters");
    await expectAccessible();

    // Dry run of a replay of all 4: the page says what would move; the DLQ and the queue are untouched.
    await page.getByRole("button", { name: "Dry run: replay all 4 shown", exact: true }).click();
    await until(
      async () => (await text('[data-testid="dlq-outcome"]')).includes("would take 4"),
      WAIT_MS,
      "the dry run",
    );
    expect(await text('[data-testid="dlq-outcome"]')).toContain(`${expired}: sorter → sorter`);
    await screenshot("dead-letters-dry-run");
    expect(
      (await api<{ deadLetters: unknown[] }>("GET", "/v1/dlq?agent=sorter")).body.deadLetters,
    ).toHaveLength(4);
    expect(await receive("sorter")).toEqual([]);

    // Replay two of them back to their original queue: the test receives exactly those.
    const [first, second, third] = rejected as [string, string, string];
    await page.getByLabel(`select ${first}`).check();
    await page.getByLabel(`select ${second}`).check();
    await page.getByRole("button", { name: "Replay 2 selected", exact: true }).click();
    await until(
      async () => (await text('[data-testid="dlq-outcome"]')).includes("Replayed 2"),
      WAIT_MS,
      "the replay",
    );
    const replayed = await until(
      async () => {
        const got = await receive("sorter");
        return got.length > 0 && got;
      },
      WAIT_MS,
      "the replayed messages",
    );
    expect(replayed.map((d) => d.message.id).sort()).toEqual([first, second].sort());
    await until(async () => (await page.locator("tr[data-dead-letter]").count()) === 2, WAIT_MS, "2 left");

    // Redirect the third to another agent.
    await page.getByLabel(`select ${third}`).check();
    await page.getByLabel("Redirect to").fill("rescuer");
    await page.getByRole("button", { name: "Redirect 1 selected", exact: true }).click();
    await until(
      async () => (await text('[data-testid="dlq-outcome"]')).includes("to rescuer"),
      WAIT_MS,
      "the redirect",
    );
    expect((await receive("rescuer")).map((d) => d.message.id)).toEqual([third]);

    // Purge the last one, behind a confirmation.
    await page.getByRole("button", { name: "Purge all 1 shown…", exact: true }).click();
    const dialog = page.getByRole("dialog");
    await dialog.waitFor();
    expect(await dialog.textContent()).toContain("cannot be replayed");
    await dialog.getByRole("button", { name: "Purge for good", exact: true }).click();
    await until(
      async () => (await text('[data-testid="dlq-outcome"]')).includes("Purged 1"),
      WAIT_MS,
      "the purge",
    );
    expect((await api<{ deadLetters: unknown[] }>("GET", "/v1/dlq?agent=sorter")).body.deadLetters).toEqual(
      [],
    );

    // Every action is in the message's trace.
    const kinds = async (id: string): Promise<string[]> =>
      (
        await api<{ events: { kind: string; agent?: string }[] }>("GET", `/v1/messages/${id}/trace`)
      ).body.events.map(
        (event) => `${event.kind}${event.kind === "replayed" ? `:${event.agent ?? ""}` : ""}`,
      );
    expect(await kinds(first)).toContain("replayed:sorter");
    expect(await kinds(third)).toContain("replayed:rescuer");
    expect(await kinds(expired)).toContain("purged");
  });

  it("the trace timeline shows the hops of a cross-domain message and its OpenTelemetry trace id", async () => {
    const id = await send({ to: "worker@b", data: { far: true } });
    // b's worker receives it through the gateways.
    const bSidecar = domains.domain("b").sidecarUrl;
    const delivered = await until(
      async () => {
        const answer = await fetch(`${bSidecar}/v1/agents/worker/messages?max=10`);
        const body = (await answer.json()) as { deliveries: Delivery[] };
        return body.deliveries.find((d) => d.message.id === id);
      },
      WAIT_MS,
      "the message in b",
    );
    await fetch(`${bSidecar}/v1/deliveries/${delivered.leaseId}/ack`, { method: "POST" });

    await open(`#/trace/${id}`);
    await until(
      async () => (await page.locator('li.hop[data-kind="acked"]').count()) > 0,
      WAIT_MS,
      "the forwarded hop",
      () => text("main"),
    );
    const hops = await page.locator("li.hop strong").allTextContents();
    expect(hops).toEqual(
      expect.arrayContaining([
        "accepted · bmn.out.b",
        "queued for domain b (outbox)",
        expect.stringMatching(/^forwarded to domain b by gateway /),
      ]),
    );
    expect(await text('[data-testid="otel-trace-id"]')).toMatch(/^[0-9a-f]{32}$/);
    await screenshot("trace");
    await expectAccessible();
  });

  it("the topology graph shows the link to b going down when the test cuts it, and up again", async () => {
    await open("#/topology");
    const link = page.locator('g[data-link$="->b"]');
    await until(async () => (await link.getAttribute("data-state")) === "up", WAIT_MS, "a's link to b up");
    await screenshot("topology");
    await expectAccessible();
    await domains.cut("a", "b");
    try {
      await until(
        async () => (await link.getAttribute("data-state")) === "down",
        WAIT_MS,
        "the link down",
        () => text("main"),
      );
      expect(await text('tr[data-row-link$="->b"] [data-col="state"]')).toBe("down");
      await screenshot("topology-down");
    } finally {
      await domains.heal("a", "b");
    }
    await until(async () => (await link.getAttribute("data-state")) === "up", WAIT_MS, "the link up again");
  });

  it("the analytics page says it needs the SQL store on Redis, and on MariaDB shows the named queries", async () => {
    await open("#/analytics");
    await until(async () => (await text("main")).includes("need the SQL store"), WAIT_MS, "the note");
    await expectAccessible();

    // A second domain on the SQL store (MariaDB), with its own sidecar and console.
    const mariadb = await startMariaDb({ durable: false });
    const file = join(configDir, "sidecar-sql.json");
    const config: SidecarConfigInput = {
      domain: "ledgers",
      host: "127.0.0.1",
      store: { type: "sql", sql: { url: mariadb.url } },
    };
    await writeFile(file, JSON.stringify(config));
    const sqlSidecar = await BmnProcess.start({
      label: "sql sidecar",
      port: await freePort(),
      args: (port) => ["start", "--port", String(port)],
      env: { BMN_CONFIG: file },
      readyPath: "/readyz",
    });
    const sqlConsole = await BmnProcess.start({
      label: "sql console",
      port: await freePort(),
      args: (port) => ["console", "--port", String(port), "--sidecar", sqlSidecar.url],
      readyPath: "/",
      readyLine: /bmn console listening on http:\/\//,
    });
    try {
      for (let i = 0; i < 12; i++) {
        const sent = await fetch(`${sqlSidecar.url}/v1/messages`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ to: "ledger", type: "ledger.entry", data: { i } }),
        });
        expect(sent.status).toBe(202);
      }
      await page.goto(`${sqlConsole.url}/#/analytics`);
      await page.getByRole("button", { name: "Run", exact: true }).waitFor();
      await page.getByRole("button", { name: "Run", exact: true }).click();
      // The trace is written in the background: run the query again until the 12 show.
      await until(
        async () => {
          // Columns: bucket, agent, accepted, enqueued; summed over the buckets the sends fell in.
          const rows = await Promise.all(
            (await page.locator("table tbody tr").all()).map((row) => row.locator("td").allTextContents()),
          );
          const accepted = rows
            .filter((cells) => cells[1] === "ledger")
            .reduce((sum, cells) => sum + Number(cells[2]), 0);
          if (accepted === 12) return true;
          await page.getByRole("button", { name: "Run", exact: true }).click();
          return false;
        },
        WAIT_MS,
        "12 accepted messages of ledger",
        () => text("main"),
        500,
      );
      expect(await page.locator(".chart canvas").count()).toBeGreaterThan(0);
      await screenshot("analytics");
      await expectAccessible();
    } finally {
      await sqlConsole.stop();
      await sqlSidecar.stop();
      await mariadb.cleanup();
    }
  });

  it("works by keyboard alone: the skip link and the navigation", async () => {
    await open("#/overview");
    await page.keyboard.press("Tab");
    expect(
      await page.evaluate(
        () =>
          (globalThis as unknown as { document: { activeElement: { textContent: string } } }).document
            .activeElement.textContent,
      ),
    ).toBe("Skip to content");
    // Tab past the skip link through the navigation to "Dead letters" and follow it with Enter.
    for (let i = 0; i < 4; i++) await page.keyboard.press("Tab");
    await page.keyboard.press("Enter");
    await until(() => page.url().endsWith("#/dlq"), WAIT_MS, "the dead letters page by keyboard");
    await until(async () => (await text("main h1")) === "Dead letters", WAIT_MS, "the dead letters page");
  });

  it("ran every page under the strict Content-Security-Policy without a violation or a script error", () => {
    expect(cspViolations).toEqual([]);
    expect(pageErrors).toEqual([]);
  });
});
