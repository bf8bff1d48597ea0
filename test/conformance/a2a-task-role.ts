import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { a2aTasksOf, type A2aTaskStore } from "../../store/roles/a2a-tasks.js";
import { until } from "../harness/poll-until.js";
import { useStores } from "./helpers.js";
import type { StoreFactory } from "./store-conformance.js";

const DAY = 86_400_000;

const append = (expectedSeq: number, eventId: string, maxEvents = 100) => ({
  expectedSeq,
  eventId,
  eventJson: JSON.stringify({ eventId }),
  taskJson: JSON.stringify({ last: eventId }),
  retentionMs: DAY,
  maxEvents,
});

/** The A2A task role: tasks with an append-only event log (compare and set), and push configs. */
export function describeA2aTaskRole(factory: StoreFactory): void {
  describe("role: a2a tasks", () => {
    const open = useStores(factory);
    const tasks = async (): Promise<A2aTaskStore> => {
      const role = a2aTasksOf(await open());
      if (role === undefined) throw new Error("the store has no A2A task role");
      return role;
    };

    it("creates a task once and reads it back at seq 0", async () => {
      const role = await tasks();
      const id = randomUUID();
      expect(await role.createTask(id, '{"v":1}', DAY)).toBe(true);
      expect(await role.createTask(id, '{"v":2}', DAY)).toBe(false);
      expect(await role.readTask(id)).toEqual({ json: '{"v":1}', seq: 0 });
      expect(await role.readTask(randomUUID())).toBeUndefined();
    });

    it("appends in seq order, refuses a stale seq, counts a repeated event id once", async () => {
      const role = await tasks();
      const id = randomUUID();
      await role.createTask(id, "{}", DAY);
      expect(await role.appendTaskEvent(id, append(0, "a"))).toEqual({ outcome: "appended", seq: 1 });
      expect(await role.appendTaskEvent(id, append(0, "b"))).toEqual({ outcome: "conflict" });
      expect(await role.appendTaskEvent(id, append(1, "b"))).toEqual({ outcome: "appended", seq: 2 });
      expect(await role.appendTaskEvent(id, append(2, "a"))).toEqual({ outcome: "duplicate", seq: 1 });
      expect(await role.readTask(id)).toEqual({ json: '{"last":"b"}', seq: 2 });
      expect(await role.readTaskEvents(id, 0, 10)).toEqual([
        { seq: 1, json: '{"eventId":"a"}' },
        { seq: 2, json: '{"eventId":"b"}' },
      ]);
      expect(await role.readTaskEvents(id, 1, 10)).toEqual([{ seq: 2, json: '{"eventId":"b"}' }]);
      expect(await role.readTaskEvents(id, 0, 1)).toHaveLength(1);
      expect(await role.readTaskEvents(id, 2, 10)).toEqual([]);
    });

    it("answers full at maxEvents and missing for an unknown task", async () => {
      const role = await tasks();
      const id = randomUUID();
      await role.createTask(id, "{}", DAY);
      expect(await role.appendTaskEvent(id, append(0, "a", 1))).toMatchObject({ outcome: "appended" });
      expect(await role.appendTaskEvent(id, append(1, "b", 1))).toEqual({ outcome: "full" });
      expect(await role.appendTaskEvent(randomUUID(), append(0, "a"))).toEqual({ outcome: "missing" });
    });

    it("loses no event and doubles none under concurrent compare-and-set writers", async () => {
      const role = await tasks();
      const id = randomUUID();
      await role.createTask(id, "{}", DAY);
      const writers = 4;
      const perWriter = 10;
      await Promise.all(
        Array.from({ length: writers }, async (_, writer) => {
          for (let n = 0; n < perWriter; n++) {
            const eventId = `w${writer}-${n}`;
            for (;;) {
              const current = await role.readTask(id);
              const result = await role.appendTaskEvent(id, append(current?.seq ?? 0, eventId));
              if (result.outcome !== "conflict") break;
            }
          }
        }),
      );
      const events = await role.readTaskEvents(id, 0, 1_000);
      expect(events.map((event) => event.seq)).toEqual(
        Array.from({ length: writers * perWriter }, (_, index) => index + 1),
      );
      expect(new Set(events.map((event) => event.json)).size).toBe(writers * perWriter);
    });

    it("stores, lists, replaces and deletes push configs, at most max per task", async () => {
      const role = await tasks();
      const id = randomUUID();
      await role.createTask(id, "{}", DAY);
      expect(await role.putPushConfig(id, "one", '{"n":1}', 2)).toBe("stored");
      expect(await role.putPushConfig(id, "two", '{"n":2}', 2)).toBe("stored");
      expect(await role.putPushConfig(id, "three", '{"n":3}', 2)).toBe("full");
      expect(await role.putPushConfig(id, "one", '{"n":11}', 2)).toBe("stored");
      expect(await role.readPushConfig(id, "one")).toBe('{"n":11}');
      expect((await role.listPushConfigs(id)).sort()).toEqual(['{"n":11}', '{"n":2}']);
      expect(await role.deletePushConfig(id, "one")).toBe(true);
      expect(await role.deletePushConfig(id, "one")).toBe(false);
      expect(await role.readPushConfig(id, "one")).toBeUndefined();
      expect(await role.putPushConfig(randomUUID(), "x", "{}", 2)).toBe("full");
    });

    it("links a task to its remote task once, keeping the first link through later writes", async () => {
      const role = await tasks();
      const id = randomUUID();
      await role.createTask(id, "{}", DAY);
      expect(await role.readRemoteLink(id)).toBeUndefined();
      expect(await role.linkRemoteTask(id, '{"remote":"r1"}')).toBe('{"remote":"r1"}');
      // A second writer (a retried bridge call, another sidecar) gets the first link back.
      expect(await role.linkRemoteTask(id, '{"remote":"r2"}')).toBe('{"remote":"r1"}');
      expect(await role.appendTaskEvent(id, append(0, "a"))).toMatchObject({ outcome: "appended" });
      expect(await role.readRemoteLink(id)).toBe('{"remote":"r1"}');
      expect(await role.readTask(id)).toEqual({ json: '{"last":"a"}', seq: 1 });
      expect(await role.linkRemoteTask(randomUUID(), '{"remote":"r3"}')).toBeUndefined();
      expect(await role.readRemoteLink(randomUUID())).toBeUndefined();
    });

    it("forgets a task after its retention, with its remote link", async () => {
      const role = await tasks();
      const id = randomUUID();
      await role.createTask(id, "{}", 300);
      expect(await role.linkRemoteTask(id, '{"remote":"r1"}')).toBe('{"remote":"r1"}');
      expect(await role.readTask(id)).toBeDefined();
      await until(async () => (await role.readTask(id)) === undefined, 10_000, "the task to expire");
      expect(await role.readRemoteLink(id)).toBeUndefined();
      expect(await role.createTask(id, "{}", DAY)).toBe(true);
      expect(await role.readRemoteLink(id)).toBeUndefined();
    });
  });
}
