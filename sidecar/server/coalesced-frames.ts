import type { Socket } from "node:net";
import type { WebSocket } from "ws";

/**
 * Sends JSON frames on a WebSocket, coalescing every frame sent in one tick into one write to the TCP socket: the
 * first frame corks the socket and a `process.nextTick` uncorks it, after the microtasks queued with it (e.g. the
 * other acks answered by the same Redis reply) have sent theirs. The deliveries of one receive, and the `acked`
 * answers to a burst of acks, then cost one write syscall instead of one each, with no added wait.
 */
export class CoalescedFrames {
  private corked = false;

  constructor(
    private readonly socket: WebSocket,
    private readonly tcp: Socket,
  ) {}

  send(frame: object): void {
    if (this.socket.readyState !== this.socket.OPEN) return;
    if (!this.corked && !this.tcp.destroyed) {
      this.corked = true;
      this.tcp.cork();
      process.nextTick(() => {
        this.corked = false;
        this.tcp.uncork();
      });
    }
    this.socket.send(JSON.stringify(frame));
  }
}
