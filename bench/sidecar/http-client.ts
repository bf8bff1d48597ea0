import { Agent, request } from "node:http";

export interface HttpAnswer {
  status: number;
  body: string;
}

/**
 * A minimal keep-alive HTTP/1.1 client on `node:http`, the same for the sidecar and for http-raw, so any cost
 * of the load generator is the same on both sides (fetch/undici would cost the shared CPU more per request).
 */
export class HttpClient {
  private readonly agent: Agent;
  private readonly host: string;
  private readonly port: number;

  constructor(baseUrl: string, maxSockets: number) {
    const url = new URL(baseUrl);
    this.host = url.hostname;
    this.port = Number(url.port);
    this.agent = new Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets });
  }

  request(
    method: string,
    path: string,
    body?: string,
    contentType = "application/json",
  ): Promise<HttpAnswer> {
    return new Promise((resolve, reject) => {
      const headers: Record<string, string | number> =
        body === undefined ? {} : { "content-type": contentType, "content-length": Buffer.byteLength(body) };
      const outgoing = request(
        { host: this.host, port: this.port, method, path, agent: this.agent, headers },
        (response) => {
          let text = "";
          response.setEncoding("utf8");
          response.on("data", (chunk: string) => (text += chunk));
          response.on("end", () => {
            resolve({ status: response.statusCode ?? 0, body: text });
          });
          response.on("error", reject);
        },
      );
      outgoing.on("error", reject);
      outgoing.end(body);
    });
  }

  /** Like request(), but any status other than `expected` is an error (the benchmark must not count failures). */
  async expect(expected: number, method: string, path: string, body?: string): Promise<string> {
    const answer = await this.request(method, path, body);
    if (answer.status !== expected)
      throw new Error(
        `${method} ${path}: expected ${expected}, got ${answer.status} ${answer.body.slice(0, 300)}`,
      );
    return answer.body;
  }

  close(): void {
    this.agent.destroy();
  }
}

export interface WireDelivery {
  leaseId: string;
  message: { id: string };
}

/** The `deliveries` of a GET .../messages answer (sidecar and http-raw answer the same shape). */
export function parseDeliveries(body: string): WireDelivery[] {
  const parsed = JSON.parse(body) as { deliveries?: WireDelivery[] };
  if (!Array.isArray(parsed.deliveries)) throw new Error(`not a deliveries answer: ${body.slice(0, 200)}`);
  return parsed.deliveries;
}
