import type { FastifyInstance } from "fastify";
import type { WebSocket } from "ws";

/** Close code for a stream whose client does not read fast enough (4000-4999 are the application's own). */
export const SLOW_CONSUMER_CLOSE_CODE = 4008;
/** Close code for a client that keeps sending bad frames after its error replies were already rate-limited. */
export const TOO_MANY_ERRORS_CLOSE_CODE = 4009;
const ERROR_REPLIES_PER_SECOND = 10;
const ERROR_REPLY_BURST = 20;
/** Error replies dropped in a row before the socket is closed: the client is not listening to them anyway. */
const MAX_DROPPED_ERROR_REPLIES = 1_000;
/** How long a closed client has to read what is queued and the close frame before its socket is dropped. */
const CLOSE_GRACE_MS = 5_000;

export interface StreamLimits {
  /** Bytes queued unsent on one socket (its `bufferedAmount`) past which the socket is closed. */
  maxBufferedBytes: number;
  /** Called when a socket is closed by a limit, with the close code. */
  onClosed?: (code: number) => void;
}

type Send = (data: string | Buffer, callback?: (error?: Error) => void) => void;

/**
 * Bounds what one WebSocket client can make the server hold, for every socket of `app`, whatever its route sends:
 * - a byte budget: a client that does not read lets unsent frames pile up in memory; past `maxBufferedBytes` the
 *   socket is closed with 4008 "slow consumer", as NATS closes a slow consumer, instead of growing the heap;
 * - error replies are rate-limited (a token bucket), so a client flooding bad frames cannot make the server flood
 *   it back; one that keeps on regardless is closed with 4009.
 */
export function limitStreams(app: FastifyInstance, limits: StreamLimits): void {
  app.websocketServer.on("connection", (socket: WebSocket) => {
    const send = socket.send.bind(socket) as Send;
    let tokens = ERROR_REPLY_BURST;
    let refilledAt = Date.now();
    let dropped = 0;
    const close = (code: number, reason: string): void => {
      if (socket.readyState !== socket.OPEN) return;
      socket.close(code, reason);
      // A client that does not read will not answer the close frame either: drop it soon, releasing its leases.
      setTimeout(() => {
        socket.terminate();
      }, CLOSE_GRACE_MS).unref();
      limits.onClosed?.(code);
    };
    const limitedSend: Send = (data, callback) => {
      if (typeof data === "string" && data.startsWith('{"type":"error"')) {
        const now = Date.now();
        tokens = Math.min(
          ERROR_REPLY_BURST,
          tokens + ((now - refilledAt) / 1_000) * ERROR_REPLIES_PER_SECOND,
        );
        refilledAt = now;
        if (tokens < 1) {
          dropped += 1;
          if (dropped >= MAX_DROPPED_ERROR_REPLIES) close(TOO_MANY_ERRORS_CLOSE_CODE, "too many bad frames");
          return;
        }
        tokens -= 1;
        dropped = 0;
      }
      const size = typeof data === "string" ? Buffer.byteLength(data) : data.byteLength;
      if (socket.bufferedAmount + size > limits.maxBufferedBytes) {
        close(
          SLOW_CONSUMER_CLOSE_CODE,
          `slow consumer: over ${String(limits.maxBufferedBytes)} bytes unread, closing`,
        );
        return;
      }
      send(data, callback);
    };
    socket.send = limitedSend as WebSocket["send"];
  });
}
