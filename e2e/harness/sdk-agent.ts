import type { Server } from "node:http";
import { Role, TaskState, type AgentCard, type Task } from "@a2a-js/sdk";
import {
  DefaultRequestHandler,
  InMemoryPushNotificationStore,
  InMemoryTaskStore,
  type AgentExecutor,
  type ExecutionEventBus,
  type RequestContext,
} from "@a2a-js/sdk/server";
import { agentCardHandler, jsonRpcHandler, UserBuilder } from "@a2a-js/sdk/server/express";
import express from "express";

const textPart = (value: string) => ({
  content: { $case: "text" as const, value },
  metadata: undefined,
  filename: "",
  mediaType: "",
});

/**
 * An A2A agent written with the official SDK's server side. By the first word of the task's first message:
 * - `wait ...`: works until the task is canceled;
 * - `ask ...`: asks for input (input-required); the follow-up's text, shouted, is the artifact, then completed;
 * - `hold ...`: works until the test calls `proceed()`, then shouts the text and completes;
 * - anything else: shouts it at once (working, artifact, completed).
 */
class ScriptedExecutor implements AgentExecutor {
  private readonly held: (() => void)[] = [];
  private readonly running = new Map<string, () => void>();
  readonly taskIds: string[] = [];

  async execute(context: RequestContext, bus: ExecutionEventBus): Promise<void> {
    const { taskId, contextId } = context;
    const text = context.userMessage.parts
      .map((part) => (part.content?.$case === "text" ? part.content.value : ""))
      .join(" ");
    const status = (state: TaskState, message?: string): void => {
      bus.publish({
        kind: "statusUpdate",
        data: {
          taskId,
          contextId,
          status: {
            state,
            message:
              message === undefined
                ? undefined
                : {
                    messageId: crypto.randomUUID(),
                    contextId,
                    taskId,
                    role: Role.ROLE_AGENT,
                    parts: [textPart(message)],
                    metadata: undefined,
                    extensions: [],
                    referenceTaskIds: [],
                  },
            timestamp: new Date().toISOString(),
          },
          metadata: undefined,
        },
      });
    };
    const shout = (value: string): void => {
      bus.publish({
        kind: "artifactUpdate",
        data: {
          taskId,
          contextId,
          artifact: {
            artifactId: "shout",
            name: "",
            description: "",
            parts: [textPart(value.toUpperCase())],
            metadata: undefined,
            extensions: [],
          },
          append: false,
          lastChunk: true,
          metadata: undefined,
        },
      });
    };
    const followUp = context.task?.status?.state === TaskState.TASK_STATE_INPUT_REQUIRED;
    const task: Task = context.task ?? {
      id: taskId,
      contextId,
      status: {
        state: TaskState.TASK_STATE_SUBMITTED,
        message: undefined,
        timestamp: new Date().toISOString(),
      },
      artifacts: [],
      history: [context.userMessage],
      metadata: undefined,
    };
    bus.publish({ kind: "task", data: task });
    if (!followUp) this.taskIds.push(taskId);
    const [verb = "", ...rest] = text.split(" ");
    if (followUp) {
      status(TaskState.TASK_STATE_WORKING);
      shout(text);
      status(TaskState.TASK_STATE_COMPLETED);
      bus.finished();
      return;
    }
    switch (verb) {
      case "ask":
        status(TaskState.TASK_STATE_INPUT_REQUIRED, "whom shall I shout at?");
        return;
      case "wait":
        status(TaskState.TASK_STATE_WORKING);
        // cancelTask publishes the canceled status and ends the bus.
        await new Promise<void>((resolve) => this.running.set(taskId, resolve));
        return;
      case "hold":
        status(TaskState.TASK_STATE_WORKING);
        await new Promise<void>((resolve) => this.held.push(resolve));
        shout(rest.join(" "));
        status(TaskState.TASK_STATE_COMPLETED);
        bus.finished();
        return;
      default:
        status(TaskState.TASK_STATE_WORKING);
        shout(text);
        status(TaskState.TASK_STATE_COMPLETED);
        bus.finished();
    }
  }

  cancelTask(taskId: string, bus: ExecutionEventBus): Promise<void> {
    bus.publish({
      kind: "statusUpdate",
      data: {
        taskId,
        contextId: "",
        status: {
          state: TaskState.TASK_STATE_CANCELED,
          message: undefined,
          timestamp: new Date().toISOString(),
        },
        metadata: undefined,
      },
    });
    bus.finished();
    this.running.get(taskId)?.();
    this.running.delete(taskId);
    return Promise.resolve();
  }

  /** Lets every `hold` task go on. */
  proceed(): void {
    for (const resolve of this.held.splice(0)) resolve();
  }
}

export interface SdkAgent {
  url: string;
  cardUrl: string;
  /** JSON-RPC calls received (the first `failFirst` answered 503). */
  calls: () => number;
  /** Ids of the tasks the agent started, oldest first. */
  taskIds: () => string[];
  /** Push configs registered with the agent. */
  pushConfigs: () => number;
  /** Lets every `hold` task go on. */
  proceed: () => void;
  /**
   * While held, every stream answer after its first event keeps its later events back (the agent's push
   * notifications still go out); `release()` sends them on.
   */
  holdStreams: () => void;
  releaseStreams: () => void;
  /** Events held back so far. */
  heldEvents: () => number;
  /** The next stream answer breaks (its connection is destroyed) after its first event; the task goes on. */
  cutNextStream: () => void;
  close: () => Promise<void>;
}

/**
 * Starts the SDK agent on a free loopback port. Its first `failFirst` JSON-RPC calls are answered 503 (a remote
 * that is down for a while). With `push`, its card offers push notifications and the SDK sends them.
 */
export async function startSdkAgent(failFirst = 0, options: { push?: boolean } = {}): Promise<SdkAgent> {
  let calls = 0;
  let url = "";
  let pushConfigs = 0;
  let holding = false;
  let cutNext = false;
  const held: (() => void)[] = [];
  const card = (): AgentCard => ({
    name: "shouter",
    description: "shouts what it is told",
    supportedInterfaces: [
      { url: `${url}/a2a/jsonrpc`, protocolBinding: "JSONRPC", tenant: "", protocolVersion: "1.0" },
    ],
    provider: undefined,
    version: "1.0.0",
    capabilities: { streaming: true, pushNotifications: options.push === true, extensions: [] },
    securitySchemes: {},
    securityRequirements: [],
    defaultInputModes: ["text/plain"],
    defaultOutputModes: ["text/plain"],
    skills: [
      {
        id: "shout",
        name: "Shout",
        description: "upper-cases text",
        tags: ["text"],
        examples: [],
        inputModes: [],
        outputModes: [],
        securityRequirements: [],
      },
    ],
    signatures: [],
  });
  const executor = new ScriptedExecutor();
  const pushStore = new InMemoryPushNotificationStore();
  const save = pushStore.save.bind(pushStore);
  pushStore.save = (...args) => {
    pushConfigs++;
    return save(...args);
  };
  const handler = new DefaultRequestHandler(card(), new InMemoryTaskStore(), executor, undefined, pushStore);
  const app = express();
  app.use(
    "/.well-known/agent-card.json",
    agentCardHandler({ agentCardProvider: () => Promise.resolve(card()) }),
  );
  app.use("/a2a/jsonrpc", (_request, response, next) => {
    calls++;
    if (calls <= failFirst) {
      response.status(503).end();
      return;
    }
    if (cutNext) {
      cutNext = false;
      // Cut once the first event has left (its write callback), so the client surely has it.
      const write = response.write.bind(response) as (chunk: unknown, done?: () => void) => boolean;
      let writes = 0;
      let sent = false;
      let cut = false;
      response.write = ((chunk: unknown) => {
        if (++writes === 1)
          return write(chunk, () => {
            sent = true;
            if (cut) response.destroy();
          });
        cut = true;
        if (sent) response.destroy();
        return false;
      }) as typeof response.write;
    } else if (holding) {
      // The first write is the stream's first event; later ones wait for releaseStreams().
      const write = response.write.bind(response) as (chunk: unknown) => boolean;
      let writes = 0;
      response.write = ((chunk: unknown) => {
        if (++writes === 1 || !holding) return write(chunk);
        held.push(() => write(chunk));
        return true;
      }) as typeof response.write;
    }
    next();
  });
  app.use(
    "/a2a/jsonrpc",
    jsonRpcHandler({ requestHandler: handler, userBuilder: UserBuilder.noAuthentication }),
  );
  const server: Server = await new Promise((resolve) => {
    const listening = app.listen(0, "127.0.0.1", () => {
      resolve(listening);
    });
  });
  const address = server.address();
  url = `http://127.0.0.1:${String(typeof address === "object" && address !== null ? address.port : 0)}`;
  return {
    url,
    cardUrl: `${url}/.well-known/agent-card.json`,
    calls: () => calls,
    taskIds: () => [...executor.taskIds],
    pushConfigs: () => pushConfigs,
    proceed: () => {
      executor.proceed();
    },
    holdStreams: () => {
      holding = true;
    },
    releaseStreams: () => {
      holding = false;
      for (const send of held.splice(0)) send();
    },
    heldEvents: () => held.length,
    cutNextStream: () => {
      cutNext = true;
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          resolve();
        });
      }),
  };
}
