import { expect } from "vitest";
import type { MessageStore } from "../../store/store.js";
import type { ServerHandle } from "../harness/server-handle.js";
import { msg, receiveAll, untilPingable } from "./helpers.js";

/**
 * Accepted means durable, for a store on a real server: 200 messages and one held lease, a SIGKILL of the server and
 * a restart; then the lease can still be settled and every other message is delivered, none lost, none twice.
 */
export async function expectCrashRecovery(server: ServerHandle, store: MessageStore): Promise<void> {
  const sent: string[] = [];
  for (let i = 0; i < 200; i++) sent.push((await store.enqueue("worker", msg({ priority: i % 10 }))).id);
  const [held] = await store.receive("worker", { max: 1, leaseMs: 60_000 });
  expect(held).toBeDefined();

  await server.kill();
  await server.start();
  await untilPingable(store);

  // The lease taken before the crash is still held and can be settled.
  await store.ack(held?.leaseId ?? "");
  const rest = await receiveAll(store, "worker");
  const received = [held?.message.id, ...rest.map((delivery) => delivery.message.id)];
  expect(received).toHaveLength(200);
  expect(new Set(received)).toEqual(new Set(sent));
}
