import { z } from "zod";
import { DEAD_LETTER_REASONS } from "../dead-letter.js";

/** The inter-domain protocol, between gateways (see docs/gateways.md). */
export const BATCHES_PATH = "/v1/gateway/batches";
export const ROUTES_PATH = "/v1/gateway/routes";
/** Names the sending gateway's domain; checked with the Bearer token against the receiver's `peers[]`. */
export const SOURCE_DOMAIN_HEADER = "bmn-source-domain";

/** The request body: only its shape is checked here; each message is validated on its own (refused `invalid`). */
export const batchRequestSchema = z
  .object({ messages: z.array(z.unknown()).max(10_000, { error: "must hold at most 10000 messages" }) })
  .loose();

const batchResultSchema = z.object({
  id: z.string(),
  status: z.enum(["accepted", "duplicate", "refused"]),
  /** Why a message was refused: a dead-letter reason the sender records (`forbidden`, `unroutable`, ...). */
  reason: z.enum(DEAD_LETTER_REASONS).optional(),
  message: z.string().optional(),
});
export type BatchResult = z.infer<typeof batchResultSchema>;
export type BatchStatus = BatchResult["status"];

/** The answer to a batch: one result per message, in order, once every accepted message is durable. */
export const batchResponseSchema = z.object({ results: z.array(batchResultSchema) });
export type BatchResponse = z.infer<typeof batchResponseSchema>;

const advertisedRouteSchema = z.object({
  domain: z.string(),
  hops: z.number().int().min(0),
  /** Domains from the advertising gateway's own to the destination, both included. */
  path: z.array(z.string()),
});
export type AdvertisedRoute = z.infer<typeof advertisedRouteSchema>;

/** What a gateway advertises on `GET /v1/gateway/routes`. */
export const routesResponseSchema = z.object({ domain: z.string(), routes: z.array(advertisedRouteSchema) });
export type RoutesResponse = z.infer<typeof routesResponseSchema>;
