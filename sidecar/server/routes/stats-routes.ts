import type { FastifyInstance } from "fastify";
import { sidecarApi } from "../../../core/api/sidecar-api.js";
import { NotFoundError } from "../../../core/errors.js";
import type { SqlAnalytics } from "../../../store/sql/analytics/sql-analytics.js";
import type { MessageStore } from "../../../store/store.js";
import { analyticsOf } from "../../../store/roles/analytics.js";
import type { RouteContext } from "../route-context.js";
import { schemaOf } from "../route-schema.js";
import type { ZodTypeProvider } from "../zod-type-provider.js";

function requireAnalytics(store: MessageStore): SqlAnalytics {
  const analytics = analyticsOf(store);
  if (analytics === undefined) {
    throw new NotFoundError(
      `analytics need the sql store (store.type: sql, MariaDB or TiDB); this sidecar runs the ${store.kind} store`,
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
