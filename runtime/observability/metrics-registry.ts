import { Registry, collectDefaultMetrics } from "prom-client";

/**
 * The Prometheus registry of one program instance (sidecar, gateway, operator): its own, never the global one, so
 * several can share a process (tests) and nothing else in the process leaks metrics into it. With
 * `processMetrics`, Node's process metrics (CPU, memory, event loop lag) are served under `prefix`.
 */
export function programRegistry(prefix: string, processMetrics: boolean): Registry {
  const registry = new Registry();
  if (processMetrics) collectDefaultMetrics({ register: registry, prefix });
  return registry;
}
