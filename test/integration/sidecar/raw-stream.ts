import { WebSocket } from "ws";

export interface StreamFrame {
  type: string;
  leaseId?: string;
  errorCode?: string;
  field?: string;
  message?: { id: string; from?: string };
}

/** A WebSocket to a sidecar stream that records every frame and how it closed (or how its upgrade was refused). */
export interface RawStream {
  socket: WebSocket;
  frames: StreamFrame[];
  /** The HTTP status of a refused upgrade; undefined once open. */
  refused: Promise<number | undefined>;
  closed: Promise<{ code: number; reason: string }>;
}

export function openRawStream(url: string, headers: Record<string, string> = {}): RawStream {
  const socket = new WebSocket(url, { headers });
  const frames: StreamFrame[] = [];
  socket.on("message", (raw: Buffer) => {
    frames.push(JSON.parse(raw.toString("utf8")) as StreamFrame);
  });
  const refused = new Promise<number | undefined>((resolve, reject) => {
    socket.once("open", () => {
      resolve(undefined);
    });
    socket.once("unexpected-response", (_request, response) => {
      resolve(response.statusCode);
    });
    socket.once("error", reject);
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    socket.on("close", (code, reason) => {
      resolve({ code, reason: reason.toString("utf8") });
    });
  });
  return { socket, frames, refused, closed };
}
