// Trace: every hop of one message on a timeline, with the time between hops and its OpenTelemetry trace id.
import type { VNode } from "preact";
import { useState } from "preact/hooks";
import { getJson, segment, type TraceEvent } from "./api.js";
import { ErrorNote, formatDuration, formatTime, html, usePoll } from "./kit.js";

const OUTBOX = "bmn.out.";
const traceUrlTemplate = document.querySelector<HTMLMetaElement>('meta[name="bmn-trace-url"]')?.content ?? "";

/** What a hop means, in words: outbox hops are the way to another domain, through a gateway. */
export function describeHop(event: TraceEvent): string {
  const agent = event.agent ?? "";
  if (agent.startsWith(OUTBOX)) {
    const domain = agent.slice(OUTBOX.length);
    if (event.kind === "enqueued") return `queued for domain ${domain} (outbox)`;
    if (event.kind === "leased") return `taken by gateway ${event.actor} towards ${domain}`;
    if (event.kind === "acked") return `forwarded to domain ${domain} by gateway ${event.actor}`;
  }
  if (event.kind === "accepted" && event.actor.startsWith("gateway")) return `arrived through ${event.actor}`;
  return `${event.kind}${agent === "" ? "" : ` · ${agent}`}`;
}

export function Trace({ id, navigate }: { id: string; navigate: (hash: string) => void }): VNode {
  const [input, setInput] = useState(id);
  const trace = usePoll(
    () =>
      id === ""
        ? Promise.resolve(undefined)
        : getJson<{ id: string; events: TraceEvent[] }>(`/v1/messages/${segment(id)}/trace`),
    5_000,
    [id],
  );
  // Hops are recorded by several processes (sidecars, gateways), each batching its writes: order them by time.
  const events = [...(trace.data?.events ?? [])].sort((a, b) => a.at - b.at);
  const start = events[0]?.at ?? 0;
  const total = Math.max(1, (events[events.length - 1]?.at ?? start) - start);
  const traceId = events.find((event) => event.traceId !== undefined)?.traceId;
  return html`
    <h1>Trace</h1>
    <form
      class="filters"
      onSubmit=${(e: Event) => {
        e.preventDefault();
        navigate(`#/trace/${segment(input.trim())}`);
      }}
    >
      <label
        >Message id
        <input
          name="message-id"
          value=${input}
          onInput=${(e: Event) => {
            setInput((e.target as HTMLInputElement).value);
          }}
          size="40"
      /></label>
      <button type="submit">Show trace</button>
    </form>
    <${ErrorNote} error=${trace.error} />
    ${
      traceId === undefined
        ? ""
        : html`<p>
            ${"OpenTelemetry trace id: "}
            ${
              traceUrlTemplate === ""
                ? html`<code data-testid="otel-trace-id">${traceId}</code>`
                : html`<a data-testid="otel-trace-id" href=${traceUrlTemplate.replace("{traceId}", traceId)}
                    >${traceId}</a
                  >`
            }
          </p>`
    }
    ${
      events.length === 0
        ? id === ""
          ? html`<p>Enter a message id, or open one from the Messages or Dead letters page.</p>`
          : ""
        : html` <ol class="timeline" aria-label=${`hops of message ${id}`}>
            ${events.map((event, index) => {
              const previous = events[index - 1];
              const gap = previous === undefined ? 0 : event.at - previous.at;
              const detail = [
                `at ${formatTime(event.at)}`,
                `+${formatDuration(gap)} (total ${formatDuration(event.at - start)})`,
                `by ${event.actor}`,
                ...(event.attempt === undefined ? [] : [`attempt ${event.attempt}`]),
                ...(event.reason === undefined ? [] : [event.reason]),
              ].join(" · ");
              return html`<li class=${`hop hop-${event.kind}`} data-kind=${event.kind}>
                <span
                  class="hop-bar"
                  style=${{ width: `${Math.max(1, ((event.at - start) / total) * 100)}%` }}
                ></span>
                <strong>${describeHop(event)}</strong>${" "}<span class="muted">${detail}</span>
              </li>`;
            })}
          </ol>`
    }
  `;
}
