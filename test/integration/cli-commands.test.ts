import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BmnClient, type Message } from "../../client/index.js";
import { StoreUnavailableError } from "../../core/errors.js";
import { loadConfig } from "../../runtime/config/load-config.js";
import { startSidecar, type RunningSidecar } from "../../sidecar/start-sidecar.js";
import { InMemoryStore } from "../../store/memory/memory-store.js";
import { freePort } from "../harness/free-port.js";
import { until as untilWithin } from "../harness/poll-until.js";
import { BACKENDS, useSidecar } from "./sidecar/sidecar-fixture.js";

const BIN = fileURLToPath(new URL("../../cli/bin/bmn.js", import.meta.url));
const RUN_TIMEOUT_MS = 30_000;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The environment without any BMN_* variable of the machine running the tests. */
function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith("BMN_")));
  return { ...env, ...extra };
}

interface Started {
  child: ChildProcessWithoutNullStreams;
  /** Resolves with everything the process wrote once it exits (killed after RUN_TIMEOUT_MS). */
  done: Promise<Run>;
  /** Resolves once stdout holds `count` complete lines (bounded by the run timeout). */
  linesOut(count: number): Promise<void>;
}

/** Starts `node cli/bin/bmn.js ...args` as a child process, the way a user runs it. */
function start(args: string[], options: { env?: Record<string, string>; input?: string } = {}): Started {
  const child = spawn(process.execPath, [BIN, ...args], {
    env: cleanEnv(options.env ?? {}),
    stdio: ["pipe", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  const waiters: { count: number; resolve: () => void }[] = [];
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
    stdout += chunk;
    const have = stdout.split("\n").length - 1;
    for (const waiter of waiters.filter((w) => have >= w.count)) waiter.resolve();
  });
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  const done = new Promise<Run>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`bmn ${args.join(" ")} did not exit within ${RUN_TIMEOUT_MS} ms; stderr: ${stderr}`));
    }, RUN_TIMEOUT_MS);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
  child.stdin.end(options.input ?? "");
  return {
    child,
    done,
    linesOut: (count) =>
      Promise.race([
        // Lines printed before the call count too: the process may be quicker than the test.
        new Promise<void>((resolve) => {
          if (stdout.split("\n").length - 1 >= count) resolve();
          else waiters.push({ count, resolve });
        }),
        done.then((run) => {
          throw new Error(`bmn exited before printing ${count} lines: ${JSON.stringify(run)}`);
        }),
      ]),
  };
}

/** Runs `node cli/bin/bmn.js ...args` to completion. */
function bmn(args: string[], options: { env?: Record<string, string>; input?: string } = {}): Promise<Run> {
  return start(args, options).done;
}

/** Polls `probe` until it answers a value (10 s at most). */
const until = <T>(probe: () => Promise<T | undefined>): Promise<T> =>
  untilWithin(probe, 10_000, "a condition");

const fresh = (prefix: string): string => `${prefix}-${randomUUID().slice(0, 8)}`;
const lines = (text: string): string[] => text.split("\n").filter((line) => line !== "");

/** A failure: non-zero exit, nothing on stdout, exactly one line on stderr. Answers that line. */
function failure(run: Run, exitCode = 1): string {
  expect({ code: run.code, stdout: run.stdout }).toEqual({ code: exitCode, stdout: "" });
  expect(run.stderr.endsWith("\n")).toBe(true);
  const errorLines = lines(run.stderr);
  expect(errorLines).toHaveLength(1);
  expect(errorLines[0]).toMatch(/^bmn: /);
  return errorLines[0] ?? "";
}

describe.each(BACKENDS)("the bmn CLI against a real sidecar (%s)", (backend) => {
  const fixture = useSidecar(backend, { backoffBaseMs: 10, backoffMaxMs: 20, maxAttempts: 2 });
  const env = (): Record<string, string> => ({ BMN_URL: fixture.url });
  const client = (agent?: string): BmnClient =>
    new BmnClient({ url: fixture.url, ...(agent === undefined ? {} : { agent }) });

  it("sends a message; it arrives with the text as data.message", async () => {
    const to = fresh("inbox");
    const run = await bmn(["send", to, "hello there", "--priority", "7", "--correlation-id", "c-1"], {
      env: env(),
    });
    expect(run).toMatchObject({ code: 0, stderr: "" });
    expect(run.stdout).toMatch(new RegExp(`^sent \\S+ to ${to}\\n$`));
    const [delivery] = await client(to).receive({ waitSeconds: 5 });
    expect(delivery?.message).toMatchObject({
      type: "simple_message",
      to,
      from: "cli",
      priority: 7,
      correlationid: "c-1",
      data: { message: "hello there" },
    });
  });

  it("reads JSON data from stdin with - --json, and prints only the id with -q", async () => {
    const to = fresh("stdin");
    const run = await bmn(["send", to, "-", "--json", "--type", "order.created", "-q", "--from", "shop"], {
      env: env(),
      input: '{"order": 42}\n',
    });
    expect(run.code).toBe(0);
    const id = run.stdout.trim();
    const [delivery] = await client(to).receive({ waitSeconds: 5 });
    expect(delivery?.message).toMatchObject({ id, type: "order.created", from: "shop", data: { order: 42 } });
  });

  it("publishes with --topic", async () => {
    const subscriber = fresh("sub");
    const topic = `${fresh("orders")}.created`;
    await client(subscriber).subscribe(topic);
    const run = await bmn(["send", "--topic", topic, "new order"], { env: env() });
    expect(run).toMatchObject({ code: 0, stderr: "" });
    expect(run.stdout).toContain(`to topic ${topic} (recipients: ${subscriber})`);
  });

  it("rejects a bad priority before touching the network", async () => {
    expect(failure(await bmn(["status", "hi", "--priority", "12"], { env: env() }), 2)).toBe(
      "bmn: --priority must be 1-10, got 12",
    );
    expect(failure(await bmn(["send", "x", "hi", "--priority", "10"], { env: env() }), 2)).toBe(
      "bmn: --priority must be 0-9, got 10",
    );
  });

  it("says how to fix an unreachable sidecar", async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const line = failure(await bmn(["send", "someone", "hi"], { env: { BMN_URL: url } }));
    expect(line).toBe(
      `bmn: cannot reach the sidecar at ${url} (from BMN_URL) — start one with "npm start" or set BMN_URL`,
    );
  });

  it("reports the sidecar's 400 for an invalid address in one line", async () => {
    const line = failure(await bmn(["send", "Not_An_Agent", "hi"], { env: env() }));
    expect(line).toMatch(/^bmn: the sidecar refused the message: to .*agent address/);
  });

  it("reports an unknown lease in one line", async () => {
    const line = failure(await bmn(["ack", "no-such-lease"], { env: env() }));
    expect(line).toMatch(/^bmn: lease "no-such-lease" is unknown or already settled — /);
  });

  it("receives without acking, then acks and nacks by lease id", async () => {
    const agent = fresh("leases");
    await client().sendBatch([
      { to: agent, type: "a" },
      { to: agent, type: "b" },
    ]);
    const received = await bmn(["receive", "--agent", agent, "--max", "2", "--wait", "5", "--json"], {
      env: env(),
    });
    expect(received.code).toBe(0);
    const deliveries = lines(received.stdout).map(
      (line) => JSON.parse(line) as { leaseId: string; message: Message },
    );
    expect(deliveries.map((d) => d.message.type)).toEqual(["a", "b"]);
    const [first, second] = deliveries;
    if (first === undefined || second === undefined) throw new Error("expected two deliveries");
    expect(await bmn(["ack", first.leaseId], { env: env() })).toMatchObject({
      code: 0,
      stdout: `acked ${first.leaseId}\n`,
    });
    const nacked = await bmn(["nack", second.leaseId, "--dead-letter", "--reason", "bad input"], {
      env: env(),
    });
    expect(nacked).toMatchObject({ code: 0, stdout: `dead-lettered ${second.leaseId}\n` });
    expect(await client().dlq.list({ agent })).toMatchObject([
      { reason: "rejected", message: { type: "b" } },
    ]);
  });

  it("status and collab: broadcast to beast.<type>, or to --target; legacy priority p maps to p-1", async () => {
    const listener = fresh("listener");
    const target = fresh("target");
    await client(listener).subscribe("beast.#");
    const status = await bmn(
      [
        "status",
        "indexing",
        "--progress",
        "file 3 of 9",
        "--percentage",
        "33",
        "--priority",
        "10",
        "--source",
        "indexer",
      ],
      { env: env() },
    );
    expect(status.code).toBe(0);
    expect(status.stdout).toContain("to topic beast.status_update");
    const done = await bmn(
      ["status", "done", "--task-completed", "--target", target, "--priority", "1", "--json"],
      {
        env: env(),
      },
    );
    expect(done.code).toBe(0);
    expect(JSON.parse(done.stdout)).toMatchObject({ duplicate: false, message: { to: target, priority: 0 } });
    const collab = await bmn(["collab", "review please", "--request-type", "code_review"], { env: env() });
    expect(collab.code).toBe(0);

    const broadcast = await client(listener).receive({ max: 10, waitSeconds: 5 });
    expect(broadcast.map((d) => d.message)).toEqual([
      expect.objectContaining({
        type: "status_update",
        topic: "beast.status_update",
        from: "indexer",
        priority: 9,
        data: { message: "indexing", progress: "file 3 of 9", percentage: 33 },
      }),
      expect.objectContaining({
        type: "collaboration_request",
        topic: "beast.collaboration_request",
        data: { message: "review please", request_type: "code_review" },
      }),
    ]);
    const [direct] = await client(target).receive({ waitSeconds: 5 });
    expect(direct?.message).toMatchObject({
      type: "status_update",
      data: { message: "done", task_completed: true },
    });
  });

  it("listen prints each message (human or JSON lines), acks it, and stops at --duration", async () => {
    const agent = fresh("listen");
    await client().sendBatch([
      { to: agent, type: "simple_message", from: "alice", data: { message: "first" } },
      { to: agent, type: "job", data: { n: 2 } },
    ]);
    const human = await bmn(["listen", "--agent", agent, "--duration", "1"], { env: env() });
    expect(human).toMatchObject({ code: 0, stderr: "" });
    const [first, second] = lines(human.stdout);
    expect(first).toMatch(new RegExp(`simple_message alice → ${agent} \\(p4\\): first$`));
    expect(second).toMatch(/job bmn:\/\/local → .* \(p4\): \{"n":2\}$/);
    expect(await client(agent).stats()).toMatchObject({ depth: 0, inFlight: 0 });
    // listen subscribed the agent to legacy broadcasts.
    expect(await client(agent).subscriptions()).toEqual([{ agent, pattern: "beast.#" }]);

    await client().publish("beast.status_update", { type: "status_update", data: { message: "hi" } });
    const json = await bmn(["listen", "--duration", "1", "--json"], { env: { ...env(), BMN_AGENT: agent } });
    expect(json.code).toBe(0);
    expect(lines(json.stdout).map((line) => JSON.parse(line) as Message)).toMatchObject([
      { type: "status_update", topic: "beast.status_update" },
    ]);
  });

  it("listen stops cleanly on Ctrl-C (SIGINT): exit 0, what it printed is acked", async () => {
    const agent = fresh("interrupt");
    await client().send({ to: agent, type: "simple_message", data: { message: "one" } });
    const listening = start(["listen", "--agent", agent], { env: env() });
    await listening.linesOut(1);
    listening.child.kill("SIGINT");
    const run = await listening.done;
    expect(run).toMatchObject({ code: 0, stderr: "" });
    expect(lines(run.stdout)).toHaveLength(1);
    expect(await client(agent).stats()).toMatchObject({ depth: 0, inFlight: 0 });
  });

  it("warns about an unregistered agent with close matches, and still sends", async () => {
    const lonely = await fixture.another();
    const local = new BmnClient({ url: lonely.url });
    await local.register({ agent: "alice", capabilities: ["review"] });
    await local.register({ agent: "bob" });
    const run = await bmn(["send", "alcie", "hi"], { env: { BMN_URL: lonely.url } });
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^sent \S+ to alcie\n$/);
    expect(lines(run.stderr)).toEqual([
      'bmn: warning: no agent "alcie" is registered; did you mean "alice"? (the message waits in its queue)',
    ]);
    expect(await local.receive({ agent: "alcie" })).toHaveLength(1);

    const agents = await bmn(["agents", "--capability", "review", "--json"], {
      env: { BMN_URL: lonely.url },
    });
    expect((JSON.parse(agents.stdout) as { name: string }[]).map((a) => a.name)).toEqual(["alice"]);
    const table = await bmn(["agents"], { env: { BMN_URL: lonely.url } });
    expect(lines(table.stdout).map((line) => line.split(/\s+/)[0])).toEqual(["NAME", "alice", "bob"]);
  });

  it("dlq ls, show, replay and purge (purge needs --yes)", async () => {
    const agent = fresh("dlq");
    const bmnClient = client(agent);
    const { id } = await bmnClient.send({ to: agent, type: "job" });
    const [delivery] = await bmnClient.receive({ waitSeconds: 5 });
    if (delivery === undefined) throw new Error("no delivery");
    await bmnClient.nack(delivery.leaseId, { deadLetter: true, reason: "poison" });

    const ls = await bmn(["dlq", "ls", "--agent", agent], { env: env() });
    expect(ls.code).toBe(0);
    expect(lines(ls.stdout)[1]).toMatch(new RegExp(`^${agent}\\s+${id}\\s+rejected\\s+1\\s+`));
    const show = await bmn(["dlq", "show", agent, id], { env: env() });
    expect(show.stdout).toContain("reason         rejected");
    expect(show.stdout).toContain("last error     poison");
    expect(failure(await bmn(["dlq", "show", agent, "nope"], { env: env() }))).toBe(
      `bmn: no dead letter nope for ${agent}`,
    );
    expect(failure(await bmn(["dlq", "ls", "--reason", "max-attemps"], { env: env() }), 2)).toContain(
      'did you mean "max-attempts"?',
    );

    const replay = await bmn(["dlq", "replay", "--agent", agent, "--id", id], { env: env() });
    expect(replay).toMatchObject({ code: 0, stdout: `replayed 1 dead letter (agent ${agent}, 1 id)\n` });
    const [again] = await bmnClient.receive({ waitSeconds: 5 });
    if (again === undefined) throw new Error("no replayed delivery");
    await bmnClient.nack(again.leaseId, { deadLetter: true });

    expect(failure(await bmn(["dlq", "purge", "--agent", agent], { env: env() }), 2)).toBe(
      `bmn: dlq purge deletes dead letters (agent ${agent}) for good; add --yes to confirm`,
    );
    const purge = await bmn(["dlq", "purge", "--agent", agent, "--yes"], { env: env() });
    expect(purge).toMatchObject({ code: 0, stdout: `purged 1 dead letter (agent ${agent})\n` });
    const empty = await bmn(["dlq", "ls", "--agent", agent, "--json"], { env: env() });
    expect(JSON.parse(empty.stdout)).toEqual([]);
  });

  it("replay: a dry run lists what would move and changes nothing; then it replays by id", async () => {
    const agent = fresh("replay");
    const bmnClient = client(agent);
    const ids: string[] = [];
    for (let i = 0; i < 2; i++) ids.push((await bmnClient.send({ to: agent, type: "job" })).id);
    for (const delivery of await bmnClient.receive({ max: 2, waitSeconds: 5 }))
      await bmnClient.nack(delivery.leaseId, { deadLetter: true });

    const dryRun = await bmn(["replay", "--agent", agent, "--to", "elsewhere", "--dry-run"], { env: env() });
    expect(dryRun.code).toBe(0);
    const printed = lines(dryRun.stdout);
    expect(printed[0]).toMatch(/^ID\s+QUEUE\s+TO\s+REASON$/);
    for (const id of ids)
      expect(printed).toContainEqual(
        expect.stringMatching(new RegExp(`^${id}\\s+${agent}\\s+elsewhere\\s+rejected$`)),
      );
    expect(printed.at(-1)).toBe(`dry run: would replay 2 dead letters (agent ${agent}); nothing changed`);
    expect(await bmnClient.dlq.list({ agent })).toHaveLength(2);
    expect(await client("elsewhere").stats()).toMatchObject({ depth: 0 });

    const [first = ""] = ids;
    const replay = await bmn(["replay", first, "--agent", agent], { env: env() });
    expect(replay).toMatchObject({ code: 0, stdout: `replayed 1 dead letter (agent ${agent}, 1 id)\n` });
    expect((await bmnClient.receive({ waitSeconds: 5 })).map((d) => d.message.id)).toEqual([first]);
    expect(failure(await bmn(["replay"], { env: env() }), 2)).toBe(
      "bmn: name ids, --agent or --reason, or add --all to replay every dead letter",
    );
  });

  it("inspect shows a queue at a glance: counts, head of line, leases and dead letters by reason", async () => {
    const agent = fresh("inspect");
    const bmnClient = client(agent);
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await bmnClient.send({ to: agent, type: `job.${i}` })).id);
    const [leased, poisoned] = await bmnClient.receive({ max: 2, waitSeconds: 5 });
    if (leased === undefined || poisoned === undefined) throw new Error("no deliveries");
    await bmnClient.nack(poisoned.leaseId, { deadLetter: true, reason: "poison" });

    const run = await bmn(["inspect", agent], { env: env() });
    expect(run).toMatchObject({ code: 0, stderr: "" });
    const printed = lines(run.stdout);
    expect(printed[0]).toBe(`${agent}: 1 waiting (1 ready, 0 delayed), 1 in flight, 1 dead-lettered`);
    expect(printed).toContain("registration: none");
    expect(printed).toContain("next ready (1 of 1):");
    expect(printed).toContainEqual(expect.stringMatching(new RegExp(`^  ${ids[2] ?? ""}\\s+job\\.2\\s+`)));
    expect(printed).toContain("leased (1 of 1):");
    expect(printed).toContainEqual(expect.stringContaining(`${leased.message.id}  job.0  lease ends in`));
    expect(printed.at(-1)).toBe("dead letters: 1 rejected");
    const json = JSON.parse((await bmn(["inspect", agent, "--json"], { env: env() })).stdout) as {
      stats: { depth: number };
      deadLetters: Record<string, number>;
    };
    expect(json).toMatchObject({ stats: { depth: 1, inFlight: 1 }, deadLetters: { rejected: 1 } });
  });

  it("tail follows a queue without taking its messages, and a topic through its own tap", async () => {
    const agent = fresh("tailed");
    const bmnClient = client(agent);
    const before = (await bmnClient.send({ to: agent, type: "before" })).id;
    const queueTail = start(
      ["tail", agent, "--from-start", "--json", "--interval", "0.2", "--duration", "25"],
      {
        env: env(),
      },
    );
    await queueTail.linesOut(1);
    const after = (await bmnClient.send({ to: agent, type: "after" })).id;
    await queueTail.linesOut(2);
    queueTail.child.kill("SIGINT");
    const queueRun = await queueTail.done;
    expect(queueRun.code).toBe(0);
    expect(lines(queueRun.stdout).map((line) => (JSON.parse(line) as Message).id)).toEqual([before, after]);
    expect(await bmnClient.stats()).toMatchObject({ depth: 2, inFlight: 0 });

    const reader = fresh("reader");
    await client(reader).subscribe("news.#");
    const topicTail = start(["tail", "--topic", "news.#", "--json", "--duration", "25"], { env: env() });
    // The tap subscribes once the process runs: publish until it is among the recipients.
    const published = await until(async () => {
      const result = await bmnClient.publish("news.today", { type: "news" });
      const tap = result.recipients?.find((name) => name.startsWith("tail-"));
      return tap === undefined ? undefined : { id: result.id, tap };
    });
    await topicTail.linesOut(1);
    topicTail.child.kill("SIGINT");
    const topicRun = await topicTail.done;
    expect(topicRun.code).toBe(0);
    expect((JSON.parse(lines(topicRun.stdout)[0] ?? "") as Message).id).toBe(published.id);
    // The reader lost nothing, and the tap's subscription is gone.
    expect((await client(reader).receive({ max: 100 })).map((d) => d.message.id)).toContain(published.id);
    expect(await client(published.tap).subscriptions()).toEqual([]);
  });

  it("trace prints a readable timeline, or JSON", async () => {
    const agent = fresh("traced");
    const { id } = await client().send({ to: agent, type: "t", correlationid: `corr-${agent}` });
    const [delivery] = await client(agent).receive({ waitSeconds: 5 });
    if (delivery === undefined) throw new Error("no delivery");
    await client().ack(delivery.leaseId);

    const human = await bmn(["trace", id], { env: env() });
    expect(human.code).toBe(0);
    const [title, header, ...events] = lines(human.stdout);
    expect(title).toMatch(new RegExp(`^message ${id}: \\d+ events over `));
    expect(header).toMatch(/TIME\s+SINCE START\s+EVENT\s+DETAIL/);
    for (const kind of ["accepted", "enqueued", "leased", "acked"]) {
      expect(events.filter((line) => new RegExp(`\\s${kind}\\s`).test(line))).toHaveLength(1);
    }
    const json = await bmn(["trace", "--correlation-id", `corr-${agent}`, "--json"], { env: env() });
    const byCorrelation = JSON.parse(json.stdout) as {
      correlationId: string;
      events: { messageId: string }[];
    };
    expect(byCorrelation.correlationId).toBe(`corr-${agent}`);
    expect(byCorrelation.events.length).toBeGreaterThan(0);
    expect(byCorrelation.events.every((event) => event.messageId === id)).toBe(true);
    expect(failure(await bmn(["trace", "never-sent"], { env: env() }))).toBe(
      "bmn: no trace recorded for message never-sent",
    );
  });

  it("health: 0 when ready; --verbose adds request lines on stderr", async () => {
    const run = await bmn(["health", "--verbose"], { env: env() });
    expect(run.code).toBe(0);
    expect(run.stdout).toBe(
      backend === "memory"
        ? `ok: the sidecar at ${fixture.url} is ready (domain local, store memory (not durable: messages die with the process), version 0.1.0)\n`
        : `ok: the sidecar at ${fixture.url} is ready (domain local, store redis, version 0.1.0)\n`,
    );
    expect(lines(run.stderr)).toEqual(
      expect.arrayContaining([
        `bmn: > GET ${fixture.url}/healthz`,
        expect.stringMatching(/^bmn: < 200 GET .*\/readyz \d+ ms$/),
      ]),
    );
  });

  describe("a sidecar whose store is down", () => {
    let sick: RunningSidecar;
    beforeAll(async () => {
      const store = new InMemoryStore();
      store.ping = () => Promise.reject(new StoreUnavailableError("store ping failed: connection refused"));
      sick = await startSidecar(loadConfig({ port: 0, logLevel: "silent" }, {}), { store, logger: false });
    });
    afterAll(async () => {
      await sick.close();
    });

    it("health exits 1 with one line", async () => {
      const line = failure(await bmn(["health"], { env: { BMN_URL: sick.url } }));
      expect(line).toBe(
        `bmn: the sidecar at ${sick.url} is up but not ready: store ping failed: connection refused — check its store (e.g. is Redis running?)`,
      );
    });
  });

  describe("settings", () => {
    let dir: string;
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), "bmn-cli-"));
    });
    afterAll(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it("reads url and agent from a YAML config file; flags and env override it", async () => {
      const agent = fresh("configured");
      const file = join(dir, "bmn.yaml");
      await writeFile(file, `url: ${fixture.url}\nagent: ${agent}\n`);
      await client().send({ to: agent, type: "t" });
      const viaFile = await bmn(["receive", "--json"], { env: { BMN_CONFIG: file } });
      expect(viaFile.code).toBe(0);
      expect(lines(viaFile.stdout)).toHaveLength(1);

      const unreachable = `http://127.0.0.1:${await freePort()}`;
      const badFile = join(dir, "elsewhere.json");
      await writeFile(badFile, JSON.stringify({ url: unreachable }));
      expect(failure(await bmn(["health", "--config", badFile]))).toContain(
        `cannot reach the sidecar at ${unreachable}`,
      );
      expect((await bmn(["health", "--config", badFile], { env: env() })).code).toBe(0);
      expect(
        (await bmn(["health", "--config", badFile, "--url", fixture.url], { env: { BMN_URL: unreachable } }))
          .code,
      ).toBe(0);
    });

    it("names what is wrong with a config file", async () => {
      const missing = join(dir, "missing.yaml");
      expect(failure(await bmn(["health", "--config", missing]), 2)).toBe(
        `bmn: cannot read config file ${missing}: no such file (set by --config or BMN_CONFIG)`,
      );
      const bad = join(dir, "bad.yaml");
      await writeFile(bad, "url: ftp://nowhere\n");
      expect(failure(await bmn(["health"], { env: { BMN_CONFIG: bad } }), 2)).toBe(
        `bmn: config file ${bad} must be an http:// or https:// URL, got "ftp://nowhere"`,
      );
    });

    it("answers usage errors with one line and exit code 2", async () => {
      expect(failure(await bmn(["sned", "x", "y"]), 2)).toBe(
        `bmn: unknown command 'sned' (did you mean send?) — see "bmn --help"`,
      );
      expect(failure(await bmn(["dlq"]), 2)).toBe(
        `bmn: "bmn dlq" needs a command: ls, show, replay, purge — see "bmn dlq --help"`,
      );
      expect(failure(await bmn(["send", "--prio", "3", "x", "y"]), 2)).toBe(
        `bmn: unknown option '--prio' — see "bmn send --help"`,
      );
      const help = await bmn(["--help"]);
      expect(help).toMatchObject({ code: 0, stderr: "" });
      expect(help.stdout).toContain("Usage: bmn [options] [command]");
    });
  });
});
