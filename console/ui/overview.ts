// Overview: live rates from the sidecar's counters, every queue's depth, in-flight and head age, store health.
import type { VNode } from "preact";
import { useRef, useState } from "preact/hooks";
import { getJson, getText, query, segment, type QueuedMessage, type QueueStats } from "./api.js";
import { Chart, ErrorNote, Section, formatAge, html, usePoll } from "./kit.js";

const POLL_MS = 2_000;
const HISTORY = 90;
/** Head-of-line ages are read for this many of the deepest queues per refresh. */
const AGE_SAMPLE = 20;

export const RATES = [
  { key: "send", label: "Send", metric: "bmn_messages_sent_total", stroke: "#1d4ed8" },
  { key: "deliver", label: "Deliver", metric: "bmn_messages_delivered_total", stroke: "#047857" },
  { key: "ack", label: "Ack", metric: "bmn_messages_acked_total", stroke: "#6d28d9" },
  { key: "nack", label: "Nack", metric: "bmn_messages_nacked_total", stroke: "#b45309" },
  { key: "dead-letter", label: "Dead-letter", metric: "bmn_messages_dead_lettered_total", stroke: "#b91c1c" },
] as const;

/** Sums every sample of each named metric in Prometheus text (all label sets together). */
export function sumMetrics(text: string, names: readonly string[]): Map<string, number> {
  const sums = new Map<string, number>(names.map((name) => [name, 0]));
  for (const line of text.split("\n")) {
    if (line.startsWith("#")) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    const name = match?.[1];
    if (name === undefined || !sums.has(name)) continue;
    sums.set(name, (sums.get(name) ?? 0) + Number(match?.[3]));
  }
  return sums;
}

interface Sample {
  at: number;
  totals: Map<string, number>;
}

function useRates(): {
  rates: Record<string, number> | undefined;
  history: number[][];
  error: Error | undefined;
} {
  const last = useRef<Sample | undefined>(undefined);
  const [history, setHistory] = useState<number[][]>([[], ...RATES.map(() => [])]);
  const [rates, setRates] = useState<Record<string, number> | undefined>(undefined);
  const { error } = usePoll(async () => {
    const text = await getText("/metrics");
    const sample = {
      at: Date.now(),
      totals: sumMetrics(
        text,
        RATES.map((r) => r.metric),
      ),
    };
    const before = last.current;
    last.current = sample;
    if (before === undefined) return;
    const seconds = (sample.at - before.at) / 1_000;
    const now: Record<string, number> = {};
    for (const rate of RATES) {
      // A restarted sidecar starts its counters again from 0: no negative rates.
      const delta = (sample.totals.get(rate.metric) ?? 0) - (before.totals.get(rate.metric) ?? 0);
      now[rate.key] = Math.max(0, delta) / seconds;
    }
    setRates(now);
    setHistory((old) =>
      [
        [...(old[0] ?? []), sample.at / 1_000],
        ...RATES.map((r, i) => [...(old[i + 1] ?? []), now[r.key] ?? 0]),
      ].map((column) => column.slice(-HISTORY)),
    );
  }, POLL_MS);
  return { rates, history, error };
}

interface QueueRow extends QueueStats {
  headAgeMs: number | undefined;
}

async function loadQueues(): Promise<QueueRow[]> {
  const { queues } = await getJson<{ queues: QueueStats[] }>(`/v1/queues${query({ limit: 200 })}`);
  const deepest = [...queues].sort((a, b) => b.depth - a.depth).slice(0, AGE_SAMPLE);
  const ages = new Map<string, number>();
  await Promise.all(
    deepest
      .filter((queue) => queue.ready > 0)
      .map(async (queue) => {
        const page = await getJson<{ messages: QueuedMessage[] }>(
          `/v1/queues/${segment(queue.agent)}/messages${query({ state: "ready", limit: 1 })}`,
        );
        const sent = Date.parse(page.messages[0]?.message.time ?? "");
        if (Number.isFinite(sent)) ages.set(queue.agent, Date.now() - sent);
      }),
  );
  return queues.map((queue) => ({ ...queue, headAgeMs: ages.get(queue.agent) }));
}

interface Health {
  ready: boolean;
  detail: string;
  info: { domain: string; store: string; durable: boolean; version: string } | undefined;
}

async function loadHealth(): Promise<Health> {
  const info = await getJson<Health["info"]>("/v1/info").catch(() => undefined);
  try {
    const ready = await getJson<{ status: string; store: string }>("/readyz");
    return { ready: true, detail: `${ready.store} store answers`, info };
  } catch (error) {
    return { ready: false, detail: (error as Error).message, info };
  }
}

export function Overview(): VNode {
  const { rates, history, error } = useRates();
  const queues = usePoll(loadQueues, POLL_MS);
  const health = usePoll(loadHealth, POLL_MS);
  const info = health.data?.info;
  return html`
    <h1>Overview${info === undefined ? "" : html` <span class="muted">domain ${info.domain}</span>`}</h1>
    <${Section} title="Store health">
      <${ErrorNote} error=${health.error} />
      ${
        health.data === undefined
          ? html`<p>Checking…</p>`
          : html`<p class=${health.data.ready ? "ok" : "bad"} data-testid="store-health">
              <strong>${health.data.ready ? "Ready" : "Unavailable"}</strong> — ${health.data.detail}
              ${info === undefined ? "" : ` · ${info.durable ? "durable" : "in memory"} · bmn ${info.version}`}
            </p>`
      }
    <//>
    <${Section} title="Rates per second">
      <${ErrorNote} error=${error} />
      <ul class="cards">
        ${RATES.map(
          (rate) =>
            html`<li class="card">
              <span class="card-label">${rate.label}</span>
              <span class="card-value" data-rate=${rate.key}
                >${rates === undefined ? "…" : (rates[rate.key] ?? 0).toFixed(1)}</span
              >
            </li>`,
        )}
      </ul>
      <${Chart}
        title="Messages per second"
        series=${RATES.map((r) => ({ label: r.label, stroke: r.stroke }))}
        data=${history}
      />
      <p class="muted">
        From the counters of the sidecar this console uses, sampled every ${POLL_MS / 1_000} s.
      </p>
    <//>
    <${Section} title="Queues">
      <${ErrorNote} error=${queues.error} />
      <table>
        <caption class="visually-hidden">
          Queue depth, in-flight count and head-of-line age per agent
        </caption>
        <thead>
          <tr>
            <th scope="col">Agent</th>
            <th scope="col">Depth</th>
            <th scope="col">Ready</th>
            <th scope="col">Delayed</th>
            <th scope="col">In flight</th>
            <th scope="col">Dead letters</th>
            <th scope="col">Oldest ready</th>
          </tr>
        </thead>
        <tbody>
          ${(queues.data ?? []).map(
            (q) =>
              html`<tr data-queue=${q.agent}>
                <th scope="row"><a href=${`#/messages/${segment(q.agent)}`}>${q.agent}</a></th>
                <td data-col="depth">${q.depth}</td>
                <td>${q.ready}</td>
                <td>${q.delayed}</td>
                <td data-col="in-flight">${q.inFlight}</td>
                <td>
                  ${q.deadLettered > 0 ? html`<a href=${`#/dlq?agent=${segment(q.agent)}`}>${q.deadLettered}</a>` : 0}
                </td>
                <td data-col="age">${formatAge(q.headAgeMs)}</td>
              </tr>`,
          )}
        </tbody>
      </table>
      ${queues.data?.length === 0 ? html`<p>No queues yet.</p>` : ""}
    <//>
  `;
}
