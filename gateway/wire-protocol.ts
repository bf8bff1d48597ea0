import { z } from "zod";
import type { DeadLetterReason } from "../core/dead-letter.js";

/** The inter-domain protocol, between gateways (see docs/gateways.md). */
export const BATCHES_PATH = "/v1/gateway/batches";
export const ROUTES_PATH = "/v1/gateway/routes";
/** Names the sending gateway's domain; checked with the Bearer token against the receiver's `peers[]`. */
export const SOURCE_DOMAIN_HEADER = "bmn-source-domain";

export type BatchStatus = "accepted" | "duplicate" | "refused";

export interface BatchResult {
  id: string;
  status: BatchStatus;
  /** Why a message was refused: a dead-letter reason the sender records (`forbidden`, `unroutable`, ...). */
  reason?: DeadLetterReason;
  message?: string;
}

export interface BatchResponse {
  results: BatchResult[];
}

/** What a gateway advertises on `GET /v1/gateway/routes`. */
export interface AdvertisedRoute {
  domain: string;
  hops: number;
  /** Domains from the advertising gateway's own to the destination, both included. */
  path: string[];
}

export interface RoutesResponse {
  domain: string;
  routes: AdvertisedRoute[];
}

const resultSchema = z.object({
  id: z.string(),
  status: z.enum(["accepted", "duplicate", "refused"]),
  reason: z
    .enum(["max-attempts", "expired", "rejected", "unroutable", "forbidden", "too-large", "invalid"])
    .optional(),
  message: z.string().optional(),
});

export const batchResponseSchema = z.object({ results: z.array(resultSchema) });

export const routesResponseSchema = z.object({
  domain: z.string(),
  routes: z.array(
    z.object({
      domain: z.string(),
      hops: z.number().int().min(0),
      path: z.array(z.string()),
    }),
  ),
});

/** The request body: only its shape is checked here; each message is validated on its own (refused `invalid`). */
export const batchRequestSchema = z
  .object({ messages: z.array(z.unknown()).max(10_000, { error: "must hold at most 10000 messages" }) })
  .loose();
