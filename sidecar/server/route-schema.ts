import type { z } from "zod";
import type { ApiRoute } from "../../core/api/sidecar-api.js";

type BodyResponses<R extends Record<number, z.ZodType>> = {
  [S in keyof R as R[S] extends z.ZodNull ? never : S]: R[S];
};

/** The fastify `schema` of a contract route: its request parts, and the answers that have a JSON body. */
export function schemaOf<const R extends ApiRoute>(
  route: R,
): Pick<R, "params" | "querystring" | "body"> & { response: BodyResponses<R["responses"]> } {
  const response = Object.fromEntries(
    Object.entries(route.responses).filter(([, schema]) => schema.def.type !== "null"),
  );
  return {
    ...(route.params === undefined ? {} : { params: route.params }),
    ...(route.querystring === undefined ? {} : { querystring: route.querystring }),
    ...(route.body === undefined ? {} : { body: route.body }),
    response,
  } as Pick<R, "params" | "querystring" | "body"> & { response: BodyResponses<R["responses"]> };
}
