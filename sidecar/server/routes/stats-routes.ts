import type { FastifyInstance } from "fastify";
import { sidecarApi } from "../../../core/api/sidecar-api.js";
import { NotFoundError } from "../../../core/errors.js";
import type { SqlAnalytics } from "../../../store/sql/analytics/sql-analytics.js";
import type { MessageStore } from "../../../store/store.js";
import type { RouteContext } from "../route-context.js";
import { schemaOf } from "../route-schema.js";
import type { ZodTypeProvider } from "../zod-type-provider.js";

/** The SQL analytics of the store, looking through wrappers (`ResilientStore.inner`); undefined on other stores. */
export function analyticsOf(store: MessageStore): SqlAnalytics | undefined {
  let current: unknown = store;
  for (let depth = 0; depth < 8 && typeof current === "object" && current !== null; depth++) {
    const candidate = current as { kind?: unknown; analytics?: unknown; inner?: unknown };
    if (candidate.kind === "tidb" && typeof candidate.analytics === "function") {
      return (candidate.analytics as () => SqlAnalytics).call(current);
    }
    current = candidate.inner;
  }
  return undefined;
}

function requireAnalytics(store: MessageStore): SqlAnalytics {
  const analytics = analyticsOf(store);
  if (analytics === undefined) {
    throw new NotFoundError(
      `analytics need the tidb store (store.type: tidb, MariaDB or TiDB); this sidecar runs the ${store.kind} store`,
      { field: "store.type" },
    );
  }
  return analytics;
}

/** Read-only SQL analytics: `GET /v1/stats` (what is available) and `GET /v1/stats/:query` (a named query). */
export function statsRoutes({ store, config }: RouteContext) {
  return function plugin(instance: FastifyInstance, _options: unknown, done: () => void): void {
    const app = instance.withTypeProvider<ZodTypeProvider>();
    app.get(sidecarApi.analyticsInfo.url, { schema: schemaOf(sidecarApi.analyticsInfo) }, async () => ({
      domain: config.domain,
      ...(await requireAnalytics(store).info()),
    }));

    app.get(sidecarApi.analytics.url, { schema: schemaOf(sidecarApi.analytics) }, async (request) => {
      const result = await requireAnalytics(store).run(request.params.query, request.query);
      const rows: object[] = result.rows;
      return { domain: config.domain, ...result, rows: rows.map((row) => ({ ...row })) };
    });
    done();
  };
}
