import type { FastifyInstance } from "fastify";

/**
 * An upgrade request answered over plain HTTP (401, 403, 404, 429...) arrives on a socket node has handed over
 * for the upgrade: nothing reads it or closes it after the answer, so each refused upgrade would hold a socket
 * (and block shutdown) forever. Its socket is closed once the answer is written.
 */
export function closeRefusedUpgrades(app: FastifyInstance): void {
  app.addHook("onResponse", (request, _reply, done) => {
    if (request.headers.upgrade !== undefined) request.raw.socket.destroy();
    done();
  });
}
