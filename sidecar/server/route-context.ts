import type { SidecarConfig } from "../../core/config.js";
import type { SidecarMetrics } from "../sidecar-metrics.js";
import type { Router } from "../routing/router.js";
import type { MessageStore } from "../../store/store.js";
import type { LeaseLedger } from "./lease-ledger.js";

/** What every route plugin is handed. */
export interface RouteContext {
  store: MessageStore;
  router: Router;
  metrics: SidecarMetrics;
  config: SidecarConfig;
  /** Aborted when the server starts closing: long-polls answer at once instead of holding shutdown up. */
  shutdown: AbortSignal;
  /** Leases handed out over HTTP and not yet settled: given back when the sidecar shuts down. */
  leases: LeaseLedger;
}
