// Messages: browse one queue's ready, delayed or leased messages, page by page, without receiving them.
import type { VNode } from "preact";
import { useState } from "preact/hooks";
import { getJson, query, segment, type QueuedMessage, type QueueStats } from "./api.js";
import { ErrorNote, formatTime, html, usePoll } from "./kit.js";

const STATES = ["ready", "delayed", "leased"] as const;
type State = (typeof STATES)[number];
const PAGE = 50;

interface MessagePage {
  messages: QueuedMessage[];
  nextCursor?: string;
}

interface Filters {
  type: string;
  sender: string;
  since: string;
}

/** The filters narrow the loaded page: type and sender by substring, time by the message's `time`. */
export function matches(queued: QueuedMessage, filters: Filters): boolean {
  const message = queued.message;
  if (filters.type !== "" && !message.type.includes(filters.type)) return false;
  const sender = `${message.from ?? ""} ${message.source}`;
  if (filters.sender !== "" && !sender.includes(filters.sender)) return false;
  if (filters.since !== "" && Date.parse(message.time ?? "") < Date.parse(filters.since)) return false;
  return true;
}

export function Messages({ queue, navigate }: { queue: string; navigate: (hash: string) => void }): VNode {
  const [state, setState] = useState<State>("ready");
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const [filters, setFilters] = useState<Filters>({ type: "", sender: "", since: "" });
  const [open, setOpen] = useState<string | undefined>(undefined);
  const queues = usePoll(() => getJson<{ queues: QueueStats[] }>("/v1/queues?limit=1000"), 10_000);
  const cursor = cursors[cursors.length - 1];
  const page = usePoll(
    () =>
      queue === ""
        ? Promise.resolve<MessagePage>({ messages: [] })
        : getJson<MessagePage>(
            `/v1/queues/${segment(queue)}/messages${query({ state, limit: PAGE, cursor })}`,
          ),
    5_000,
    [queue, state, cursor],
  );
  const shown = (page.data?.messages ?? []).filter((m) => matches(m, filters));
  const reset = (): void => {
    setCursors([undefined]);
  };
  const field = (name: keyof Filters) => (event: Event) => {
    setFilters({ ...filters, [name]: (event.target as HTMLInputElement).value });
  };
  return html`
    <h1>Messages</h1>
    <form
      class="filters"
      onSubmit=${(e: Event) => {
        e.preventDefault();
      }}
    >
      <label
        >Queue
        <select
          value=${queue}
          onChange=${(e: Event) => {
            reset();
            navigate(`#/messages/${segment((e.target as HTMLSelectElement).value)}`);
          }}
        >
          <option value="">choose a queue</option>
          ${(queues.data?.queues ?? []).map((q) => html`<option value=${q.agent}>${q.agent} (${q.depth + q.inFlight})</option>`)}
        </select>
      </label>
      <fieldset class="tabs">
        <legend>State</legend>
        ${STATES.map(
          (s) =>
            html`<label
              ><input
                type="radio"
                name="state"
                value=${s}
                checked=${state === s}
                onChange=${() => {
                  reset();
                  setState(s);
                }}
              />
              ${s}</label
            >`,
        )}
      </fieldset>
      <label>Type contains <input value=${filters.type} onInput=${field("type")} /></label>
      <label>Sender contains <input value=${filters.sender} onInput=${field("sender")} /></label>
      <label
        >Sent since <input type="datetime-local" value=${filters.since} onInput=${field("since")}
      /></label>
    </form>
    <${ErrorNote} error=${queues.error ?? page.error} />
    ${
      queue === ""
        ? html`<p>Choose a queue to browse its messages.</p>`
        : html` <table>
              <caption>
                ${queue}: ${state} messages, page
                ${cursors.length}${shown.length === (page.data?.messages.length ?? 0) ? "" : ` (${shown.length} match the filters)`}
              </caption>
              <thead>
                <tr>
                  <th scope="col">Id</th>
                  <th scope="col">Type</th>
                  <th scope="col">Sender</th>
                  <th scope="col">Sent</th>
                  <th scope="col">Attempts</th>
                  <th scope="col">
                    ${state === "leased" ? "Lease ends" : state === "delayed" ? "Visible at" : "Priority"}
                  </th>
                </tr>
              </thead>
              <tbody>
                ${shown.map(
                  (m) =>
                    html` <tr data-message=${m.message.id}>
                        <th scope="row">
                          <button
                            class="link"
                            aria-expanded=${open === m.message.id}
                            onClick=${() => {
                              setOpen(open === m.message.id ? undefined : m.message.id);
                            }}
                          >
                            ${m.message.id}
                          </button>
                        </th>
                        <td>${m.message.type}</td>
                        <td>${m.message.from ?? m.message.source}</td>
                        <td>${m.message.time ?? "–"}</td>
                        <td>${m.attempts}</td>
                        <td>${state === "ready" ? (m.message.priority ?? 4) : formatTime(m.dueAt)}</td>
                      </tr>
                      ${
                        open === m.message.id
                          ? html`<tr>
                              <td colspan="6">
                                <pre class="envelope" aria-label="envelope and data">
${JSON.stringify(m.message, null, 2)}</pre>
                              </td>
                            </tr>`
                          : ""
                      }`,
                )}
              </tbody>
            </table>
            <div class="pager">
              <button
                disabled=${cursors.length === 1}
                onClick=${() => {
                  setCursors(cursors.slice(0, -1));
                }}
              >
                Previous page
              </button>
              <button
                disabled=${page.data?.nextCursor === undefined}
                onClick=${() => {
                  setCursors([...cursors, page.data?.nextCursor]);
                }}
              >
                Next page
              </button>
            </div>`
    }
  `;
}
