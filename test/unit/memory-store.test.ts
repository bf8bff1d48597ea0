import { InMemoryStore } from "../../store/memory/memory-store.js";
import { describeStoreConformance } from "../conformance/store-conformance.js";

describeStoreConformance("memory", {
  create: (policy) => Promise.resolve(new InMemoryStore({ policy: policy ?? {} })),
});
