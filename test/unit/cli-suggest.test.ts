import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { closeMatches, levenshtein, quoteList, unknownAgentWarning } from "../../cli/suggest.js";

describe("levenshtein", () => {
  it("counts inserts, deletes, substitutions, and an adjacent swap as one edit", () => {
    expect(levenshtein("", "")).toBe(0);
    expect(levenshtein("abc", "")).toBe(3);
    expect(levenshtein("kitten", "sitting")).toBe(3);
    expect(levenshtein("alice", "alcie")).toBe(1);
    expect(levenshtein("reviewer", "reveiwer")).toBe(1);
    expect(levenshtein("bob", "rob")).toBe(1);
    expect(levenshtein("planner", "plan")).toBe(3);
  });

  it("is a symmetric distance that is zero only for equal strings", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 12 }), fc.string({ maxLength: 12 }), (a, b) => {
        const d = levenshtein(a, b);
        expect(d).toBe(levenshtein(b, a));
        expect(d === 0).toBe(a === b);
        expect(d).toBeLessThanOrEqual(Math.max(a.length, b.length));
        expect(d).toBeGreaterThanOrEqual(Math.abs(a.length - b.length));
      }),
    );
  });
});

describe("closeMatches", () => {
  const agents = ["alice", "alina", "bob", "code-reviewer", "planner", "planner-2"];

  it("suggests the closest names first", () => {
    expect(closeMatches("alcie", agents)).toEqual(["alice"]);
    expect(closeMatches("alica", agents)).toEqual(["alice", "alina"]);
    expect(closeMatches("code-reveiwer", agents)).toEqual(["code-reviewer"]);
    expect(closeMatches("bop", agents)).toEqual(["bob"]);
  });

  it("counts a prefix as close, and stops at the limit", () => {
    expect(closeMatches("plan", agents)).toEqual(["planner", "planner-2"]);
    expect(closeMatches("a", ["b", "c", "d", "e"], 2)).toEqual(["b", "c"]);
  });

  it("suggests nothing far away, nor the input itself", () => {
    expect(closeMatches("zebra", agents)).toEqual([]);
    expect(closeMatches("bob", ["bob"])).toEqual([]);
  });

  it("quotes lists readably", () => {
    expect(quoteList(["a"])).toBe('"a"');
    expect(quoteList(["a", "b", "c"])).toBe('"a", "b" or "c"');
  });
});

describe("unknownAgentWarning", () => {
  it("says nothing when the agent is registered or nobody is", () => {
    expect(unknownAgentWarning("alice", ["alice", "bob"])).toBeUndefined();
    expect(unknownAgentWarning("alice@local", ["alice"])).toBeUndefined();
    expect(unknownAgentWarning("anyone", [])).toBeUndefined();
  });

  it("suggests close matches, or lists who is registered", () => {
    expect(unknownAgentWarning("alcie", ["alice", "bob"])).toBe(
      'no agent "alcie" is registered; did you mean "alice"? (the message waits in its queue)',
    );
    expect(unknownAgentWarning("zed", ["alice", "bob"])).toBe(
      'no agent "zed" is registered (the message waits in its queue); registered agents: alice, bob',
    );
  });
});
