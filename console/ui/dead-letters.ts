// Dead letters: filter, inspect every attempt, and replay (with a dry run), redirect or purge.
import type { VNode } from "preact";
import { useRef, useState } from "preact/hooks";
import { DEAD_LETTER_REASONS } from "../../core/dead-letter.js";
import { getJson, postJson, query, segment, type DeadLetter, type DeadLetterMove } from "./api.js";
import { ErrorNote, formatTime, html, usePoll } from "./kit.js";

interface Filters {
  agent: string;
  reason: string;
  since: string;
}

interface DryRunAnswer {
  matched?: number;
  letters?: DeadLetterMove[];
}

type Outcome =
  | { kind: "dry-run"; action: string; matched: number; letters: DeadLetterMove[] }
  | { kind: "done"; text: string };

const letterKey = (letter: DeadLetter): string => `${letter.agent}/${letter.message.id}`;

export function DeadLetters({ initialAgent }: { initialAgent: string }): VNode {
  const [filters, setFilters] = useState<Filters>({ agent: initialAgent, reason: "", since: "" });
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [open, setOpen] = useState<string | undefined>(undefined);
  const [redirect, setRedirect] = useState("");
  const [outcome, setOutcome] = useState<Outcome | undefined>(undefined);
  const [actionError, setActionError] = useState<Error | undefined>(undefined);
  const dialog = useRef<HTMLDialogElement>(null);
  const list = usePoll(
    () =>
      getJson<{ deadLetters: DeadLetter[]; nextCursor?: string }>(
        `/v1/dlq${query({ agent: filters.agent, reason: filters.reason, limit: 500 })}`,
      ),
    5_000,
    [filters.agent, filters.reason],
  );
  const since = filters.since === "" ? 0 : Date.parse(filters.since);
  const shown = (list.data?.deadLetters ?? []).filter((letter) => letter.deadLetteredAt >= since);
  const chosen = shown.filter((letter) => selected.has(letterKey(letter)));
  const targets = chosen.length > 0 ? chosen : shown;
  const scope = chosen.length > 0 ? `${chosen.length} selected` : `all ${shown.length} shown`;

  /** Actions name the letters by id (within one agent when the filter names one), so they take what is shown. */
  const selection = (): Record<string, unknown> => ({
    ids: targets.map((letter) => letter.message.id),
    ...(filters.agent === "" ? {} : { agent: filters.agent }),
  });
  const act = async (run: () => Promise<Outcome>): Promise<void> => {
    setActionError(undefined);
    try {
      setOutcome(await run());
      setSelected(new Set());
      list.refresh();
    } catch (error) {
      setActionError(error as Error);
    }
  };
  const dryRun = (action: "replay" | "purge", to?: string) =>
    act(async () => {
      const answer = await postJson<DryRunAnswer>(`/v1/dlq/${action}`, {
        ...selection(),
        ...(to === undefined ? {} : { to }),
        dryRun: true,
      });
      return { kind: "dry-run", action, matched: answer.matched ?? 0, letters: answer.letters ?? [] };
    });
  const replay = (to?: string) =>
    act(async () => {
      const answer = await postJson<{ replayed: number }>("/v1/dlq/replay", {
        ...selection(),
        ...(to === undefined ? {} : { to }),
      });
      return {
        kind: "done",
        text: `Replayed ${answer.replayed} dead letter(s)${to === undefined ? " to their original queue" : ` to ${to}`}.`,
      };
    });
  const purge = () =>
    act(async () => {
      dialog.current?.close();
      const answer = await postJson<{ purged: number }>("/v1/dlq/purge", selection());
      return { kind: "done", text: `Purged ${answer.purged} dead letter(s).` };
    });
  const toggle = (key: string): void => {
    const next = new Set(selected);
    if (next.has(key)) next.delete(key);
    else next.add(key);
    setSelected(next);
  };
  const setField = (name: keyof Filters) => (event: Event) => {
    setFilters({ ...filters, [name]: (event.target as HTMLInputElement).value });
  };

  return html`
    <h1>Dead letters</h1>
    <form
      class="filters"
      onSubmit=${(e: Event) => {
        e.preventDefault();
      }}
    >
      <label
        >Agent <input name="agent" value=${filters.agent} onChange=${setField("agent")} placeholder="any"
      /></label>
      <label
        >Reason
        <select name="reason" value=${filters.reason} onChange=${setField("reason")}>
          <option value="">any</option>
          ${DEAD_LETTER_REASONS.map((reason) => html`<option value=${reason}>${reason}</option>`)}
        </select>
      </label>
      <label
        >Dead-lettered since <input type="datetime-local" value=${filters.since} onInput=${setField("since")}
      /></label>
    </form>
    <div class="actions" role="group" aria-label="Actions on dead letters">
      <button disabled=${targets.length === 0} onClick=${() => void dryRun("replay")}>
        Dry run: replay ${scope}
      </button>
      <button disabled=${targets.length === 0} onClick=${() => void replay()}>Replay ${scope}</button>
      <label
        >Redirect to
        <input
          name="redirect"
          value=${redirect}
          onInput=${(e: Event) => {
            setRedirect((e.target as HTMLInputElement).value);
          }}
      /></label>
      <button
        disabled=${targets.length === 0 || redirect === ""}
        onClick=${() => void dryRun("replay", redirect)}
      >
        Dry run: redirect
      </button>
      <button disabled=${targets.length === 0 || redirect === ""} onClick=${() => void replay(redirect)}>
        Redirect ${scope}
      </button>
      <button class="danger" disabled=${targets.length === 0} onClick=${() => dialog.current?.showModal()}>
        Purge ${scope}…
      </button>
    </div>
    <dialog ref=${dialog} aria-labelledby="purge-title">
      <h2 id="purge-title">Purge ${targets.length} dead letter(s)?</h2>
      <p>
        Purged messages are deleted for good and cannot be replayed. The purge is recorded in each message's
        trace.
      </p>
      <div class="actions">
        <button onClick=${() => dialog.current?.close()}>Cancel</button>
        <button class="danger" onClick=${() => void purge()}>Purge for good</button>
      </div>
    </dialog>
    <div aria-live="polite" data-testid="dlq-outcome">
      <${ErrorNote} error=${actionError} />
      ${
        outcome === undefined
          ? ""
          : outcome.kind === "done"
            ? html`<p class="ok">${outcome.text}</p>`
            : html`<div class="dry-run">
                <p>
                  <strong>Dry run:</strong> a ${outcome.action} would take ${outcome.matched} dead letter(s).
                  Nothing was changed.
                </p>
                <ul>
                  ${outcome.letters.map((l) => html`<li>${l.id}: ${l.agent} → ${outcome.action === "purge" ? "deleted" : l.to} (${l.reason})</li>`)}
                </ul>
              </div>`
      }
    </div>
    <${ErrorNote} error=${list.error} />
    <table>
      <caption>
        ${shown.length} dead
        letter(s)${list.data?.nextCursor === undefined ? "" : " (first 500; narrow the filters for more)"}
      </caption>
      <thead>
        <tr>
          <th scope="col"><span class="visually-hidden">Select</span></th>
          <th scope="col">Id</th>
          <th scope="col">Agent</th>
          <th scope="col">Reason</th>
          <th scope="col">Dead-lettered</th>
          <th scope="col">Attempts</th>
          <th scope="col">Last error</th>
        </tr>
      </thead>
      <tbody>
        ${shown.map((letter) => {
          const key = letterKey(letter);
          return html` <tr data-dead-letter=${letter.message.id}>
              <td>
                <input
                  type="checkbox"
                  aria-label=${`select ${letter.message.id}`}
                  checked=${selected.has(key)}
                  onChange=${() => {
                    toggle(key);
                  }}
                />
              </td>
              <th scope="row">
                <button
                  class="link"
                  aria-expanded=${open === key}
                  onClick=${() => {
                    setOpen(open === key ? undefined : key);
                  }}
                >
                  ${letter.message.id}
                </button>
              </th>
              <td>${letter.agent}</td>
              <td data-col="reason">${letter.reason}</td>
              <td>${formatTime(letter.deadLetteredAt)}</td>
              <td>${letter.attempts.length}</td>
              <td>${letter.lastError ?? "–"}</td>
            </tr>
            ${
              open === key
                ? html`<tr>
                    <td colspan="7">
                      <h3>Attempts</h3>
                      <ol class="attempts">
                        ${letter.attempts.map((a) => html`<li>#${a.attempt} ${a.outcome} at ${formatTime(a.at)}${a.reason === undefined ? "" : `: ${a.reason}`}</li>`)}
                      </ol>
                      <p><a href=${`#/trace/${segment(letter.message.id)}`}>Trace of this message</a></p>
                      <pre class="envelope">${JSON.stringify(letter.message, null, 2)}</pre>
                    </td>
                  </tr>`
                : ""
            }`;
        })}
      </tbody>
    </table>
  `;
}
