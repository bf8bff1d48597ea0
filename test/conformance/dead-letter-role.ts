import { describe } from "vitest";
import { describeDlq } from "./dlq.js";
import type { StoreFactory } from "./store-conformance.js";

/** The DeadLetterStore role: list (paged), get, replay and purge. */
export function describeDeadLetterRole(factory: StoreFactory): void {
  describe("role: dead letters", () => {
    describeDlq(factory);
  });
}
