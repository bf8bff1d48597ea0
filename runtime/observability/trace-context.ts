import { randomFillSync } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";
import { isSpanContextValid, type SpanContext } from "@opentelemetry/api";
import { TraceState } from "@opentelemetry/core";

/**
 * W3C Trace Context (https://www.w3.org/TR/trace-context/) for messages: parsing and writing the `traceparent`
 * and `tracestate` attributes, and making fresh ids cheaply when no tracer is configured.
 */

/** version-traceid-parentid-flags; versions after 00 may append fields after a further '-'. */
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;
const INVALID_TRACE_ID = "0".repeat(32);
const INVALID_SPAN_ID = "0".repeat(16);
/** The envelope's limit on `tracestate` (the W3C limit is 32 list members). */
export const MAX_TRACESTATE_LENGTH = 512;

/** A message's trace attributes: what the sidecar writes into every message it accepts. */
export interface TraceHeaders {
  traceparent: string;
  tracestate?: string;
}

/** The remote span context a `traceparent` names, or undefined when it is absent or invalid by the W3C rules. */
export function parseTraceparent(
  traceparent: string | undefined,
  tracestate?: string,
): SpanContext | undefined {
  if (traceparent === undefined) return undefined;
  const match = TRACEPARENT.exec(traceparent.trim());
  if (match === null) return undefined;
  const [, version = "", traceId = "", spanId = "", flags = ""] = match;
  // Version ff is forbidden; version 00 has exactly four fields.
  if (version === "ff" || (version === "00" && match[5] !== undefined)) return undefined;
  const context: SpanContext = { traceId, spanId, traceFlags: parseInt(flags, 16), isRemote: true };
  if (!isSpanContextValid(context)) return undefined;
  if (tracestate !== undefined && tracestate !== "") context.traceState = new TraceState(tracestate);
  return context;
}

/** True for a `traceparent` the W3C rules accept; cheaper than `parseTraceparent` (no objects made). */
export function isValidTraceparent(traceparent: string): boolean {
  const match = TRACEPARENT.exec(traceparent);
  if (match === null) return false;
  const [, version, traceId, spanId] = match;
  return (
    version !== "ff" &&
    (version !== "00" || match[5] === undefined) &&
    traceId !== INVALID_TRACE_ID &&
    spanId !== INVALID_SPAN_ID
  );
}

/** The `traceparent` (version 00) naming `context` as the parent. */
export function formatTraceparent(context: SpanContext): string {
  const flags = (context.traceFlags & 0xff).toString(16).padStart(2, "0");
  return `00-${context.traceId}-${context.spanId}-${flags}`;
}

/** `context` as message trace attributes: `traceparent`, plus `tracestate` when it has one. */
export function traceHeadersOf(context: SpanContext): TraceHeaders {
  const tracestate = context.traceState?.serialize();
  return tracestate === undefined || tracestate === ""
    ? { traceparent: formatTraceparent(context) }
    : { traceparent: formatTraceparent(context), tracestate };
}

/**
 * The trace context an HTTP request carries in its `traceparent` and `tracestate` headers, when valid. A repeated
 * `traceparent` header is invalid (W3C); repeated `tracestate` headers are joined.
 */
export function traceHeadersFromHttp(headers: IncomingHttpHeaders): TraceHeaders | undefined {
  const traceparent = headers.traceparent;
  if (typeof traceparent !== "string" || !isValidTraceparent(traceparent.trim())) return undefined;
  const raw = headers.tracestate;
  const tracestate = Array.isArray(raw) ? raw.join(",") : raw;
  return tracestate === undefined || tracestate === "" || tracestate.length > MAX_TRACESTATE_LENGTH
    ? { traceparent: traceparent.trim() }
    : { traceparent: traceparent.trim(), tracestate };
}

// Ids come from a pool of crypto-random bytes, refilled once per 170 traceparents: one syscall-free slice per id.
const pool = Buffer.allocUnsafe(4_080);
let poolOffset = pool.length;

function randomHex(bytes: number): string {
  if (poolOffset + bytes > pool.length) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  const hex = pool.toString("hex", poolOffset, poolOffset + bytes);
  poolOffset += bytes;
  return hex;
}

/**
 * A new root `traceparent` with random trace and span ids. Its sampled flag is set, so an agent whose tracer uses
 * the default parent-based sampler records its spans, as it would for a trace it started itself.
 */
export function newTraceparent(): string {
  let traceId = randomHex(16);
  while (traceId === INVALID_TRACE_ID) traceId = randomHex(16);
  let spanId = randomHex(8);
  while (spanId === INVALID_SPAN_ID) spanId = randomHex(8);
  return `00-${traceId}-${spanId}-01`;
}
