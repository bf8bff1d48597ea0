import Fastify, { LogController, type FastifyInstance, type FastifyServerOptions } from "fastify";
import { installErrorHandling } from "../runtime/http/http-errors.js";
import { protocolErrorOptions } from "../runtime/http/protocol-errors.js";
import { limitedServerFactory } from "../runtime/http/server-limits.js";
import { ConsoleAssets } from "./console-assets.js";
import { ConsoleGuard, contentSecurityPolicy } from "./console-guard.js";
import { consoleOptionsSchema, type ConsoleOptionsInput } from "./console-options.js";
import { forwardSidecarApi } from "./sidecar-forwarder.js";

/** Bodies the console forwards: the sidecar's own default message limit, and a login form. */
const MAX_BODY_BYTES = 1_048_576;

export interface BuildConsoleOptions {
  options: ConsoleOptionsInput;
  logger?: FastifyServerOptions["logger"];
  /** The port the server ends up listening on (for the Host check when it listens on port 0). */
  listeningPort?: () => number;
}

/** The console as a fastify instance, not yet listening: its pages, its assets and /api (the sidecar's API). */
export async function buildConsoleServer(build: BuildConsoleOptions): Promise<FastifyInstance> {
  const options = consoleOptionsSchema.parse(build.options);
  const app = Fastify({
    logger: build.logger ?? { level: "info" },
    bodyLimit: MAX_BODY_BYTES,
    serverFactory: limitedServerFactory(options.limits),
    logController: new LogController({ disableRequestLogging: true }),
    ...protocolErrorOptions,
  });
  const assets = new ConsoleAssets();
  const guard = new ConsoleGuard(options, build.listeningPort ?? (() => options.port));
  installErrorHandling(app, () => 1);
  guard.install(app, contentSecurityPolicy(assets.importMapHash));

  // Bodies are forwarded as the bytes that came; the sidecar parses and validates them.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", { parseAs: "buffer" }, (_request, body, done) => {
    done(null, body);
  });

  const page = guard.needsLogin
    ? (authenticated: boolean, html: string) => (authenticated ? html : undefined)
    : (_authenticated: boolean, html: string) => html;
  app.get("/", async (request, reply) => {
    const html = page(guard.isAuthenticated(request), assets.indexHtml(guard.csrfToken, options.traceUrl));
    if (html === undefined) return reply.redirect("/login", 303);
    return reply.type("text/html; charset=utf-8").send(html);
  });
  app.get("/login", async (_request, reply) =>
    reply.type("text/html; charset=utf-8").send(assets.loginHtml(false)),
  );
  app.post("/login", async (request, reply) => {
    const form = new URLSearchParams(request.body instanceof Buffer ? request.body.toString("utf8") : "");
    if (!guard.checkToken(request, reply, form.get("token") ?? ""))
      return reply.status(401).type("text/html; charset=utf-8").send(assets.loginHtml(true));
    guard.setSession(reply);
    return reply.redirect("/", 303);
  });
  // Browsers ask for it unprompted; there is none.
  app.get("/favicon.ico", async (_request, reply) => reply.status(204).send());
  for (const [path, asset] of assets.files) {
    app.get(path, async (_request, reply) =>
      reply.header("cache-control", "no-cache").type(asset.type).send(asset.body),
    );
  }
  forwardSidecarApi(app, {
    sidecarUrl: options.sidecarUrl,
    sidecarToken: options.sidecarToken,
    timeoutMs: options.sidecarTimeoutMs,
  });
  return app;
}
