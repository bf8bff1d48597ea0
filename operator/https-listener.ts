import type { Server } from "node:https";
import type { AddressInfo, Socket } from "node:net";

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

/** Connections the whole listener holds at most, and one client address by default. */
const MAX_CONNECTIONS = 256;
const DEFAULT_CONNECTIONS_PER_ADDRESS = 32;

/**
 * Caps the connections of a listener the apiserver calls, in total and per client address. Anyone who can reach
 * the pod can open TCP connections before presenting a certificate: without a cap per address one client could
 * take every slot and shut the apiserver out (with a handshake timeout, so idle sockets do not hold slots long).
 */
export function limitConnections(server: Server, perAddress = DEFAULT_CONNECTIONS_PER_ADDRESS): void {
  server.maxConnections = MAX_CONNECTIONS;
  const open = new Map<string, number>();
  server.on("connection", (socket: Socket) => {
    const address = socket.remoteAddress ?? "";
    const count = (open.get(address) ?? 0) + 1;
    if (count > perAddress) {
      socket.destroy();
      return;
    }
    open.set(address, count);
    socket.once("close", () => {
      const left = (open.get(address) ?? 1) - 1;
      if (left === 0) open.delete(address);
      else open.set(address, left);
    });
  });
}
