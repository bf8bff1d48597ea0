import { BmnError } from "../../core/errors.js";

/** Open SSE streams, in all and per client address: what one client can make the sidecar hold is bounded. */
export class StreamSlots {
  private total = 0;
  private readonly perClient = new Map<string, number>();

  constructor(
    private readonly maxTotal: number,
    private readonly maxPerClient: number,
  ) {}

  /** Takes a slot for `client`, or throws OVERLOADED; the answer gives it back (once). */
  acquire(client: string): () => void {
    const mine = this.perClient.get(client) ?? 0;
    if (mine >= this.maxPerClient)
      throw new BmnError(
        "OVERLOADED",
        `this client has ${mine} A2A streams open, the most a2a.maxStreamsPerClient allows`,
      );
    if (this.total >= this.maxTotal)
      throw new BmnError(
        "OVERLOADED",
        `the sidecar has ${this.total} A2A streams open, the most a2a.maxStreams allows`,
      );
    this.total++;
    this.perClient.set(client, mine + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.total--;
      const left = (this.perClient.get(client) ?? 1) - 1;
      if (left <= 0) this.perClient.delete(client);
      else this.perClient.set(client, left);
    };
  }
}
