import { once } from "node:events";
import { Redis } from "ioredis";
import { WebSocket } from "ws";
import type { Message } from "../../core/envelope.js";
import { HttpClient, parseDeliveries, type WireDelivery } from "./http-client.js";
import type { Consumer, DeliverySink, Producer } from "./pipeline.js";

/** Sends to the sidecar: one POST /v1/messages per message, or one POST /v1/messages:batch per batch. */
export class SidecarProducer implements Producer {
  private readonly client: HttpClient;

  constructor(
    baseUrl: string,
    private readonly agent: string,
    private readonly mode: "single" | "batch",
    sockets: number,
  ) {
    this.client = new HttpClient(baseUrl, sockets);
  }

  async send(messages: Message[]): Promise<void> {
    const addressed = messages.map((message) => ({ ...message, to: this.agent }));
    if (this.mode === "batch") {
      await this.client.expect(202, "POST", "/v1/messages:batch", JSON.stringify({ messages: addressed }));
      return;
    }
    await Promise.all(
      addressed.map((message) => this.client.expect(202, "POST", "/v1/messages", JSON.stringify(message))),
    );
  }

  close(): Promise<void> {
    this.client.close();
    return Promise.resolve();
  }
}

type ServerFrame =
  | { type: "delivery"; leaseId: string; message: { id: string } }
  | { type: "acked" | "nacked"; leaseId: string }
  | { type: "error"; errorCode: string; message: string };

/**
 * Receives over the sidecar's WebSocket stream: grants `credit`, acks each delivery over the socket at once,
 * and grants one credit back per confirmed ack, so at most `credit` deliveries are ever unsettled.
 */
export class WsConsumer implements Consumer {
  private socket: WebSocket | undefined;
  private readonly leases = new Map<string, string>();
  private pendingCredit = 0;

  constructor(
    private readonly baseUrl: string,
    private readonly agent: string,
    private readonly credit: number,
  ) {}

  async start(sink: DeliverySink): Promise<void> {
    const socket = new WebSocket(`${this.baseUrl.replace(/^http/, "ws")}/v1/agents/${this.agent}/stream`);
    this.socket = socket;
    await once(socket, "open");
    socket.on("error", (error) => {
      sink.failed(error);
    });
    socket.on("message", (raw: Buffer) => {
      const frame = JSON.parse(raw.toString("utf8")) as ServerFrame;
      if (frame.type === "delivery") {
        this.leases.set(frame.leaseId, frame.message.id);
        sink.delivered(frame.message.id);
        socket.send(JSON.stringify({ type: "ack", leaseId: frame.leaseId }));
      } else if (frame.type === "acked") {
        const messageId = this.leases.get(frame.leaseId);
        this.leases.delete(frame.leaseId);
        if (messageId !== undefined) sink.settled(messageId);
        this.grant(1);
      } else {
        sink.failed(new Error(`stream frame ${JSON.stringify(frame)}`));
      }
    });
    socket.send(JSON.stringify({ type: "credit", n: this.credit }));
  }

  /** Credits freed in one turn of the event loop go back in one frame. */
  private grant(n: number): void {
    if (this.pendingCredit === 0) {
      setImmediate(() => {
        if (this.socket?.readyState === WebSocket.OPEN)
          this.socket.send(JSON.stringify({ type: "credit", n: this.pendingCredit }));
        this.pendingCredit = 0;
      });
    }
    this.pendingCredit += n;
  }

  async stop(): Promise<void> {
    const socket = this.socket;
    if (socket === undefined || socket.readyState === WebSocket.CLOSED) return;
    const closed = once(socket, "close");
    socket.close();
    await closed;
  }
}

/**
 * Receives by long-polling GET /v1/agents/{agent}/messages?max=N&wait=S in a loop (one poll outstanding), acking
 * each delivery with its own POST as soon as it arrives, or (`batchAck`) all deliveries of a poll with one
 * POST /v1/deliveries:ack; the next poll does not wait for the acks.
 */
export class LongPollConsumer implements Consumer {
  private readonly client: HttpClient;
  private running = false;
  private loop: Promise<void> | undefined;
  private readonly acks = new Set<Promise<void>>();

  constructor(
    baseUrl: string,
    private readonly agent: string,
    private readonly max: number,
    private readonly waitSeconds: number,
    private readonly batchAck = false,
  ) {
    this.client = new HttpClient(baseUrl, max + 1);
  }

  start(sink: DeliverySink): Promise<void> {
    this.running = true;
    this.loop = this.poll(sink);
    return Promise.resolve();
  }

  private async poll(sink: DeliverySink): Promise<void> {
    const path = `/v1/agents/${this.agent}/messages?max=${this.max}&wait=${this.waitSeconds}`;
    try {
      while (this.running) {
        const deliveries = parseDeliveries(await this.client.expect(200, "GET", path));
        if (this.batchAck) {
          this.ackAll(deliveries, sink);
          continue;
        }
        for (const delivery of deliveries) {
          const messageId = delivery.message.id;
          sink.delivered(messageId);
          const ack = this.client
            .expect(204, "POST", `/v1/deliveries/${encodeURIComponent(delivery.leaseId)}/ack`)
            .then(() => {
              sink.settled(messageId);
            }, sink.failed)
            .finally(() => this.acks.delete(ack));
          this.acks.add(ack);
        }
      }
    } catch (error) {
      sink.failed(error);
    }
  }

  private ackAll(deliveries: WireDelivery[], sink: DeliverySink): void {
    if (deliveries.length === 0) return;
    for (const delivery of deliveries) sink.delivered(delivery.message.id);
    const body = JSON.stringify({ leaseIds: deliveries.map((delivery) => delivery.leaseId) });
    const ack = this.client
      .expect(200, "POST", "/v1/deliveries:ack", body)
      .then((answer) => {
        const { failed } = JSON.parse(answer) as { failed: unknown[] };
        if (failed.length > 0) throw new Error(`batch ack failed for ${failed.length} leases`);
        for (const delivery of deliveries) sink.settled(delivery.message.id);
      })
      .catch(sink.failed)
      .finally(() => this.acks.delete(ack));
    this.acks.add(ack);
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop; // at most one wait= interval
    await Promise.all([...this.acks]);
    this.client.close();
  }
}

const RAW_GROUP = "g";

/**
 * The raw peer of the pipelined cases: XADD per message on one auto-pipelined connection; a second connection
 * loops XREADGROUP COUNT N BLOCK (a blocking read needs a connection of its own), JSON.parses each entry like
 * the sidecar's clients parse what they get, and XACKs it on the first connection.
 */
export class RawPeer implements Producer, Consumer {
  private running = false;
  private loop: Promise<void> | undefined;
  private readonly acks = new Set<Promise<void>>();

  private constructor(
    private readonly commands: Redis,
    private readonly reader: Redis,
    readonly stream: string,
    private readonly max: number,
  ) {}

  static async connect(url: string, stream: string, max: number): Promise<RawPeer> {
    const commands = new Redis(url, { enableAutoPipelining: true, lazyConnect: true });
    const reader = new Redis(url, { lazyConnect: true });
    await Promise.all([commands.connect(), reader.connect()]);
    await commands.xgroup("CREATE", stream, RAW_GROUP, "0", "MKSTREAM");
    return new RawPeer(commands, reader, stream, max);
  }

  async send(messages: Message[]): Promise<void> {
    await Promise.all(
      messages.map((message) => this.commands.xadd(this.stream, "*", "m", JSON.stringify(message))),
    );
  }

  start(sink: DeliverySink): Promise<void> {
    this.running = true;
    this.loop = this.read(sink);
    return Promise.resolve();
  }

  private async read(sink: DeliverySink): Promise<void> {
    try {
      while (this.running) {
        const reply = (await this.reader.xreadgroup(
          "GROUP",
          RAW_GROUP,
          "c1",
          "COUNT",
          this.max,
          "BLOCK",
          1000,
          "STREAMS",
          this.stream,
          ">",
        )) as [string, [string, string[]][]][] | null;
        for (const [entryId, fields] of reply?.[0]?.[1] ?? []) {
          const messageId = (JSON.parse(fields[1] ?? "null") as Message).id;
          sink.delivered(messageId);
          const ack = this.commands
            .xack(this.stream, RAW_GROUP, entryId)
            .then(() => {
              sink.settled(messageId);
            }, sink.failed)
            .finally(() => this.acks.delete(ack));
          this.acks.add(ack);
        }
      }
    } catch (error) {
      sink.failed(error);
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop; // at most one BLOCK interval
    await Promise.all([...this.acks]);
  }

  async close(): Promise<void> {
    await this.stop();
    await this.commands.del(this.stream);
    this.commands.disconnect();
    this.reader.disconnect();
  }
}
