import { randomUUID } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Role, type Message as SdkMessage, type SendMessageRequest, type StreamResponse } from "@a2a-js/sdk";
import { ClientFactory, RestTransportFactory, type Client } from "@a2a-js/sdk/client";
import { BmnClient, type A2aRequest } from "../../client/index.js";
import { BmnProcess } from "../../test/harness/bmn-process.js";
import { freePort } from "../../test/harness/free-port.js";

/** A `bmn start` with `config` (JSON, as BMN_CONFIG) and `env`, on a free port. */
export async function startA2aSidecar(
  config: Record<string, unknown>,
  env: Record<string, string>,
  label = "sidecar",
): Promise<{ sidecar: BmnProcess; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), "bmn-a2a-"));
  const file = join(dir, "config.json");
  await writeFile(file, JSON.stringify(config));
  const sidecar = await BmnProcess.start({
    label,
    port: await freePort(),
    args: (port) => ["start", "--port", String(port)],
    env: { BMN_CONFIG: file, ...env },
    readyPath: "/readyz",
  });
  return {
    sidecar,
    cleanup: async () => {
      await sidecar.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** The official SDK's client for `agent` on a sidecar, found through its agent card. */
export async function sdkClient(sidecarUrl: string, agent: string): Promise<Client> {
  // The trailing slash makes the card path resolve under /a2a/{agent}/.
  return new ClientFactory().createFromUrl(`${sidecarUrl}/a2a/${agent}/`);
}

/** The SDK's client on the HTTP+JSON/REST binding only. */
export async function sdkRestClient(sidecarUrl: string, agent: string): Promise<Client> {
  return new ClientFactory({ transports: [new RestTransportFactory()] }).createFromUrl(
    `${sidecarUrl}/a2a/${agent}/`,
  );
}

/** A user's text message in the SDK's types. */
export function userMessage(text: string, taskId = ""): SdkMessage {
  return {
    messageId: randomUUID(),
    contextId: "",
    taskId,
    role: Role.ROLE_USER,
    parts: [{ content: { $case: "text", value: text }, metadata: undefined, filename: "", mediaType: "" }],
    metadata: undefined,
    extensions: [],
    referenceTaskIds: [],
  };
}

export function sendParams(
  message: SdkMessage,
  configuration?: { returnImmediately?: boolean },
): SendMessageRequest {
  return {
    tenant: "",
    message,
    configuration:
      configuration === undefined
        ? undefined
        : {
            acceptedOutputModes: [],
            taskPushNotificationConfig: undefined,
            returnImmediately: configuration.returnImmediately ?? false,
          },
    metadata: undefined,
  };
}

/** "task", "status:TASK_STATE_WORKING", "artifact:<id>" ...: a stream event in one word. */
export function describeEvent(event: StreamResponse): string {
  const payload = event.payload;
  switch (payload?.$case) {
    case "task":
      return `task:${String(payload.value.status?.state)}`;
    case "statusUpdate":
      return `status:${String(payload.value.status?.state)}`;
    case "artifactUpdate":
      return `artifact:${payload.value.artifact?.artifactId ?? ""}${payload.value.append ? "+" : ""}`;
    case "message":
      return "message";
    default:
      return "none";
  }
}

/** The text of the first text part of a message or artifact. */
export function textOf(
  parts: readonly { content?: { $case: string; value: unknown } | undefined }[] = [],
): string {
  const value = parts.find((candidate) => candidate.content?.$case === "text")?.content?.value;
  return typeof value === "string" ? value : "";
}

export type AgentHandler = (request: A2aRequest, bmn: BmnClient) => Promise<void>;

/**
 * An agent behind BMN written with the BMN client: it long-polls its queue, hands every A2A request to `handle`
 * and acks it. What it got is kept in `requests`.
 */
export class BmnA2aAgent {
  readonly requests: A2aRequest[] = [];
  private readonly stopping = new AbortController();
  private readonly loop: Promise<void>;
  readonly bmn: BmnClient;

  constructor(url: string, name: string, handle: AgentHandler) {
    this.bmn = new BmnClient({ url, agent: name });
    this.loop = this.run(handle);
  }

  private async run(handle: AgentHandler): Promise<void> {
    const stopped = (): boolean => this.stopping.signal.aborted;
    while (!stopped()) {
      let deliveries;
      try {
        deliveries = await this.bmn.receive({ max: 10, waitSeconds: 1, signal: this.stopping.signal });
      } catch {
        if (stopped()) return;
        await new Promise((resolve) => setTimeout(resolve, 100));
        continue;
      }
      for (const delivery of deliveries) {
        const request = this.bmn.a2a.requestOf(delivery.message);
        if (request !== undefined) {
          this.requests.push(request);
          await handle(request, this.bmn);
        }
        await this.bmn.ack(delivery.leaseId);
      }
    }
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    await this.loop.catch(() => undefined);
  }
}

export interface ReceivedPush {
  status: number;
  headers: IncomingHttpHeaders;
  body: Record<string, unknown>;
}

/** A webhook that answers 503 to its first `failures` requests (Infinity: forever), then 200. */
export async function startWebhook(failures: number): Promise<{
  url: string;
  received: ReceivedPush[];
  close: () => Promise<void>;
}> {
  const received: ReceivedPush[] = [];
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      const status = received.length < failures ? 503 : 200;
      received.push({
        status,
        headers: request.headers,
        body: JSON.parse(Buffer.concat(chunks).toString("utf8")) as Record<string, unknown>,
      });
      response.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address !== null ? address.port : 0;
  return {
    url: `http://127.0.0.1:${String(port)}/hook`,
    received,
    close: () =>
      new Promise((resolve) => {
        server.close(() => {
          resolve();
        });
      }),
  };
}
