import { createMessage, type Message } from "../../core/envelope.js";
import { newMessageId } from "../../core/ids.js";
import { messageFactory } from "../shared/payload.js";

/**
 * Corpora for the wire-bytes figure. `bench/payload.ts` sends the same 1 KB `data` in every message (a chat
 * turn made of one sentence repeated), which any compressor folds into almost nothing across a batch; the
 * "varied" corpus is what a stream of agent traffic looks like: every message its own task, conversation id,
 * trace context, tools, numbers, file paths and prose drawn (Zipf-like) from a vocabulary of a few hundred
 * words, ~1 KB of JSON on average. Deterministic (seeded) so every run and algorithm sees the same text.
 */
export type CorpusName = "varied" | "payload.ts";

const VOCABULARY = (
  "the a to of and in is for that it on with as this be are by was not or from at an we can have has will " +
  "should would could may must if then when after before because so but also only all any each more most " +
  "agent task ticket customer request response error timeout retry queue message user system tool call " +
  "result reply summary context model token prompt step plan review pull change commit branch merge test " +
  "build deploy release version upgrade export import report data file table row column index query " +
  "database cache latency throughput memory cpu disk network service endpoint api client server worker " +
  "job schedule cron event stream topic lease ack nack dead letter backoff jitter circuit breaker limit " +
  "rate quota policy permission role account tenant region cluster node pod container image config secret " +
  "certificate key signature hash checksum payload header body field value type schema validation parse " +
  "serialize encode decode compress inflate buffer chunk batch window credit order priority delay deadline " +
  "failed succeeded pending running blocked waiting stale missing duplicate invalid unexpected slow fast " +
  "large small empty full partial complete first last next previous new old same different other " +
  "found fixed added removed updated renamed moved checked verified confirmed reported assigned closed " +
  "opened reopened escalated resolved investigated reproduced observed measured estimated compared " +
  "please thanks sorry hello note see below above attached linked mentioned suggested recommended " +
  "customer's team's user's we'll it's don't can't isn't won't didn't i'm you're they're there's " +
  "monday tuesday wednesday thursday friday morning afternoon yesterday today tomorrow week month quarter"
).split(" ");

const TASKS = [
  "summarize-ticket",
  "triage-alert",
  "review-pull-request",
  "draft-reply",
  "classify-intent",
  "extract-entities",
  "plan-migration",
  "run-tool",
  "answer-question",
  "translate-text",
];
const TYPES = ["task.assigned", "review.requested", "tool.call", "tool.result", "status.update"];
const TOOLS = [
  "search_tickets",
  "fetch_customer",
  "post_reply",
  "read_file",
  "run_tests",
  "query_metrics",
  "open_pull_request",
  "web_search",
  "calculator",
  "send_email",
  "create_issue",
  "list_deployments",
];
const ROLES = ["user", "assistant", "tool"] as const;

/** mulberry32: a tiny seeded PRNG, so the corpus is the same in every run. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

function variedFactory(seed: number): () => Message {
  const random = prng(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  // Zipf-like: low ranks (common words) far more often than the tail.
  const word = (): string => VOCABULARY[Math.floor(VOCABULARY.length * random() ** 2.5)] ?? "the";
  const hex = (length: number): string =>
    Array.from({ length }, () => Math.floor(random() * 16).toString(16)).join("");
  const uuid = (): string => `${hex(8)}-${hex(4)}-4${hex(3)}-a${hex(3)}-${hex(12)}`;
  const sentence = (): string => {
    const words = Array.from({ length: 6 + Math.floor(random() * 14) }, word);
    if (random() < 0.3) words.push(`#${10_000 + Math.floor(random() * 90_000)}`);
    if (random() < 0.2) words.push(`src/${word()}/${word()}.ts:${1 + Math.floor(random() * 400)}`);
    const text = words.join(" ");
    return `${text.charAt(0).toUpperCase()}${text.slice(1)}.`;
  };
  const prose = (sentences: number): string => Array.from({ length: sentences }, sentence).join(" ");
  let index = 0;
  return () => {
    index++;
    const turns = 1 + Math.floor(random() * 3);
    const data = {
      task: pick(TASKS),
      conversationId: `conv-${uuid()}`,
      step: 1 + Math.floor(random() * 12),
      model: {
        name: pick(["agent-large", "agent-small", "agent-code"]),
        temperature: Math.round(random() * 100) / 100,
        maxTokens: pick([256, 512, 1024, 2048]),
      },
      tools: TOOLS.filter(() => random() < 0.3),
      messages: Array.from({ length: turns }, () => ({ role: pick(ROLES), content: prose(2) })),
      metadata: {
        tenant: pick(["acme", "globex", "initech", "umbrella", "hooli"]),
        priority: pick(["low", "normal", "high"]),
        retries: Math.floor(random() * 3),
        startedAt: new Date(1_760_000_000_000 + index * 137 + Math.floor(random() * 1000)).toISOString(),
        costUsd: Math.round(random() * 10_000) / 1_000_000,
      },
    };
    return createMessage({
      id: newMessageId(),
      type: pick(TYPES),
      from: `planner-${Math.floor(random() * 8)}`,
      traceparent: `00-${hex(32)}-${hex(16)}-01`,
      correlationid: uuid(),
      data,
    });
  };
}

/** A fresh factory of the named corpus; each call of it is a new message (new id). */
export function corpusFactory(name: CorpusName, seed = 42): () => Message {
  return name === "varied" ? variedFactory(seed) : messageFactory();
}

/** Bytes of `message` as one JSON document, addressed as it is sent: the "raw JSON" of the wire-bytes ratio. */
export function rawJsonBytes(message: Message, to: string): number {
  return Buffer.byteLength(JSON.stringify({ ...message, to }));
}
