/**
 * The agent container of the real-pod end-to-end tests (bundled into the image bmn.local/bmn-test-agent by
 * `npm run image`). It uses the TypeScript client against its own pod's sidecar at http://127.0.0.1:7420, as any
 * agent in a BMN pod does. Configured by environment:
 *
 *   AGENT          its name (the AgentEndpoint's agent)
 *   SEND_TO        at start, send SEND_COUNT messages of type `e2e.ping` to this address, SEND_PER_SECOND a
 *                  second; message ids are `<AGENT>-<seq>`, so a restarted sender's repeats are deduplicated
 *   REPLY          "true": answer every `e2e.ping` with an `e2e.pong` to the ping's `from`, same seq
 *   WORK_MS        how long handling one message takes (simulates work, for the autoscaling test)
 *   ABANDON_ON_STOP "true": after SIGTERM, leave what it holds unanswered and unacknowledged (an agent stopped
 *                  mid-work), so its sidecar gives those leases back as it shuts down (counted as `abandoned`)
 *
 * Every message is acknowledged only after its reply has been sent, so a pod killed mid-stream loses nothing: its
 * leases expire and the messages are delivered again. The sender counts the distinct seqs answered (`pongs`) and
 * the repeats (`duplicatePongs`); every agent counts the distinct pings it got (`pings`). One JSON line per
 * second reports the counts.
 */
import { BmnClient, type Delivery } from "../../client/index.js";

const env = (name: string): string | undefined => {
  const value = process.env[name];
  return value === undefined || value === "" ? undefined : value;
};

const agent = env("AGENT");
if (agent === undefined) {
  process.stderr.write("test-agent: AGENT is required\n");
  process.exit(2);
}
const sendTo = env("SEND_TO");
const sendCount = Number(env("SEND_COUNT") ?? "0");
const sendPerSecond = Number(env("SEND_PER_SECOND") ?? "50");
const reply = env("REPLY") === "true";
const workMs = Number(env("WORK_MS") ?? "0");
const abandonOnStop = env("ABANDON_ON_STOP") === "true";

const client = new BmnClient({ agent });
const counts = {
  sent: 0,
  received: 0,
  replied: 0,
  pings: 0,
  pongs: 0,
  duplicatePongs: 0,
  abandoned: 0,
  errors: 0,
};
const pingSeqs = new Set<number>();
const pongSeqs = new Set<number>();
let stopping = false;

function log(event: string, extra: Record<string, unknown> = {}): void {
  process.stdout.write(`${JSON.stringify({ event, agent, ...counts, ...extra })}\n`);
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function untilSidecarReady(): Promise<void> {
  for (;;) {
    try {
      await client.health();
      return;
    } catch {
      await sleep(200);
    }
  }
}

async function sendAll(to: string): Promise<void> {
  const intervalMs = 1_000 / Math.max(sendPerSecond, 1);
  for (let seq = 1; seq <= sendCount && !stopping; seq++) {
    for (;;) {
      try {
        await client.send({ to, from: agent, type: "e2e.ping", id: `${agent}-${seq}`, data: { seq } });
        counts.sent++;
        break;
      } catch (error) {
        counts.errors++;
        log("send-error", { seq, message: (error as Error).message });
        await sleep(500);
      }
    }
    await sleep(intervalMs);
  }
  log("sent-all");
}

async function handle(delivery: Delivery): Promise<void> {
  const message = delivery.message;
  if (workMs > 0) await sleep(workMs);
  if (stopping && abandonOnStop) {
    counts.abandoned++;
    return;
  }
  const seq = (message.data as { seq?: unknown } | undefined)?.seq;
  if (message.type === "e2e.ping" && typeof seq === "number") {
    pingSeqs.add(seq);
    counts.pings = pingSeqs.size;
  }
  if (message.type === "e2e.ping" && reply && message.from !== undefined) {
    await client.send({
      to: message.from,
      from: agent,
      type: "e2e.pong",
      id: `${message.id}-pong`,
      data: { seq },
    });
    counts.replied++;
  } else if (message.type === "e2e.pong" && typeof seq === "number") {
    if (pongSeqs.has(seq)) counts.duplicatePongs++;
    pongSeqs.add(seq);
    counts.pongs = pongSeqs.size;
  }
  await client.ack(delivery.leaseId);
}

async function receiveLoop(): Promise<void> {
  while (!stopping) {
    try {
      const deliveries = await client.receive({ max: 10, waitSeconds: 1, leaseSeconds: 10 });
      for (const delivery of deliveries) {
        counts.received++;
        await handle(delivery);
      }
    } catch (error) {
      counts.errors++;
      log("receive-error", { message: (error as Error).message });
      await sleep(500);
    }
  }
}

process.on("SIGTERM", () => {
  stopping = true;
});

await untilSidecarReady();
log("started");
const timer = setInterval(() => {
  log("counts");
}, 1_000);
await Promise.all([sendTo === undefined ? Promise.resolve() : sendAll(sendTo), receiveLoop()]);
clearInterval(timer);
log("stopped");
// Exit now, not when idle keep-alive sockets close: the pod's sidecar stops only after this container has.
process.exit(0);
