import { describe, expect, it } from "vitest";
import { bmnToLegacy, legacyToBmn } from "../../bridge/legacy/legacy-mapping.js";
import {
  bmnNameOf,
  capabilitiesOf,
  channelJson,
  legacyTypeOf,
  mailboxFields,
  parseChannelMessage,
  parseMailboxEntry,
} from "../../bridge/legacy/legacy-protocol.js";
import { idBefore } from "../../bridge/legacy/migrate-legacy.js";
import type { Message } from "../../client/index.js";

const wire = {
  type: "help_wanted",
  source: "Claude_Agent_1",
  target: null,
  payload: { q: "?" },
  timestamp: "2026-01-02T03:04:05.000Z",
  priority: 10,
  id: "5f0c6a1e-0000-4000-8000-000000000001",
};

describe("legacy wire formats", () => {
  it("parses a channel message and writes it back with exactly the legacy fields", () => {
    const parsed = parseChannelMessage(JSON.stringify(wire));
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    expect(JSON.parse(channelJson(parsed.value))).toEqual(wire);
  });

  it("rejects what is not a legacy message, naming the field", () => {
    const cases: [string, RegExp][] = [
      ["{", /malformed JSON/],
      ["[1]", /not a JSON object/],
      [JSON.stringify({ ...wire, type: "has space" }), /type must be/],
      [JSON.stringify({ ...wire, priority: 0 }), /priority must be an integer from 1 to 10/],
      [JSON.stringify({ ...wire, source: "" }), /source must be/],
      [JSON.stringify({ ...wire, id: 7 }), /id must be/],
      [JSON.stringify({ ...wire, timestamp: "yesterday" }), /timestamp must be/],
    ];
    for (const [text, error] of cases) {
      const parsed = parseChannelMessage(text);
      expect(parsed.ok ? "accepted" : parsed.rejection.detail).toMatch(error);
    }
  });

  it("reads epoch seconds (Python's time.time()) as well as ISO timestamps", () => {
    const parsed = parseChannelMessage(JSON.stringify({ ...wire, timestamp: 1_767_323_045.5 }));
    expect(parsed.ok && parsed.value.timestamp).toBe(1_767_323_045_500);
  });

  it("round-trips a mailbox entry's fields", () => {
    const parsed = parseChannelMessage(JSON.stringify({ ...wire, target: "bob" }));
    if (!parsed.ok) throw new Error("fixture");
    const again = parseMailboxEntry(mailboxFields(parsed.value));
    expect(again).toEqual({ ok: true, value: parsed.value });
    expect(
      parseMailboxEntry([
        "message_id",
        "x",
        "sender",
        "a",
        "recipient",
        "b",
        "message_type",
        "t",
        "payload",
        "{",
      ]),
    ).toMatchObject({
      ok: false,
      rejection: { detail: expect.stringMatching(/payload is not JSON/) as string },
    });
  });

  it("derives BMN names, capabilities and types", () => {
    expect(bmnNameOf("Claude_Agent_1")).toBe("claude-agent-1");
    expect(bmnNameOf("__")).toBeUndefined();
    expect(bmnNameOf("x".repeat(80))).toHaveLength(63);
    expect(capabilitiesOf(["a", 1, "b c", "d"])).toEqual(["a", "d"]);
    expect(capabilitiesOf({ capabilities: ["x"] })).toEqual(["x"]);
    expect(capabilitiesOf({ python: true })).toEqual(["python"]);
    expect(legacyTypeOf("beast.status_update")).toBe("status_update");
    expect(legacyTypeOf("com.example.order.created")).toBe("com_example_order_created");
  });
});

describe("legacy ↔ BMN mapping", () => {
  it("maps priority p to p-1 and back, keeps the id, and marks the origin", () => {
    const parsed = parseChannelMessage(JSON.stringify(wire));
    if (!parsed.ok) throw new Error("fixture");
    const input = legacyToBmn(parsed.value, "claude-agent-1", { topic: "legacy.help_wanted" });
    expect(input).toMatchObject({
      id: wire.id,
      type: "beast.help_wanted",
      from: "claude-agent-1",
      topic: "legacy.help_wanted",
      priority: 9,
      legacyid: wire.id,
      legacysource: "Claude_Agent_1",
      data: { q: "?" },
    });
    const message = { ...input, specversion: "1.0", source: "x" } as Message;
    expect(bmnToLegacy(message, "claude-agent-1", null)).toMatchObject({
      priority: 10,
      type: "help_wanted",
      id: wire.id,
    });
  });

  it("keeps an id BMN cannot take as a dedupe key", () => {
    const parsed = parseChannelMessage(JSON.stringify({ ...wire, id: "id with spaces" }));
    if (!parsed.ok) throw new Error("fixture");
    const input = legacyToBmn(parsed.value, "a", { to: "b" });
    expect(input.id).toBeUndefined();
    expect(input.dedupekey).toBe("legacy-id with spaces");
  });

  it("rolls a stream id back by one", () => {
    expect(idBefore("5-3")).toBe("5-2");
    expect(idBefore("5-0")).toBe("4-18446744073709551615");
    expect(idBefore("0-0")).toBe("0-0");
  });
});
