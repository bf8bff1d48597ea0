import { connect, type Socket } from "node:net";

/** A TCP connection that records what it receives and whether the peer has closed it. */
export interface RawSocket {
  socket: Socket;
  received: () => string;
  isClosed: () => boolean;
}

/** Connects to `url`'s host and port and writes `initial` (e.g. a partial request) once connected. */
export async function openRawSocket(url: string, initial = ""): Promise<RawSocket> {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname);
  let data = "";
  let closed = false;
  socket.setEncoding("utf8");
  socket.on("data", (chunk: string) => (data += chunk));
  socket.on("close", () => (closed = true));
  socket.on("error", () => (closed = true));
  await new Promise<void>((resolve) => {
    socket.once("connect", resolve);
    socket.once("close", () => {
      resolve();
    });
  });
  if (initial !== "" && !socket.destroyed) socket.write(initial);
  return { socket, received: () => data, isClosed: () => closed };
}
