import { z } from "zod";

export const healthResponseSchema = z.object({ status: z.literal("ok") });
export const readyResponseSchema = z.object({ status: z.literal("ready"), store: z.string() });
export const infoResponseSchema = z.object({
  domain: z.string(),
  store: z.string(),
  durable: z.boolean(),
  version: z.string(),
});
export type HealthBody = z.infer<typeof healthResponseSchema>;
export type ReadyBody = z.infer<typeof readyResponseSchema>;
export type InfoBody = z.infer<typeof infoResponseSchema>;
