import { afterEach, describe, expect, it } from "vitest";
import { InMemoryStore } from "../../store/memory/memory-store.js";
import { msg } from "../conformance/helpers.js";

const stores: InMemoryStore[] = [];
afterEach(async () => {
  await Promise.all(stores.splice(0).map((store) => store.close()));
});

/** Counts full walks of a private map of the store (its iterator is what a whole-map scan uses). */
function countWalks(store: object, field: string): () => number {
  const map = (store as Record<string, unknown>)[field];
  if (!(map instanceof Map)) throw new Error(`no map ${field}`);
  let walks = 0;
  const iterate = map[Symbol.iterator].bind(map);
  map[Symbol.iterator] = () => {
    walks++;
    return iterate();
  };
  return () => walks;
}

describe("memory store: per-operation cost does not grow with what it holds", () => {
  it("trace pruning is amortised: sends do not each walk every trace", async () => {
    const store = new InMemoryStore({ policy: { traceRetentionMs: 60_000 } });
    stores.push(store);
    // The memory store keeps its trace in a MemoryTrace (store/memory/memory-trace.ts).
    const walks = countWalks((store as unknown as { traceBackend: object }).traceBackend, "traces");
    for (let i = 0; i < 500; i++) await store.enqueue("worker", msg());
    // At most one prune per tenth of the retention, however many operations run.
    expect(walks()).toBeLessThanOrEqual(2);
    const [delivery] = await store.receive("worker");
    expect(await store.traceOf(delivery?.message.id ?? "")).toHaveLength(3);
  });

  it("a trace that expired is not answered, even before it is pruned", async () => {
    const store = new InMemoryStore({ policy: { traceRetentionMs: 1 } });
    stores.push(store);
    const message = msg();
    await store.enqueue("worker", message);
    const deadline = Date.now() + 1_000;
    while (Date.now() <= deadline && (await store.traceOf(message.id)).length > 0)
      await new Promise((resolve) => setImmediate(resolve));
    expect(await store.traceOf(message.id)).toEqual([]);
  });

  it("register and heartbeat do not read the whole registry", async () => {
    const store = new InMemoryStore();
    stores.push(store);
    for (let i = 0; i < 50; i++) await store.registerAgent({ name: `agent-${i}` });
    const walks = countWalks((store as unknown as { registryBackend: object }).registryBackend, "agents");
    for (let i = 0; i < 50; i++) {
      await store.registerAgent({ name: `agent-${i}` });
      await store.heartbeat(`agent-${i}`);
    }
    expect(walks()).toBe(0);
    expect(await store.listAgents()).toHaveLength(50);
  });
});
