/**
 * Senders and receivers that keep going through a sidecar crash the way a well-behaved agent does: a send is retried
 * with the same id until the sidecar answers 2xx (dedupe makes that safe), and receivers poll again after an error.
 */
export interface TrafficCounts {
  sent: number;
  accepted: number;
  delivered: number;
  duplicates: number;
  lost: number;
}

export class Traffic {
  readonly accepted = new Set<string>();
  readonly deliveries = new Map<string, number>();
  // Read through methods: the loops re-check them after every await, which TypeScript's narrowing can't see.
  private stopped = false;
  private receiving = true;

  constructor(
    private readonly url: () => string,
    private readonly agent: string,
  ) {}

  /** `senders` loops, each sending `perSender` messages with ids of its own. */
  async send(senders: number, perSender: number, onAccepted?: (count: number) => void): Promise<void> {
    await Promise.all(
      Array.from({ length: senders }, async (_, sender) => {
        for (let index = 0; index < perSender && !this.isStopped(); index++) {
          const id = `m-${sender}-${index}`;
          for (let attempt = 0; !this.isStopped(); attempt++) {
            try {
              const response = await fetch(`${this.url()}/v1/messages`, {
                method: "POST",
                headers: { "content-type": "application/json" },
                body: JSON.stringify({ id, to: this.agent, type: "load", data: { sender, index } }),
              });
              await response.text();
              if (response.status === 202) {
                this.accepted.add(id);
                onAccepted?.(this.accepted.size);
                break;
              }
            } catch {
              // The sidecar is down: try again with the same id.
            }
            await pause(Math.min(200, 10 * 2 ** attempt));
          }
        }
      }),
    );
  }

  /** `receivers` long-poll loops that ack everything, until `stopReceiving`. */
  receive(receivers: number): Promise<void> {
    return Promise.all(
      Array.from({ length: receivers }, async () => {
        while (this.isReceiving()) {
          try {
            const response = await fetch(
              `${this.url()}/v1/agents/${this.agent}/messages?max=50&wait=1&lease=3`,
            );
            const body = (await response.json()) as {
              deliveries?: { leaseId: string; message: { id: string } }[];
            };
            for (const delivery of body.deliveries ?? []) {
              this.deliveries.set(delivery.message.id, (this.deliveries.get(delivery.message.id) ?? 0) + 1);
              await fetch(`${this.url()}/v1/deliveries/${delivery.leaseId}/ack`, { method: "POST" }).then(
                (ack) => ack.text(),
              );
            }
          } catch {
            await pause(50);
          }
        }
      }),
    ).then(() => undefined);
  }

  private isStopped(): boolean {
    return this.stopped;
  }

  private isReceiving(): boolean {
    return this.receiving;
  }

  stopReceiving(): void {
    this.receiving = false;
  }

  stop(): void {
    this.stopped = true;
  }

  /** True once every accepted message has been delivered at least once. */
  drained(): boolean {
    for (const id of this.accepted) if (!this.deliveries.has(id)) return false;
    return true;
  }

  counts(sent: number): TrafficCounts {
    let delivered = 0;
    let duplicates = 0;
    for (const [id, times] of this.deliveries) {
      if (!this.accepted.has(id)) continue;
      delivered++;
      duplicates += times - 1;
    }
    return {
      sent,
      accepted: this.accepted.size,
      delivered,
      duplicates,
      lost: this.accepted.size - delivered,
    };
  }
}

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
