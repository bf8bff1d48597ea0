import type { FastifyInstance, FastifyServerOptions } from "fastify";
import { buildConsoleServer } from "./console-server.js";
import { consoleOptionsSchema, type ConsoleOptionsInput } from "./console-options.js";

export interface RunningConsole {
  url: string;
  server: FastifyInstance;
  close(): Promise<void>;
}

/** Builds the console and listens: what `bmn console` runs. */
export async function startConsole(
  input: ConsoleOptionsInput,
  logger?: FastifyServerOptions["logger"],
): Promise<RunningConsole> {
  const options = consoleOptionsSchema.parse(input);
  // The Host check needs the port actually bound (port 0 picks one), known only once listening.
  const bound = { server: undefined as FastifyInstance | undefined };
  const port = (): number => {
    const address = bound.server?.server.address();
    return typeof address === "object" && address !== null ? address.port : options.port;
  };
  const server = await buildConsoleServer({
    options,
    listeningPort: port,
    ...(logger === undefined ? {} : { logger }),
  });
  bound.server = server;
  await server.listen({ host: options.host, port: options.port });
  const host = options.host.includes(":") ? `[${options.host}]` : options.host;
  return {
    url: `http://${host}:${String(port())}`,
    server,
    close: () => server.close(),
  };
}
