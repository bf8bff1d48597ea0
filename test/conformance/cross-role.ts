import { describe } from "vitest";
import { describeBadInput } from "./bad-input.js";
import { describeConcurrency } from "./concurrency.js";
import type { StoreFactory } from "./store-conformance.js";

/** What every role shares: typed validation errors for bad input, and competing consumers. */
export function describeAcrossRoles(factory: StoreFactory): void {
  describe("across roles", () => {
    describeBadInput(factory);
    describeConcurrency(factory);
  });
}
