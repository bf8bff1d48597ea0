import type { Container, EnvVar } from "../k8s-types.js";

/**
 * The share of a container's memory limit given to V8's old space. The rest is for the young generation, code
 * and native memory: a sidecar is about 100 MB of RSS before its heap grows (docs/benchmarks.md).
 */
const OLD_SPACE_SHARE = 0.4;
const MIN_OLD_SPACE_MIB = 32;
const MIB = 2 ** 20;

const BINARY: Record<string, number> = {
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};
const DECIMAL: Record<string, number> = {
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
};
const QUANTITY = /^([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)([KMGTPE]i|[numkMGTPE])?$/;

/** A Kubernetes quantity (`256Mi`, `1G`, `5e8`, a number of bytes) in bytes, or undefined when it is none. */
export function quantityBytes(quantity: string | number): number | undefined {
  if (typeof quantity === "number") return Number.isFinite(quantity) ? quantity : undefined;
  const match = QUANTITY.exec(quantity.trim());
  if (match === null) return undefined;
  const [, amount = "", suffix = ""] = match;
  const scale = suffix === "" ? 1 : (BINARY[suffix] ?? DECIMAL[suffix]);
  return scale === undefined ? undefined : Number(amount) * scale;
}

/**
 * `NODE_OPTIONS` sizing V8's old space to the container's memory limit. Otherwise V8 sizes it from the memory Node
 * detects (the machine's, or the cgroup's when libuv reads it) with V8's own minimums, and lets garbage pile up to
 * that size before it collects: on a 24 GiB machine a busy sidecar held 127 MB of heap, against 34 MB with the
 * old space set (docs/benchmarks.md). Set from the limit, the heap is collected before it outgrows the container.
 * Nothing without a memory limit.
 */
export function nodeHeapEnv(resources: Container["resources"]): EnvVar[] {
  const mib = oldSpaceMib(resources);
  return mib === undefined ? [] : [{ name: "NODE_OPTIONS", value: `--max-old-space-size=${String(mib)}` }];
}

/** The old space (MiB) `nodeHeapEnv` gives a container with these resources; undefined without a memory limit. */
export function oldSpaceMib(resources: Container["resources"]): number | undefined {
  const limit = resources?.limits?.memory;
  const bytes = limit === undefined ? undefined : quantityBytes(limit);
  if (bytes === undefined || bytes <= 0) return undefined;
  return Math.max(MIN_OLD_SPACE_MIB, Math.floor((bytes * OLD_SPACE_SHARE) / MIB));
}

/** The container with `nodeHeapEnv` added, unless its env already sets NODE_OPTIONS (the user's word wins). */
export function withNodeHeap(container: Container): Container {
  if (container.env?.some((variable) => variable.name === "NODE_OPTIONS") === true) return container;
  const heap = nodeHeapEnv(container.resources);
  return heap.length === 0 ? container : { ...container, env: [...(container.env ?? []), ...heap] };
}
