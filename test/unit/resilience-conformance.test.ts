import { ResilientStore } from "../../store/resilient-store.js";
import { InMemoryStore } from "../../store/memory/memory-store.js";
import { describeStoreConformance } from "../conformance/store-conformance.js";

// The wrapper must be transparent while the backend is healthy: it passes the same suite as what it wraps.
describeStoreConformance("resilient(memory)", {
  create: (policy) => Promise.resolve(new ResilientStore(new InMemoryStore({ policy: policy ?? {} }))),
});
