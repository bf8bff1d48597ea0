import { isIP } from "node:net";
import { z } from "zod";
import { GATEWAY_TOKEN_PATTERN, GATEWAY_TOKEN_RULE, httpServerLimitsSchema } from "../core/config.js";

export const DEFAULT_CONSOLE_HOST = "127.0.0.1";
export const DEFAULT_CONSOLE_PORT = 7430;

const token = z.string().regex(GATEWAY_TOKEN_PATTERN, { error: GATEWAY_TOKEN_RULE });

/** What `bmn console` runs with; every field is checked here, so a bad flag fails at start with its name. */
export const consoleOptionsSchema = z
  .object({
    host: z.string().min(1).default(DEFAULT_CONSOLE_HOST),
    port: z.number().int().min(0).max(65_535).default(DEFAULT_CONSOLE_PORT),
    /** The sidecar whose HTTP API the console uses: the same API as the CLI and the client. */
    sidecarUrl: z
      .string()
      .regex(/^https?:\/\/[^\s/?#]+\/?$/, { error: "must be an http(s) URL of a sidecar, without a path" })
      .default("http://127.0.0.1:7420"),
    /** Sent to the sidecar as its API token (server.apiToken), never to the browser. */
    sidecarToken: token.optional(),
    /** The console's own token: needed by every /api call when set; required when not bound to loopback. */
    token: token.optional(),
    /** A link to a trace viewer (Jaeger, Tempo, ...) with `{traceId}` where the OpenTelemetry trace id goes. */
    traceUrl: z
      .string()
      .regex(/^https?:\/\/[^\s"<>]*\{traceId\}[^\s"<>]*$/, {
        error: "must be an http(s) URL with {traceId} in it, e.g. http://jaeger:16686/trace/{traceId}",
      })
      .optional(),
    /** Milliseconds the console waits for the sidecar before answering 504. */
    sidecarTimeoutMs: z.number().int().min(100).max(120_000).default(35_000),
    limits: httpServerLimitsSchema.prefault({}),
  })
  .strict()
  .superRefine((options, context) => {
    if (!isLoopback(options.host) && options.token === undefined)
      context.addIssue({
        code: "custom",
        path: ["token"],
        message: `the console listens on ${options.host}, beyond this machine: set a console token (--token-file or BMN_CONSOLE_TOKEN)`,
      });
  });

export type ConsoleOptionsInput = z.input<typeof consoleOptionsSchema>;
export type ConsoleOptions = z.output<typeof consoleOptionsSchema>;

/** Loopback only: 127.0.0.0/8, ::1 and the name localhost. */
export function isLoopback(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, "");
  if (bare === "localhost") return true;
  if (isIP(bare) === 4) return bare.startsWith("127.");
  return bare === "::1";
}
