import type { Message } from "../../core/envelope.js";
import type { BenchQueue, Received } from "../shared/bench-queue.js";
import { HttpClient, parseDeliveries } from "./http-client.js";

/**
 * One message per HTTP request through the sidecar's API: POST /v1/messages, GET .../messages?max=1&wait=0,
 * POST /v1/deliveries/{leaseId}/ack. http-raw serves the same routes, so both peers run this very code and
 * differ only in the server behind `baseUrl`.
 */
export class HttpApiQueue implements BenchQueue {
  private readonly client: HttpClient;

  constructor(
    readonly label: string,
    baseUrl: string,
    private readonly agent: string,
    concurrency: number,
  ) {
    this.client = new HttpClient(baseUrl, concurrency);
  }

  async enqueue(message: Message): Promise<void> {
    await this.client.expect(202, "POST", "/v1/messages", JSON.stringify({ ...message, to: this.agent }));
  }

  async receiveOne(): Promise<Received | undefined> {
    const body = await this.client.expect(200, "GET", `/v1/agents/${this.agent}/messages?max=1&wait=0`);
    const [delivery] = parseDeliveries(body);
    if (delivery === undefined) return undefined;
    const path = `/v1/deliveries/${encodeURIComponent(delivery.leaseId)}/ack`;
    return {
      messageId: delivery.message.id,
      ack: async () => {
        await this.client.expect(204, "POST", path);
      },
    };
  }

  async drain(): Promise<void> {
    // Every call above is awaited to its answer; nothing is left in flight on the client side.
  }

  close(): Promise<void> {
    this.client.close();
    return Promise.resolve();
  }
}
