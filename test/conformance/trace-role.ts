import { describe } from "vitest";
import type { StoreFactory } from "./store-conformance.js";
import { describeTrace } from "./trace.js";

/** The TraceStore role: the events of a message and of a correlation id. */
export function describeTraceRole(factory: StoreFactory): void {
  describe("role: trace", () => {
    describeTrace(factory);
  });
}
