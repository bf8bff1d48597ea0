import { BmnClientError, ClientTimeoutError, SidecarUnreachableError } from "../client/index.js";

/** A failure the user can fix; its message is the one line `bmn` prints. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** Wrong flags or arguments: exit code 2. */
export class UsageError extends CliError {
  constructor(message: string) {
    super(message, 2);
  }
}

export interface ErrorContext {
  url: string;
  /** Where the URL came from, to say what to change. */
  urlSource?: string | undefined;
}

/** The one stderr line for any error, without the `bmn: ` prefix. */
export function describeError(error: unknown, context: ErrorContext): string {
  if (error instanceof CliError) return error.message;
  if (error instanceof SidecarUnreachableError) {
    const where =
      context.urlSource === undefined || context.urlSource === "default"
        ? ""
        : ` (from ${context.urlSource})`;
    return `cannot reach the sidecar at ${error.url}${where} — start one with "npm start" or set BMN_URL`;
  }
  if (error instanceof ClientTimeoutError) {
    return `${error.message} — is it overloaded or stuck? check "bmn health"`;
  }
  if (error instanceof BmnClientError) return withHint(error);
  if (error instanceof Error) return `unexpected error: ${error.message}`;
  return `unexpected error: ${String(error)}`;
}

function withHint(error: BmnClientError): string {
  const message = error.message;
  switch (error.errorCode) {
    case "INVALID_MESSAGE":
      return `the sidecar refused the message: ${message}`;
    case "INVALID_ADDRESS":
      return `${message} (agent names are lowercase DNS labels, e.g. "code-reviewer" or "code-reviewer@team-a")`;
    case "LEASE_NOT_FOUND":
      return `${message} — leases come from "bmn receive", and each can be acked or nacked once`;
    case "LEASE_EXPIRED":
      return `${message} — take longer leases with "bmn receive --lease <seconds>"`;
    case "STORE_UNAVAILABLE":
      return `the sidecar's store is unavailable: ${message} — retry ${retryIn(error)}; "bmn health" shows when it is back`;
    case "OVERLOADED":
      return `the sidecar is overloaded: ${message} — retry ${retryIn(error)}`;
    case "UNROUTABLE":
      return `${message} — check the domain in the address, or the gateway routes`;
    case "TIMEOUT":
      return `${message} — nobody answered; is the responder running? (raise --timeout to wait longer)`;
    default:
      return message;
  }
}

function retryIn(error: BmnClientError): string {
  return error.retryAfterSeconds === undefined ? "in a moment" : `in ${error.retryAfterSeconds} s`;
}

/** commander's own messages, made into our one line: `unknown option '--prio' (did you mean --priority?)`. */
export function describeCommanderMessage(message: string): string {
  return message
    .replace(/^error: /, "")
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "")
    .map((line) => (line.startsWith("(Did you mean") ? line.replace("(Did", "(did") : line))
    .join(" ");
}
