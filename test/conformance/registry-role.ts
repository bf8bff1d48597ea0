import { describe } from "vitest";
import { describeRegistry } from "./registry.js";
import type { StoreFactory } from "./store-conformance.js";

/** The AgentRegistry role: register, heartbeat, deregister and list. */
export function describeRegistryRole(factory: StoreFactory): void {
  describe("role: registry", () => {
    describeRegistry(factory);
  });
}
