import type { Server } from "node:https";
import type { AddressInfo } from "node:net";

/** Listens on `host:port` (0 picks one) and resolves with the port, or rejects with the listen error. */
export async function listenOn(server: Server, port: number, host: string): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, resolve);
  });
  return (server.address() as AddressInfo).port;
}

/** Stops accepting and drops open connections (keep-alive ones from the apiserver too); resolves when closed. */
export function closeNow(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => {
      resolve();
    });
    server.closeAllConnections();
  });
}
