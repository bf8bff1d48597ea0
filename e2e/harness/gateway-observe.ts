import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { Redis } from "ioredis";
import type { Topology, TopologyLink } from "../../gateway/topology.js";
import { until } from "../../test/harness/poll-until.js";
import type { FaultyLink } from "../../test/harness/toxiproxy.js";
import { sendOne, type DeliveryCounts, type OutgoingMessage } from "./domains.js";

export { until };

/**
 * What the cross-domain fault tests observe from the outside, through the processes' own interfaces: a gateway's
 * `GET /v1/topology` and `/metrics`, `bmn topology --json` as a real CLI process, a sidecar's DLQ API, and (to
 * prove a message never entered a store) the domain's Redis itself. Plus conditions to wait on with a deadline.
 */

const BMN = fileURLToPath(new URL("../../cli/bin/bmn.js", import.meta.url));
const execFileAsync = promisify(execFile);

async function getJson<T>(url: string): Promise<T> {
  const response = await fetch(url, { signal: AbortSignal.timeout(5_000) });
  if (!response.ok) throw new Error(`GET ${url} answered ${response.status}: ${await response.text()}`);
  return (await response.json()) as T;
}

/**
 * A gateway's "forward failed; retrying" warning caused by a broken connection (reset, or closed mid-request), as
 * opposed to a refused connection or an open breaker: for BmnProcess.watch().
 */
export const BROKEN_CONNECTION_FORWARD =
  /^(?=.*forward failed; retrying)(?=.*(?:ECONNRESET|socket hang up|EPIPE|other side closed))/;

/** `GET /v1/topology` of a gateway. */
export function topologyOf(gatewayUrl: string): Promise<Topology> {
  return getJson<Topology>(`${gatewayUrl}/v1/topology`);
}

/** The gateway's link to `peer` in `topology` (throws if it has none). */
export function linkTo(topology: Topology, peer: string): TopologyLink {
  const link = topology.links.find((candidate) => candidate.peer === peer);
  if (link === undefined) throw new Error(`gateway ${topology.gateway} has no link to ${peer}`);
  return link;
}

/** `bmn topology --gateway <url> --json` run as a real CLI process. */
export async function topologyFromCli(gatewayUrl: string): Promise<Topology> {
  const { stdout } = await execFileAsync(
    process.execPath,
    [BMN, "topology", "--gateway", gatewayUrl, "--json"],
    {
      timeout: 30_000,
      env: { ...process.env, BMN_LOG_LEVEL: "warn" },
    },
  );
  return JSON.parse(stdout.trim()) as Topology;
}

/**
 * The sum of the samples of counter or gauge `name` on a gateway's `/metrics` whose labels include `labels`
 * (0 when there is none).
 */
export async function metricSum(
  gatewayUrl: string,
  name: string,
  labels: Readonly<Record<string, string>> = {},
): Promise<number> {
  const response = await fetch(`${gatewayUrl}/metrics`, { signal: AbortSignal.timeout(5_000) });
  const text = await response.text();
  if (!response.ok) throw new Error(`GET ${gatewayUrl}/metrics answered ${response.status}`);
  let sum = 0;
  for (const line of text.split("\n")) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)$/.exec(line);
    if (match?.[1] !== name) continue;
    const sample = new Map<string, string>();
    for (const pair of (match[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) {
      sample.set(pair[1] ?? "", pair[2] ?? "");
    }
    if (Object.entries(labels).every(([key, value]) => sample.get(key) === value)) sum += Number(match[3]);
  }
  return sum;
}

/** `bmn_gateway_forward_attempts_total` of one gateway towards `peer`, by outcome. */
export function forwardAttempts(gatewayUrl: string, peer: string, outcome: "ok" | "failed"): Promise<number> {
  return metricSum(gatewayUrl, "bmn_gateway_forward_attempts_total", { peer, outcome });
}

/** `bmn_gateway_messages_received_total` of one gateway from `peer`, by status. */
export function receivedFrom(
  gatewayUrl: string,
  peer: string,
  status: "accepted" | "duplicate" | "refused",
): Promise<number> {
  return metricSum(gatewayUrl, "bmn_gateway_messages_received_total", { peer, status });
}

/** One dead letter as `GET /v1/dlq` answers it (the fields the tests read). */
export interface DeadLetterView {
  agent: string;
  reason: string;
  lastError?: string;
  message: { id: string; type: string; to?: string };
}

/** Every dead letter of a sidecar (`GET /v1/dlq?reason=…`), page after page. */
export async function deadLetters(sidecarUrl: string, reason?: string): Promise<DeadLetterView[]> {
  const all: DeadLetterView[] = [];
  let cursor: string | undefined;
  do {
    const query = new URLSearchParams({
      limit: "1000",
      ...(reason === undefined ? {} : { reason }),
      ...(cursor === undefined ? {} : { cursor }),
    });
    const page = await getJson<{ deadLetters: DeadLetterView[]; nextCursor?: string }>(
      `${sidecarUrl}/v1/dlq?${query.toString()}`,
    );
    all.push(...page.deadLetters);
    cursor = page.nextCursor;
  } while (cursor !== undefined);
  return all;
}

/**
 * Which of `ids` a domain's Redis holds anywhere: as a field of a hash (messages, dead letters, states), a member
 * of a sorted set (queues, leases, the dedupe window) or as the hash tag of a key's name (trace keys). Reads every key with
 * SCAN, so only for the small stores of a test.
 */
export async function idsInRedis(redisUrl: string, ids: readonly string[]): Promise<Set<string>> {
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 2 });
  const found = new Set<string>();
  try {
    await redis.connect();
    let cursor = "0";
    do {
      const [next, keys] = await redis.scan(cursor, "COUNT", 1_000);
      cursor = next;
      for (const key of keys) {
        // Keys named after a message carry its id as the hash tag (`…trace:{id}`).
        for (const id of ids) if (key.includes(`{${id}}`)) found.add(id);
        const type = await redis.type(key);
        if (type === "hash") {
          const values = await redis.hmget(key, ...ids);
          values.forEach((value, index) => {
            const id = ids[index];
            if (value !== null && id !== undefined) found.add(id);
          });
        } else if (type === "zset") {
          const scores = await redis.zmscore(key, ...ids);
          scores.forEach((score, index) => {
            const id = ids[index];
            if (score !== null && id !== undefined) found.add(id);
          });
        }
      }
    } while (cursor !== "0");
  } finally {
    redis.disconnect();
  }
  return found;
}

/**
 * Sends `perSender` messages from each of `senders` agents, each agent strictly one after the other (the next
 * send only after the sidecar answered 202 for the previous one), so each sender's send order is well defined.
 * A failed send is retried with the same id, as an agent does. `data.seq` numbers each sender's messages.
 */
export async function sendInOrder(
  sidecarUrl: () => string,
  options: { senders: readonly string[]; perSender: number; to: string; type: string; idPrefix: string },
): Promise<Map<string, string[]>> {
  const sent = new Map<string, string[]>();
  await Promise.all(
    options.senders.map(async (from) => {
      const ids: string[] = [];
      sent.set(from, ids);
      for (let seq = 0; seq < options.perSender; seq++) {
        const message: OutgoingMessage = {
          id: `${options.idPrefix}-${from}-${seq}`,
          to: options.to,
          type: options.type,
          from,
          data: { seq },
        };
        await sendOne(sidecarUrl, message);
        ids.push(message.id);
      }
    }),
  );
  return sent;
}

/**
 * Prints one scenario's counts as one JSON line (`{"suite", "scenario", expected, delivered, duplicates, lost,
 * unexpected, ...evidence}`), the form the closing note quotes.
 */
export function printCounts(
  suite: string,
  scenario: string,
  counts: DeliveryCounts,
  evidence: Record<string, unknown> = {},
): void {
  console.log(JSON.stringify({ suite, scenario, ...counts, ...evidence }));
}

/**
 * Makes Toxiproxy roll a toxic's toxicity again on every open connection of `link` (an update with no changes
 * re-runs the toxic on each connection, and a run rolls toxicity), so a toxic with toxicity < 1 gets a fresh
 * chance to strike connections that keep-alive would otherwise reuse for the whole test.
 */
export async function rerollToxic(toxiproxyApiUrl: string, link: FaultyLink, toxic: string): Promise<void> {
  const url = `${toxiproxyApiUrl}/proxies/${encodeURIComponent(link.name)}/toxics/${encodeURIComponent(toxic)}`;
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: "{}",
    signal: AbortSignal.timeout(5_000),
  });
  const text = await response.text();
  if (!response.ok)
    throw new Error(`toxiproxy update of ${toxic} on ${link.name} answered ${response.status}: ${text}`);
}

interface QueueStatsView {
  agent: string;
  depth: number;
  inFlight: number;
}

async function queueBusy(sidecarUrl: string, queue: string): Promise<number> {
  const { queues } = await getJson<{ queues: QueueStatsView[] }>(`${sidecarUrl}/v1/queues`);
  const stats = queues.find((candidate) => candidate.agent === queue);
  return stats === undefined ? 0 : stats.depth + stats.inFlight;
}

/**
 * Waits until the traffic of a scenario has settled: every outbox it crossed is empty (nothing waiting, nothing
 * leased by a gateway, so no batch can be resent later) and the agent's queue is empty (everything it was given
 * is acked). Only then do the delivery counts say all there is to say: a message whose lease a killed gateway
 * still held may otherwise be resent, and a duplicate show up, after the agent already had every id.
 */
export async function untilSettled(
  outboxes: readonly { sidecarUrl: string; destination: string }[],
  agent: { sidecarUrl: string; name: string },
  timeoutMs = 60_000,
): Promise<void> {
  const busy = async (): Promise<Record<string, number>> => {
    const state: Record<string, number> = {};
    for (const outbox of outboxes) {
      state[`${outbox.sidecarUrl} bmn.out.${outbox.destination}`] = await queueBusy(
        outbox.sidecarUrl,
        `bmn.out.${outbox.destination}`,
      );
    }
    state[`${agent.sidecarUrl} ${agent.name}`] = await queueBusy(agent.sidecarUrl, agent.name);
    return state;
  };
  await until(
    async () => Object.values(await busy()).every((count) => count === 0),
    timeoutMs,
    "the outboxes and the agent's queue to be empty",
    async () => JSON.stringify(await busy()),
  );
}
