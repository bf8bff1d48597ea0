import { once } from "node:events";
import { WebSocket } from "ws";

interface Reply {
  id?: number;
  result?: { result?: { value?: unknown } };
  error?: { message: string };
}

/**
 * A Chrome DevTools Protocol session to a process started with `--inspect`: how the backlog figure forces a
 * full GC inside the sidecar and reads `process.memoryUsage()` after it, so the heap is the live heap only.
 */
export class InspectorSession {
  private nextId = 0;
  private readonly pending = new Map<number, (reply: Reply) => void>();

  private constructor(private readonly socket: WebSocket) {
    socket.on("message", (raw: Buffer) => {
      const reply = JSON.parse(raw.toString("utf8")) as Reply;
      if (reply.id !== undefined) this.pending.get(reply.id)?.(reply);
    });
  }

  static async connect(port: number): Promise<InspectorSession> {
    const targets = (await (await fetch(`http://127.0.0.1:${port}/json/list`)).json()) as {
      webSocketDebuggerUrl: string;
    }[];
    const url = targets[0]?.webSocketDebuggerUrl;
    if (url === undefined) throw new Error(`no inspector target on port ${port}`);
    const socket = new WebSocket(url);
    await once(socket, "open");
    return new InspectorSession(socket);
  }

  private async call(method: string, params: object = {}): Promise<Reply> {
    const id = ++this.nextId;
    const answered = new Promise<Reply>((resolve) => this.pending.set(id, resolve));
    this.socket.send(JSON.stringify({ id, method, params }));
    const reply = await answered;
    this.pending.delete(id);
    if (reply.error !== undefined) throw new Error(`${method}: ${reply.error.message}`);
    return reply;
  }

  /** Full GC, then the process's own memory figures. */
  async memoryAfterGc(): Promise<NodeJS.MemoryUsage> {
    await this.call("HeapProfiler.collectGarbage");
    const reply = await this.call("Runtime.evaluate", {
      expression: "JSON.stringify(process.memoryUsage())",
      returnByValue: true,
    });
    const value = reply.result?.result?.value;
    if (typeof value !== "string") throw new Error("process.memoryUsage() gave no value");
    return JSON.parse(value) as NodeJS.MemoryUsage;
  }

  async close(): Promise<void> {
    const closed = once(this.socket, "close");
    this.socket.close();
    await closed;
  }
}
