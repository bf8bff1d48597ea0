import { ValidationError } from "../../core/errors.js";

/**
 * Table names of one store. Every table of a store starts with its prefix, so several domains (or test cases) can
 * share one database. The prefix is checked against a strict pattern before it is ever placed in SQL, and every
 * name is quoted; user data never reaches an identifier.
 */
export interface SqlTables {
  readonly prefix: string;
  /** Queued, delayed and leased messages. */
  readonly messages: string;
  /** Dedupe keys per queue with the end of their window. */
  readonly dedupe: string;
  readonly deadLetters: string;
  /** Every queue that ever had a message. */
  readonly queues: string;
  readonly subscriptions: string;
  readonly agents: string;
  readonly trace: string;
  /** The SEQUENCE that numbers messages (enqueue order) and lease tokens. */
  readonly sequence: string;
  /** A2A tasks, their events and their push configs. */
  readonly a2aTasks: string;
  readonly a2aEvents: string;
  readonly a2aPush: string;
}

/** Records which migrations ran, for every prefix in the database. */
export const MIGRATIONS_TABLE = "`bmn_schema_migrations`";

const PREFIX_PATTERN = /^[A-Za-z_][A-Za-z0-9_]{0,39}$/;

export function sqlTables(prefix: string): SqlTables {
  if (!PREFIX_PATTERN.test(prefix)) {
    throw new ValidationError(
      `tablePrefix ${JSON.stringify(prefix)} must be 1-40 letters, digits or '_' and not start with a digit`,
      { code: "INVALID_ARGUMENT", field: "tablePrefix" },
    );
  }
  const name = (table: string): string => `\`${prefix}${table}\``;
  return {
    prefix,
    messages: name("messages"),
    dedupe: name("dedupe"),
    deadLetters: name("dead_letters"),
    queues: name("queues"),
    subscriptions: name("subscriptions"),
    agents: name("agents"),
    trace: name("trace"),
    sequence: name("seq"),
    a2aTasks: name("a2a_tasks"),
    a2aEvents: name("a2a_events"),
    a2aPush: name("a2a_push"),
  };
}

/** `bmn_<domain>_`, with the domain's hyphens (legal in DNS labels, not in bare identifiers) as underscores. */
export function defaultTablePrefix(domain: string): string {
  return `bmn_${domain.replace(/-/g, "_")}_`;
}
