import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { topicMatches } from "../../core/topic-match.js";

/** Straightforward backtracking matcher, used as an oracle on small inputs. */
function naiveMatch(pattern: readonly string[], topic: readonly string[]): boolean {
  const [head, ...rest] = pattern;
  if (head === undefined) return topic.length === 0;
  if (head === "#") {
    for (let skip = 0; skip <= topic.length; skip++) if (naiveMatch(rest, topic.slice(skip))) return true;
    return false;
  }
  const [first, ...others] = topic;
  return first !== undefined && (head === "*" || head === first) && naiveMatch(rest, others);
}

const segment = fc.stringMatching(/^[A-Za-z0-9_-]{1,12}$/);
const topicSegments = fc.array(segment, { minLength: 1, maxLength: 8 });

describe("topicMatches examples", () => {
  it.each([
    // literal
    ["a", "a", true],
    ["a", "b", false],
    ["a.b", "a.b", true],
    ["a.b", "a", false],
    ["a", "a.b", false],
    ["a.b", "a.c", false],
    ["Orders", "orders", false],
    // '*' is exactly one segment
    ["*", "a", true],
    ["*", "a.b", false],
    ["a.*", "a.b", true],
    ["a.*", "a", false],
    ["a.*", "a.b.c", false],
    ["*.b", "a.b", true],
    ["*.b", "b", false],
    ["a.*.c", "a.b.c", true],
    ["a.*.c", "a.c", false],
    ["a.*.c", "a.b.d.c", false],
    ["*.*", "a.b", true],
    ["*.*", "a", false],
    ["*.*", "a.b.c", false],
    // '#' is zero or more segments
    ["#", "a", true],
    ["#", "a.b.c.d", true],
    ["a.#", "a", true],
    ["a.#", "a.b", true],
    ["a.#", "a.b.c", true],
    ["a.#", "b.a", false],
    ["#.c", "c", true],
    ["#.c", "a.b.c", true],
    ["#.c", "a.c.d", false],
    ["a.#.c", "a.c", true],
    ["a.#.c", "a.b.c", true],
    ["a.#.c", "a.b.d.c", true],
    ["a.#.c", "a.b", false],
    ["a.#.c", "a.c.d", false],
    ["a.#.c", "b.a.c", false],
    ["#.#", "a", true],
    ["#.a.#", "a", true],
    ["#.a.#", "x.a.y.z", true],
    ["#.a.#", "x.y", false],
    // mixed
    ["*.#", "a", true],
    ["*.#", "a.b.c", true],
    ["#.*", "a", true],
    ["*.#.*", "a", false],
    ["*.#.*", "a.b", true],
    ["a.*.#.d", "a.b.c.d", true],
    ["a.*.#.d", "a.d", false],
  ] as const)("%j against %j is %s", (pattern, topic, expected) => {
    expect(topicMatches(pattern, topic)).toBe(expected);
  });
});

describe("topicMatches properties", () => {
  it("a pattern equal to the topic matches it", () => {
    fc.assert(fc.property(topicSegments, (segments) => topicMatches(segments.join("."), segments.join("."))));
  });

  it("replacing any one segment by '*' still matches, and only topics of the same length", () => {
    fc.assert(
      fc.property(topicSegments, fc.nat(), segment, (segments, at, extra) => {
        const index = at % segments.length;
        const pattern = segments.map((s, i) => (i === index ? "*" : s)).join(".");
        expect(topicMatches(pattern, segments.join("."))).toBe(true);
        expect(topicMatches(pattern, [...segments, extra].join("."))).toBe(false);
        if (segments.length > 1) expect(topicMatches(pattern, segments.slice(1).join("."))).toBe(false);
      }),
    );
  });

  it("replacing any segments by '*' still matches", () => {
    fc.assert(
      fc.property(topicSegments, fc.array(fc.boolean()), (segments, starred) => {
        const pattern = segments.map((s, i) => (starred[i] === true ? "*" : s)).join(".");
        expect(topicMatches(pattern, segments.join("."))).toBe(true);
      }),
    );
  });

  it("replacing any run of segments (even an empty one) by '#' still matches", () => {
    fc.assert(
      fc.property(topicSegments, fc.nat(), fc.nat(), (segments, a, b) => {
        const start = a % (segments.length + 1);
        const end = start + (b % (segments.length - start + 1));
        const pattern = [...segments.slice(0, start), "#", ...segments.slice(end)].join(".");
        expect(topicMatches(pattern, segments.join("."))).toBe(true);
      }),
    );
  });

  it("'#' matches every topic and a run of n '*' matches exactly the topics of n segments", () => {
    fc.assert(
      fc.property(topicSegments, fc.integer({ min: 1, max: 8 }), (segments, stars) => {
        const topic = segments.join(".");
        expect(topicMatches("#", topic)).toBe(true);
        expect(topicMatches(Array.from({ length: stars }, () => "*").join("."), topic)).toBe(
          stars === segments.length,
        );
      }),
    );
  });

  it("agrees with a backtracking oracle on small patterns and topics", () => {
    const small = fc.constantFrom("a", "b", "c");
    fc.assert(
      fc.property(
        fc.array(fc.oneof(small, fc.constantFrom("*", "#")), { minLength: 1, maxLength: 7 }),
        fc.array(small, { minLength: 1, maxLength: 7 }),
        (pattern, topic) => {
          expect(topicMatches(pattern.join("."), topic.join("."))).toBe(naiveMatch(pattern, topic));
        },
      ),
      { numRuns: 2000 },
    );
  });

  it("stays fast on patterns with many '#' that fail to match", () => {
    // Backtracking over each '#' explores C(segments + hashes, hashes) paths here: seconds for this size,
    // effectively forever for larger ones. The matcher must stay polynomial.
    const started = performance.now();
    const hashes = Array.from({ length: 10 }, () => "#").join(".");
    const topic = Array.from({ length: 30 }, () => "a").join(".");
    expect(topicMatches(`${hashes}.x`, topic)).toBe(false);
    expect(topicMatches(`${hashes}.a`, topic)).toBe(true);
    const interleaved = Array.from({ length: 8 }, () => "#.a").join(".");
    expect(topicMatches(`${interleaved}.x`, topic)).toBe(false);
    expect(performance.now() - started).toBeLessThan(1000);
  });
});
