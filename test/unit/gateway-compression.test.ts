import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { decodeBody, encodeBody } from "../../gateway/compression.js";

/** A batch like agents send: ids, trace context, addresses, types and some prose in `data`. */
export function agentLikeBatch(count: number): Buffer {
  const words =
    "the agent reviewed pull request and found issues in module parser tests need update refactor function return value error handling retry backoff queue message".split(
      " ",
    );
  let seed = 7;
  const next = (): number => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
  const text = (n: number) =>
    Array.from({ length: n }, () => words[Math.floor(next() * words.length)]).join(" ");
  const types = ["review.requested", "task.assigned", "status_update", "tool.call", "tool.result"];
  const messages = Array.from({ length: count }, (_, i) => ({
    specversion: "1.0",
    id: randomUUID(),
    source: `bmn://team-a/agent-${i % 7}`,
    type: types[i % types.length],
    time: new Date(1_700_000_000_000 + i).toISOString(),
    to: `worker-${i % 5}@team-b`,
    from: "planner@team-a",
    traceparent: `00-${randomUUID().replaceAll("-", "")}-${randomUUID().replaceAll("-", "").slice(0, 16)}-01`,
    correlationid: randomUUID(),
    bmnvia: "team-a",
    data: { task: text(20), pr: i, files: ["src/a.ts", "src/b.ts"], summary: text(40), confidence: next() },
  }));
  return Buffer.from(JSON.stringify({ messages }));
}

describe("batch compression", () => {
  it.each(["gzip", "brotli"] as const)(
    "round-trips %s and leaves small bodies uncompressed",
    async (algorithm) => {
      const raw = agentLikeBatch(64);
      const encoded = await encodeBody(raw, algorithm, 1_024);
      expect(encoded.encoding).toBe(algorithm === "gzip" ? "gzip" : "br");
      expect((await decodeBody(encoded.body, encoded.encoding, 10 * raw.length)).equals(raw)).toBe(true);
      const small = await encodeBody(Buffer.from("{}"), algorithm, 1_024);
      expect(small.encoding).toBeUndefined();
    },
  );

  it("compresses an agent-like batch to at most 30 % of its JSON with either algorithm", async () => {
    const raw = agentLikeBatch(256);
    for (const algorithm of ["gzip", "brotli"] as const) {
      const { body } = await encodeBody(raw, algorithm, 0);
      expect(body.length / raw.length).toBeLessThan(0.3);
    }
  });

  it("refuses to inflate past the cap (a zip bomb) and unknown encodings", async () => {
    const bomb = await encodeBody(Buffer.alloc(1_000_000), "gzip", 0);
    await expect(decodeBody(bomb.body, "gzip", 10_000)).rejects.toMatchObject({ code: "TOO_LARGE" });
    const brBomb = await encodeBody(Buffer.alloc(1_000_000), "brotli", 0);
    await expect(decodeBody(brBomb.body, "br", 10_000)).rejects.toMatchObject({ code: "TOO_LARGE" });
    await expect(decodeBody(Buffer.from("x"), "zstd", 10)).rejects.toMatchObject({
      code: "UNSUPPORTED_MEDIA_TYPE",
    });
    await expect(decodeBody(Buffer.from("not gzip"), "gzip", 100)).rejects.toMatchObject({
      code: "INVALID_ARGUMENT",
    });
    await expect(decodeBody(Buffer.alloc(200), undefined, 100)).rejects.toMatchObject({ code: "TOO_LARGE" });
  });
});
