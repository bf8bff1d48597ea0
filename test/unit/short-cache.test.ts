import { describe, expect, it } from "vitest";
import { ShortCache } from "../../sidecar/a2a/short-cache.js";

describe("the short cache of an open route's costly work", () => {
  it("shares one call in flight among concurrent askers, and keeps its answer for the TTL", async () => {
    let now = 0;
    let calls = 0;
    const cache = new ShortCache<string, number>(1_000, 10, () => now);
    const load = async (): Promise<number> => {
      calls++;
      await Promise.resolve();
      return calls;
    };
    const answers = await Promise.all([cache.get("a", load), cache.get("a", load), cache.get("a", load)]);
    expect(answers).toEqual([1, 1, 1]);
    now = 999;
    expect(await cache.get("a", load)).toBe(1);
    now = 2_000;
    expect(await cache.get("a", load)).toBe(2);
  });

  it("with no TTL only shares the call in flight; a failure is not kept", async () => {
    let calls = 0;
    const cache = new ShortCache<string, number>(0, 10);
    const load = async (): Promise<number> => {
      calls++;
      await Promise.resolve();
      return calls;
    };
    expect(await Promise.all([cache.get("k", load), cache.get("k", load)])).toEqual([1, 1]);
    expect(await cache.get("k", load)).toBe(2);
    const failing = new ShortCache<string, number>(60_000, 10);
    await expect(failing.get("k", () => Promise.reject(new Error("down")))).rejects.toThrow("down");
    expect(await failing.get("k", () => Promise.resolve(7))).toBe(7);
  });

  it("holds at most its number of keys", async () => {
    const cache = new ShortCache<number, number>(60_000, 2);
    for (const key of [1, 2, 3]) await cache.get(key, () => Promise.resolve(key));
    let reloaded = false;
    await cache.get(1, () => {
      reloaded = true;
      return Promise.resolve(1);
    });
    expect(reloaded).toBe(true);
  });
});
