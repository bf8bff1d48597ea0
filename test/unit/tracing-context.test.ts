import { TraceFlags } from "@opentelemetry/api";
import { describe, expect, it } from "vitest";
import { createMessage } from "../../core/envelope.js";
import { withTraceContext } from "../../runtime/observability/propagating-tracing.js";
import {
  formatTraceparent,
  isValidTraceparent,
  newTraceparent,
  parseTraceparent,
  traceHeadersFromHttp,
} from "../../runtime/observability/trace-context.js";

const TRACE_ID = "0af7651916cd43dd8448eb211c80319c";
const SPAN_ID = "b7ad6b7169203331";
const PARENT = `00-${TRACE_ID}-${SPAN_ID}-01`;

function defined<T>(value: T | undefined): T {
  if (value === undefined) throw new Error("expected a value");
  return value;
}

describe("W3C traceparent", () => {
  it("parses a valid traceparent into a remote span context, with its tracestate", () => {
    const context = parseTraceparent(PARENT, "congo=t61rcWkgMzE");
    expect(context).toMatchObject({ traceId: TRACE_ID, spanId: SPAN_ID, traceFlags: 1, isRemote: true });
    expect(context?.traceState?.get("congo")).toBe("t61rcWkgMzE");
    expect(formatTraceparent(defined(context))).toBe(PARENT);
  });

  it("keeps the unsampled flag and writes it back", () => {
    const context = parseTraceparent(`00-${TRACE_ID}-${SPAN_ID}-00`);
    expect(context?.traceFlags).toBe(TraceFlags.NONE);
    expect(formatTraceparent(defined(context))).toBe(`00-${TRACE_ID}-${SPAN_ID}-00`);
  });

  it.each([
    ["all-zero trace id", `00-${"0".repeat(32)}-${SPAN_ID}-01`],
    ["all-zero span id", `00-${TRACE_ID}-${"0".repeat(16)}-01`],
    ["version ff", `ff-${TRACE_ID}-${SPAN_ID}-01`],
    ["version 00 with extra fields", `${PARENT}-extra`],
    ["upper-case hex", PARENT.toUpperCase()],
    ["a short trace id", `00-${TRACE_ID.slice(1)}-${SPAN_ID}-01`],
    ["garbage", "not a traceparent"],
  ])("rejects %s", (_name, value) => {
    expect(parseTraceparent(value)).toBeUndefined();
    expect(isValidTraceparent(value)).toBe(false);
  });

  it("accepts a future version with extra fields", () => {
    const future = `01-${TRACE_ID}-${SPAN_ID}-01-what-comes-next`;
    expect(isValidTraceparent(future)).toBe(true);
    expect(parseTraceparent(future)).toMatchObject({ traceId: TRACE_ID, spanId: SPAN_ID });
  });

  it("makes fresh, distinct, sampled root traceparents", () => {
    const made = new Set<string>();
    for (let index = 0; index < 1_000; index++) {
      const traceparent = newTraceparent();
      expect(traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
      expect(isValidTraceparent(traceparent)).toBe(true);
      made.add(traceparent.slice(3, 35));
    }
    expect(made.size).toBe(1_000);
  });

  it("reads traceparent and tracestate from HTTP headers, ignoring a repeated or invalid traceparent", () => {
    expect(traceHeadersFromHttp({ traceparent: PARENT, tracestate: ["a=1", "b=2"] })).toEqual({
      traceparent: PARENT,
      tracestate: "a=1,b=2",
    });
    expect(traceHeadersFromHttp({ traceparent: ` ${PARENT} ` })).toEqual({ traceparent: PARENT });
    expect(traceHeadersFromHttp({ traceparent: [PARENT, PARENT] })).toBeUndefined();
    expect(traceHeadersFromHttp({ traceparent: "00-nope" })).toBeUndefined();
    expect(traceHeadersFromHttp({})).toBeUndefined();
    expect(traceHeadersFromHttp({ traceparent: PARENT, tracestate: "x".repeat(513) })).toEqual({
      traceparent: PARENT,
    });
  });
});

describe("propagation without a tracer", () => {
  const message = (extra: Record<string, unknown> = {}) => createMessage({ to: "a", type: "t", ...extra });

  it("keeps a message's valid traceparent and tracestate as they are", () => {
    const original = message({ traceparent: PARENT, tracestate: "k=v" });
    expect(withTraceContext(original, { traceparent: newTraceparent() })).toBe(original);
  });

  it("takes the request's traceparent header when the message has none", () => {
    const traced = withTraceContext(message(), { traceparent: PARENT, tracestate: "k=v" });
    expect(traced).toMatchObject({ traceparent: PARENT, tracestate: "k=v" });
  });

  it("stamps a fresh traceparent otherwise, replacing an invalid one and its tracestate", () => {
    expect(isValidTraceparent(withTraceContext(message(), undefined).traceparent ?? "")).toBe(true);
    const invalid = message({ traceparent: `00-${"0".repeat(32)}-${SPAN_ID}-01`, tracestate: "k=v" });
    const traced = withTraceContext(invalid, {});
    expect(traced.traceparent).not.toBe(invalid.traceparent);
    expect(isValidTraceparent(traced.traceparent ?? "")).toBe(true);
    expect(traced.tracestate).toBeUndefined();
  });
});
