import { describe } from "vitest";
import { describePublish } from "./publish.js";
import type { StoreFactory } from "./store-conformance.js";

/** The TopicStore role: subscribe, unsubscribe, listSubscriptions and publish. */
export function describeTopicRole(factory: StoreFactory): void {
  describe("role: topics", () => {
    describePublish(factory);
  });
}
