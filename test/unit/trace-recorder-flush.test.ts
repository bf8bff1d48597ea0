import { describe, expect, it } from "vitest";
import { TraceRecorder, type TraceBackend } from "../../store/base/trace-recorder.js";
import type { TraceEvent } from "../../store/roles/trace.js";

// A closing store waits for the trace writes under way (a shutting-down sidecar's last nacks), but not forever.

function backend(settle: "later" | "never"): TraceBackend & { written: TraceEvent[] } {
  const written: TraceEvent[] = [];
  return {
    written,
    appendTrace: (events) =>
      settle === "never"
        ? new Promise<void>(() => undefined)
        : new Promise<void>((resolve) => {
            setImmediate(() => {
              written.push(...events);
              resolve();
            });
          }),
    readTrace: () => Promise.resolve([]),
    readCorrelation: () => Promise.resolve([]),
  };
}

const nacked: TraceEvent = { messageId: "m-1" as TraceEvent["messageId"], kind: "nacked", at: 1, actor: "a" };

describe("flushing the trace", () => {
  it("resolves once the writes under way have landed", async () => {
    const store = backend("later");
    const recorder = new TraceRecorder(store, 60_000, "test");
    recorder.record([nacked]);
    expect(store.written).toEqual([]);
    await recorder.flush(5_000);
    expect(store.written).toEqual([nacked]);
  });

  it("gives up after the timeout when the backend does not answer", async () => {
    const recorder = new TraceRecorder(backend("never"), 60_000, "test");
    recorder.record([nacked]);
    // Resolves (the test's own timeout would fail a flush that waited for the write).
    await expect(recorder.flush(50)).resolves.toBeUndefined();
  });
});
