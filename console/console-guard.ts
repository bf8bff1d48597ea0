import { createHmac, randomBytes } from "node:crypto";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { BmnError, UnauthenticatedError } from "../core/errors.js";
import { presentedToken, tokenMatcher } from "../runtime/http/secret-token.js";
import { isLoopback } from "./console-options.js";
import { SignInThrottle } from "./sign-in-throttle.js";

export const CSRF_HEADER = "x-bmn-csrf";
export const SESSION_COOKIE = "bmn-console-session";

/**
 * Everything a page may load comes from this origin; no inline script except the import map, whose hash the
 * policy names. No plugins, no framing, no form posts elsewhere.
 */
export function contentSecurityPolicy(importMapHash: string): string {
  return [
    "default-src 'none'",
    `script-src 'self' 'sha256-${importMapHash}'`,
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "font-src 'self'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join("; ");
}

/**
 * The console's safety rules, decided on the route the router matched:
 * - Host check while bound to loopback: a page of another site whose name resolves to 127.0.0.1 (DNS rebinding)
 *   is refused, so it can neither read nor act.
 * - With a console token, every /api route needs it: `Authorization: Bearer`, or the session cookie that
 *   POST /login sets (an HMAC of the token, HttpOnly, SameSite=Strict).
 * - CSRF: every /api call needs the per-process token that only the console's own page carries (a custom header,
 *   which no cross-site form, image or link can send), unless it presents the console token as a Bearer token.
 *   Reads too: a receive (GET .../messages) leases messages. Cross-site Origin or Sec-Fetch-Site headers on a
 *   change are refused outright.
 */
export class ConsoleGuard {
  readonly csrfToken = randomBytes(32).toString("base64url");
  private readonly matchesToken: ((presented: string | undefined) => boolean) | undefined;
  private readonly matchesSession: ((presented: string | undefined) => boolean) | undefined;
  readonly session: string | undefined;
  private readonly throttle = new SignInThrottle();

  constructor(
    private readonly options: { host: string; token?: string | undefined },
    private readonly port: () => number,
  ) {
    if (options.token !== undefined) {
      this.matchesToken = tokenMatcher(options.token);
      this.session = createHmac("sha256", options.token).update("bmn-console-session").digest("base64url");
      this.matchesSession = tokenMatcher(this.session);
    }
  }

  get needsLogin(): boolean {
    return this.options.token !== undefined;
  }

  install(app: FastifyInstance, policy: string): void {
    app.addHook("onRequest", (request, reply, done) => {
      void reply
        .header("content-security-policy", policy)
        .header("x-content-type-options", "nosniff")
        .header("referrer-policy", "no-referrer")
        .header("x-frame-options", "DENY")
        .header("cross-origin-opener-policy", "same-origin")
        .header("cross-origin-resource-policy", "same-origin")
        .header("cache-control", "no-store");
      try {
        this.check(request, reply);
        done();
      } catch (error) {
        done(error as Error);
      }
    });
  }

  /** True when the request carries the console token or a session made from it (or no token is configured). */
  isAuthenticated(request: FastifyRequest): boolean {
    if (this.matchesToken === undefined || this.matchesSession === undefined) return true;
    return (
      this.matchesToken(presentedToken(request.headers)) ||
      this.matchesSession(cookie(request.headers.cookie, SESSION_COOKIE))
    );
  }

  /** The sign-in form's check: throws TOO_MANY_ATTEMPTS (429) while the client has used up its tries. */
  checkToken(request: FastifyRequest, reply: FastifyReply, presented: string): boolean {
    this.throttled(request, reply);
    const matches = this.matchesToken?.(presented) ?? false;
    if (!matches) this.throttle.failed(request.ip);
    return matches;
  }

  private throttled(request: FastifyRequest, reply: FastifyReply): void {
    const wait = this.throttle.waitSeconds(request.ip);
    if (wait > 0) void reply.header("retry-after", String(wait));
    this.throttle.check(request.ip);
  }

  setSession(reply: FastifyReply): void {
    if (this.session === undefined) return;
    void reply.header(
      "set-cookie",
      `${SESSION_COOKIE}=${this.session}; HttpOnly; SameSite=Strict; Path=/; Max-Age=43200`,
    );
  }

  private check(request: FastifyRequest, reply: FastifyReply): void {
    if (isLoopback(this.options.host) && !this.isAllowedHost(request.headers.host))
      throw new BmnError(
        "FORBIDDEN",
        "the Host header names another site; open the console by its own address",
        {
          field: "host",
        },
      );
    const route = request.routeOptions.url;
    if (route === undefined) return; // only the 404 handler runs, which reveals nothing
    const mutating = request.method !== "GET" && request.method !== "HEAD";
    if (mutating) this.checkSameOrigin(request);
    if (!route.startsWith("/api/")) return;
    // Only a credential counts as a guess (a request without one is just not signed in), and while a client has
    // used up its tries even a right one waits: otherwise guessing would go on regardless of the answers.
    const presented =
      this.needsLogin &&
      (presentedToken(request.headers) !== undefined ||
        cookie(request.headers.cookie, SESSION_COOKIE) !== undefined);
    if (presented) this.throttled(request, reply);
    if (!this.isAuthenticated(request)) {
      if (presented) this.throttle.failed(request.ip);
      throw new UnauthenticatedError(
        "this console needs its token: sign in at /login, or send Authorization: Bearer",
      );
    }
    const scripted = this.matchesToken?.(presentedToken(request.headers)) === true;
    if (!scripted && request.headers[CSRF_HEADER] !== this.csrfToken)
      throw new BmnError("FORBIDDEN", `/api calls need the ${CSRF_HEADER} header of the console's own page`, {
        field: CSRF_HEADER,
      });
  }

  private checkSameOrigin(request: FastifyRequest): void {
    const site = request.headers["sec-fetch-site"];
    if (site !== undefined && site !== "same-origin" && site !== "none")
      throw new BmnError("FORBIDDEN", "cross-site requests cannot change anything", {
        field: "sec-fetch-site",
      });
    const origin = request.headers.origin;
    if (origin !== undefined && hostOf(origin) !== request.headers.host)
      throw new BmnError("FORBIDDEN", "cross-origin requests cannot change anything", { field: "origin" });
  }

  private isAllowedHost(host: string | undefined): boolean {
    if (host === undefined) return false;
    const port = this.port();
    return ["127.0.0.1", "localhost", "[::1]", this.options.host].some(
      (name) => host === `${name}:${port}` || (port === 80 && host === name),
    );
  }
}

/** The host of an Origin header; undefined for `null` and anything that is not a URL. */
function hostOf(origin: string): string | undefined {
  try {
    return new URL(origin).host;
  } catch {
    return undefined;
  }
}

function cookie(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? "").split(";")) {
    const [key, ...value] = part.trim().split("=");
    if (key === name) return value.join("=");
  }
  return undefined;
}
