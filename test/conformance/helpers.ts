import { afterEach, expect } from "vitest";
import { createMessage, type Message } from "../../core/envelope.js";
import { BmnError, type ErrorCode } from "../../core/errors.js";
import type { Delivery, DeliveryPolicy, MessageStore } from "../../store/store.js";
import type { StoreFactory } from "./store-conformance.js";

/**
 * Registers an afterEach that closes every store the returned `open` created in the test.
 * Call it once at the top of a `describe` block.
 */
export function useStores(
  factory: StoreFactory,
): (policy?: Partial<DeliveryPolicy>) => Promise<MessageStore> {
  const open: MessageStore[] = [];
  afterEach(async () => {
    const stores = open.splice(0);
    await Promise.allSettled(stores.map((store) => store.close()));
  });
  return async (policy) => {
    const store = await factory.create(policy);
    open.push(store);
    return store;
  };
}

/** Policy values small enough that retries and expiry happen within a test. */
export const FAST: Partial<DeliveryPolicy> = { backoffBaseMs: 10, backoffMaxMs: 50 };

let counter = 0;

/** Builds a valid message through `createMessage`; `tag` lands in `data.tag` for readable assertions. */
export function msg(draft: Record<string, unknown> = {}): Message {
  counter++;
  return createMessage({ type: "test.conformance", data: { n: counter }, ...draft });
}

/** An RFC 3339 timestamp `offsetMs` from now. */
export function isoIn(offsetMs: number): string {
  return new Date(Date.now() + offsetMs).toISOString();
}

export function idsOf(deliveries: readonly Delivery[]): string[] {
  return deliveries.map((delivery) => delivery.message.id);
}

/**
 * Polls `probe` until it answers something other than `undefined`/`false`, or fails after `timeoutMs`.
 * The pause between polls (`pollMs`) only paces the loop; the condition is what the test waits for.
 */
export async function waitFor<T>(
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 3_000,
  what = "condition",
  pollMs = 5,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}

/** Waits until `store.ping()` answers again after its backend came back; stores reconnect by themselves. */
export async function untilPingable(store: Pick<MessageStore, "ping">, timeoutMs = 15_000): Promise<void> {
  await waitFor(
    async () => {
      try {
        await store.ping();
        return true;
      } catch {
        return false;
      }
    },
    timeoutMs,
    "the store to answer ping again",
  );
}

/**
 * Runs `action` and asserts it rejects (or throws) a BmnError with `code` and, if given, `field`.
 * `context` names the case in the failure message.
 */
export async function expectBmnError(
  action: () => Promise<unknown>,
  code: ErrorCode,
  field?: string,
  context?: string,
): Promise<BmnError> {
  const what = `${context === undefined ? "" : `${context}: `}expected ${code}${field === undefined ? "" : ` (field ${field})`}`;
  let caught: unknown;
  let resolved = false;
  try {
    await action();
    resolved = true;
  } catch (error) {
    caught = error;
  }
  expect(resolved, `${what} but the call succeeded`).toBe(false);
  expect(caught, `${what} but got ${String(caught)}`).toBeInstanceOf(BmnError);
  const error = caught as BmnError;
  expect({ code: error.code, ...(field === undefined ? {} : { field: error.field }) }, what).toEqual({
    code,
    ...(field === undefined ? {} : { field }),
  });
  return error;
}

/** Receives (without waiting) until the queue answers nothing, up to `limit` deliveries. */
export async function receiveAll(
  store: MessageStore,
  agent: string,
  options: { max?: number; limit?: number } = {},
): Promise<Delivery[]> {
  const all: Delivery[] = [];
  const limit = options.limit ?? 10_000;
  while (all.length < limit) {
    const batch = await store.receive(agent, { max: options.max ?? 100, waitMs: 0 });
    if (batch.length === 0) break;
    all.push(...batch);
  }
  return all;
}

/** Receives exactly one delivery, waiting up to `waitMs` for it. */
export async function receiveOne(
  store: MessageStore,
  agent: string,
  options: { waitMs?: number; leaseMs?: number; actor?: string } = {},
): Promise<Delivery> {
  const got = await store.receive(agent, {
    max: 1,
    waitMs: options.waitMs ?? 0,
    ...(options.leaseMs === undefined ? {} : { leaseMs: options.leaseMs }),
    ...(options.actor === undefined ? {} : { actor: options.actor }),
  });
  expect(got, `expected one delivery for ${agent}`).toHaveLength(1);
  const [delivery] = got;
  if (delivery === undefined) throw new Error(`expected one delivery for ${agent}`);
  return delivery;
}

/** Enqueues a message, receives it and dead-letters it with `nack({ deadLetter: true })`. */
export async function rejectOne(
  store: MessageStore,
  agent: string,
  message: Message = msg(),
): Promise<Message> {
  await store.enqueue(agent, message);
  const delivery = await receiveOne(store, agent);
  expect(delivery.message.id).toBe(message.id);
  const result = await store.nack(delivery.leaseId, { deadLetter: true, reason: "bad payload" });
  expect(result).toMatchObject({ outcome: "dead-lettered", reason: "rejected" });
  return message;
}

/** Asserts `actual` contains `expected` in order (other items may sit in between). */
export function expectSubsequence<T>(actual: readonly T[], expected: readonly T[]): void {
  let next = 0;
  for (const item of actual) {
    if (next < expected.length && item === expected[next]) next++;
  }
  expect(next, `expected ${JSON.stringify(expected)} in order within ${JSON.stringify(actual)}`).toBe(
    expected.length,
  );
}

/**
 * Waits for the wall clock to move past the current millisecond, so the next store event gets a later timestamp
 * than the last (a clock condition, not a fixed delay).
 */
export async function nextMillisecond(): Promise<void> {
  const now = Date.now();
  await waitFor(() => Date.now() > now, 1_000, "the clock to tick");
}

/** Milliseconds since `start`. */
export function since(start: number): number {
  return Date.now() - start;
}
