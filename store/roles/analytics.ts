import type { SqlAnalytics } from "../sql/analytics/sql-analytics.js";

/** Read-only analytics over the stored history: a role only the SQL backend has. */
export interface AnalyticsStore {
  analytics(): SqlAnalytics;
}

/** True when `store` itself has the analytics role. */
export function hasAnalytics(store: unknown): store is AnalyticsStore {
  return (
    typeof store === "object" &&
    store !== null &&
    typeof (store as Partial<AnalyticsStore>).analytics === "function"
  );
}

/** The analytics of `store`, looking through wrappers that keep the wrapped store as `inner` (ResilientStore). */
export function analyticsOf(store: unknown): SqlAnalytics | undefined {
  let current = store;
  for (let depth = 0; depth < 8 && typeof current === "object" && current !== null; depth++) {
    if (hasAnalytics(current)) return current.analytics();
    current = (current as { inner?: unknown }).inner;
  }
  return undefined;
}
