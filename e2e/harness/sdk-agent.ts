import type { Server } from "node:http";
import { TaskState, type AgentCard } from "@a2a-js/sdk";
import {
  DefaultRequestHandler,
  InMemoryTaskStore,
  type AgentExecutor,
  type ExecutionEventBus,
  type RequestContext,
} from "@a2a-js/sdk/server";
import { agentCardHandler, jsonRpcHandler, UserBuilder } from "@a2a-js/sdk/server/express";
import express from "express";

/** An A2A agent written with the official SDK's server side: it answers "shout <text>" with an artifact. */
class ShoutExecutor implements AgentExecutor {
  execute(context: RequestContext, bus: ExecutionEventBus): Promise<void> {
    const { taskId, contextId } = context;
    const text = context.userMessage.parts
      .map((part) => (part.content?.$case === "text" ? part.content.value : ""))
      .join(" ");
    bus.publish({
      kind: "task",
      data: {
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
      },
    });
    const status = (state: TaskState): void => {
      bus.publish({
        kind: "statusUpdate",
        data: {
          taskId,
          contextId,
          status: { state, message: undefined, timestamp: new Date().toISOString() },
          metadata: undefined,
        },
      });
    };
    status(TaskState.TASK_STATE_WORKING);
    bus.publish({
      kind: "artifactUpdate",
      data: {
        taskId,
        contextId,
        artifact: {
          artifactId: "shout",
          name: "",
          description: "",
          parts: [
            {
              content: { $case: "text", value: text.toUpperCase() },
              metadata: undefined,
              filename: "",
              mediaType: "",
            },
          ],
          metadata: undefined,
          extensions: [],
        },
        append: false,
        lastChunk: true,
        metadata: undefined,
      },
    });
    status(TaskState.TASK_STATE_COMPLETED);
    bus.finished();
    return Promise.resolve();
  }

  cancelTask(): Promise<void> {
    return Promise.resolve();
  }
}

/**
 * Starts the SDK agent on a free loopback port. Its first `failFirst` JSON-RPC calls are answered 503 (a remote
 * that is down for a while); `calls` counts every call.
 */
export async function startSdkAgent(failFirst = 0): Promise<{
  cardUrl: string;
  calls: () => number;
  close: () => Promise<void>;
}> {
  let calls = 0;
  let url = "";
  const card = (): AgentCard => ({
    name: "shouter",
    description: "shouts what it is told",
    supportedInterfaces: [
      { url: `${url}/a2a/jsonrpc`, protocolBinding: "JSONRPC", tenant: "", protocolVersion: "1.0" },
    ],
    provider: undefined,
    version: "1.0.0",
    capabilities: { streaming: true, pushNotifications: false, extensions: [] },
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
  const handler = new DefaultRequestHandler(card(), new InMemoryTaskStore(), new ShoutExecutor());
  const app = express();
  app.use(
    "/.well-known/agent-card.json",
    agentCardHandler({ agentCardProvider: () => Promise.resolve(card()) }),
  );
  app.use("/a2a/jsonrpc", (_request, response, next) => {
    calls++;
    if (calls <= failFirst) response.status(503).end();
    else next();
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
    cardUrl: `${url}/.well-known/agent-card.json`,
    calls: () => calls,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          resolve();
        });
      }),
  };
}
