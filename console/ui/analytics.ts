// Analytics: the SQL store's named read-only queries, as tables and (over time) charts.
import type { VNode } from "preact";
import { useState } from "preact/hooks";
import { ApiError, getJson, query, segment } from "./api.js";
import { Chart, ErrorNote, formatTime, html, usePoll } from "./kit.js";

type Row = Record<string, unknown>;
interface AnalyticsAnswer {
  rows: Row[];
  truncated?: boolean;
}
const BUCKETS = [1, 5, 15, 60, 1440];
const SERIES_COLORS = ["#1d4ed8", "#047857", "#b45309", "#6d28d9", "#b91c1c"];

/** Rows with a `bucket` column summed per bucket for each numeric column: the chart's aligned data. */
export function bucketSeries(rows: Row[]): { labels: string[]; data: number[][] } {
  const first = rows[0];
  if (first === undefined || typeof first.bucket !== "number") return { labels: [], data: [] };
  const labels = Object.keys(first).filter((key) => key !== "bucket" && typeof first[key] === "number");
  const sums = new Map<number, number[]>();
  for (const row of rows) {
    const at = row.bucket as number;
    const current = sums.get(at) ?? labels.map(() => 0);
    labels.forEach((label, i) => (current[i] = (current[i] ?? 0) + Number(row[label] ?? 0)));
    sums.set(at, current);
  }
  const times = [...sums.keys()].sort((a, b) => a - b);
  return {
    labels,
    data: [times.map((t) => t / 1_000), ...labels.map((_, i) => times.map((t) => sums.get(t)?.[i] ?? 0))],
  };
}

function cell(key: string, value: unknown): string {
  if (typeof value === "number" && (key === "bucket" || key.endsWith("At"))) return formatTime(value);
  if (typeof value === "string") return value;
  return value === undefined ? "" : JSON.stringify(value);
}

export function Analytics(): VNode {
  const info = usePoll(
    () => getJson<{ dialect: string; queries: string[]; serverVersion: string }>("/v1/stats"),
    0,
  );
  const [form, setForm] = useState({ query: "throughput", bucket: "1", agent: "", from: "", to: "" });
  const [asked, setAsked] = useState(form);
  const available = info.data !== undefined;
  const answer = usePoll(
    () =>
      !available
        ? Promise.resolve<AnalyticsAnswer>({ rows: [] })
        : getJson<AnalyticsAnswer>(
            `/v1/stats/${segment(asked.query)}${query({
              bucket: asked.bucket,
              agent: asked.agent,
              from: asked.from === "" ? undefined : Date.parse(asked.from),
              to: asked.to === "" ? undefined : Date.parse(asked.to),
            })}`,
          ),
    0,
    [asked, available],
  );
  if (info.error instanceof ApiError && info.error.status === 404)
    return html`<h1>Analytics</h1>
      <p>Analytics need the SQL store (<code>store.type: sql</code>); this domain runs another one.</p>`;
  const rows = answer.data?.rows ?? [];
  const columns = Object.keys(rows[0] ?? {});
  const chart = bucketSeries(rows);
  const set = (name: keyof typeof form) => (event: Event) => {
    setForm({ ...form, [name]: (event.target as HTMLInputElement).value });
  };
  return html`
    <h1>Analytics</h1>
    <${ErrorNote} error=${info.error} />
    ${info.data === undefined ? "" : html`<p class="muted">${info.data.dialect} ${info.data.serverVersion}</p>`}
    <form
      class="filters"
      onSubmit=${(e: Event) => {
        e.preventDefault();
        setAsked(form);
      }}
    >
      <label
        >Query
        <select value=${form.query} onChange=${set("query")}>
          ${(info.data?.queries ?? ["throughput"]).map((q) => html`<option value=${q}>${q}</option>`)}
        </select>
      </label>
      <label
        >Bucket (minutes)
        <select value=${form.bucket} onChange=${set("bucket")}>
          ${BUCKETS.map((b) => html`<option value=${String(b)}>${b}</option>`)}
        </select>
      </label>
      <label>Agent <input value=${form.agent} onInput=${set("agent")} placeholder="any" /></label>
      <label>From <input type="datetime-local" value=${form.from} onInput=${set("from")} /></label>
      <label>To <input type="datetime-local" value=${form.to} onInput=${set("to")} /></label>
      <button type="submit">Run</button>
    </form>
    <${ErrorNote} error=${answer.error} />
    ${
      chart.labels.length === 0
        ? ""
        : html`<${Chart}
            title=${asked.query}
            series=${chart.labels.map((label, i) => ({ label, stroke: SERIES_COLORS[i % SERIES_COLORS.length] ?? "#1d4ed8" }))}
            data=${chart.data}
          />`
    }
    <table>
      <caption>
        ${asked.query}: ${rows.length} row(s)${answer.data?.truncated === true ? " (truncated)" : ""}
      </caption>
      <thead>
        <tr>
          ${columns.map((c) => html`<th scope="col">${c}</th>`)}
        </tr>
      </thead>
      <tbody>
        ${rows.map(
          (row) =>
            html`<tr>
              ${columns.map((c) => html`<td>${cell(c, row[c])}</td>`)}
            </tr>`,
        )}
      </tbody>
    </table>
  `;
}
