import type { AgentRecord, DeadLetter, Message, TraceEvent } from "../client/index.js";

const SUMMARY_MAX = 200;

/** ISO time without the date when it is today: what a human scans in a listing. */
export function clock(ms: number, now = Date.now()): string {
  const iso = new Date(ms).toISOString();
  return iso.slice(0, 10) === new Date(now).toISOString().slice(0, 10) ? iso.slice(11, 23) : iso;
}

export function duration(ms: number): string {
  const abs = Math.abs(ms);
  if (abs < 1_000) return `${Math.round(ms)} ms`;
  if (abs < 60_000) return `${(ms / 1_000).toFixed(abs < 10_000 ? 2 : 1)} s`;
  if (abs < 3_600_000) return `${(ms / 60_000).toFixed(1)} min`;
  return `${(ms / 3_600_000).toFixed(1)} h`;
}

function truncate(text: string, max = SUMMARY_MAX): string {
  const oneLine = text.replace(/\s+/g, " ").trim();
  return oneLine.length > max ? `${oneLine.slice(0, max - 1)}…` : oneLine;
}

/** The text of a message: a string `data`, `data.message` (legacy payloads) with its extras, or compact JSON. */
export function summary(message: Pick<Message, "data" | "data_base64">): string {
  const { data } = message;
  if (data === undefined) {
    return message.data_base64 === undefined
      ? ""
      : `<${Buffer.from(message.data_base64, "base64").length} bytes>`;
  }
  if (typeof data === "string") return truncate(data);
  if (typeof data === "object" && data !== null && !Array.isArray(data)) {
    const record = data as Record<string, unknown>;
    if (typeof record.message === "string") {
      const extras: string[] = [];
      if (record.task_completed === true) extras.push("completed");
      if (typeof record.percentage === "number") extras.push(`${record.percentage}%`);
      if (typeof record.progress === "string") extras.push(record.progress);
      if (typeof record.request_type === "string") extras.push(`request: ${record.request_type}`);
      return truncate(record.message + (extras.length === 0 ? "" : ` [${extras.join(", ")}]`));
    }
  }
  return truncate(JSON.stringify(data));
}

/** One line per message for `listen` and `receive`. */
export function messageLine(message: Message, attempt?: number): string {
  const when = message.time === undefined ? "" : `${clock(Date.parse(message.time))} `;
  const from = message.from ?? message.source;
  const to = message.topic === undefined ? (message.to ?? "?") : `#${message.topic}`;
  const notes = [`p${message.priority ?? 4}`];
  if (attempt !== undefined && attempt > 1) notes.push(`attempt ${attempt}`);
  const text = summary(message);
  return `${when}${message.type} ${from} → ${to} (${notes.join(", ")})${text === "" ? "" : `: ${text}`}`;
}

/** Left-aligned columns; the last column is not padded. */
export function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((title, i) =>
    Math.max(title.length, ...rows.map((row) => (row[i] ?? "").length)),
  );
  const line = (cells: string[]): string =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
      .join("  ")
      .trimEnd();
  return [line(header), ...rows.map(line)];
}

export function deadLetterRows(letters: DeadLetter[], now = Date.now()): string[] {
  return table(
    ["AGENT", "ID", "REASON", "ATTEMPTS", "DEAD-LETTERED", "TYPE", "LAST ERROR"],
    letters.map((letter) => [
      letter.agent,
      letter.message.id,
      letter.reason,
      String(letter.attempts.length),
      clock(letter.deadLetteredAt, now),
      letter.message.type,
      truncate(letter.lastError ?? "", 60),
    ]),
  );
}

export function deadLetterDetail(letter: DeadLetter): string[] {
  const lines = [
    `dead letter ${letter.message.id} for ${letter.agent}`,
    `  reason         ${letter.reason}`,
    `  dead-lettered  ${new Date(letter.deadLetteredAt).toISOString()}`,
  ];
  if (letter.lastError !== undefined) lines.push(`  last error     ${letter.lastError}`);
  lines.push(`  attempts       ${letter.attempts.length}`);
  for (const attempt of letter.attempts) {
    const reason = attempt.reason === undefined ? "" : `  ${attempt.reason}`;
    lines.push(`    #${attempt.attempt}  ${new Date(attempt.at).toISOString()}  ${attempt.outcome}${reason}`);
  }
  lines.push("  message");
  for (const line of JSON.stringify(letter.message, null, 2).split("\n")) lines.push(`    ${line}`);
  return lines;
}

function eventDetail(event: TraceEvent): string {
  const parts: string[] = [];
  if (event.agent !== undefined) parts.push(`→ ${event.agent}`);
  if (event.topic !== undefined) parts.push(`#${event.topic}`);
  if (event.attempt !== undefined) parts.push(`attempt ${event.attempt}`);
  if (event.reason !== undefined) parts.push(`reason: ${event.reason}`);
  parts.push(`by ${event.actor}`);
  return parts.join("  ");
}

/** A readable timeline: when, time since the first event, what happened, where and who did it. */
export function traceTimeline(title: string, events: TraceEvent[], showIds: boolean): string[] {
  const sorted = [...events].sort((a, b) => a.at - b.at);
  const first = sorted[0]?.at ?? 0;
  const last = sorted[sorted.length - 1]?.at ?? first;
  const header = `${title}: ${sorted.length} event${sorted.length === 1 ? "" : "s"} over ${duration(last - first)}`;
  const rows = sorted.map((event) => [
    new Date(event.at).toISOString(),
    `+${duration(event.at - first)}`,
    ...(showIds ? [event.messageId] : []),
    event.kind,
    eventDetail(event),
  ]);
  return [
    header,
    ...table(["TIME", "SINCE START", ...(showIds ? ["MESSAGE"] : []), "EVENT", "DETAIL"], rows).map(
      (l) => `  ${l}`,
    ),
  ];
}

export function agentRows(agents: AgentRecord[], now = Date.now()): string[] {
  return table(
    ["NAME", "CAPABILITIES", "LAST SEEN", "EXPIRES IN"],
    agents.map((agent) => [
      agent.name,
      agent.capabilities.join(",") || "-",
      `${duration(now - agent.lastSeenAt)} ago`,
      duration(agent.expiresAt - now),
    ]),
  );
}
