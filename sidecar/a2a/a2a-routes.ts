import { randomUUID } from "node:crypto";
import { createMessage } from "../../core/envelope.js";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { A2A_EVENT_TYPE, A2A_REST_URL, a2aRestParamsSchema, a2aRoutes } from "../../core/api/a2a-api.js";
import { BmnError, NotFoundError } from "../../core/errors.js";
import { DNS_LABEL, DNS_LABEL_MAX, type AgentAddress } from "../../core/names.js";
import { presentedToken } from "../../runtime/http/secret-token.js";
import { a2aTasksOf } from "../../store/roles/a2a-tasks.js";
import type { MessageStore } from "../../store/store.js";
import type { AgentBinding } from "../server/agent-bound-store.js";
import type { RouteContext } from "../server/route-context.js";
import { schemaOf } from "../server/route-schema.js";
import type { ZodTypeProvider } from "../server/zod-type-provider.js";
import { A2aMethods, type A2aCaller } from "./a2a-methods.js";
import { agentCard } from "./agent-cards.js";
import { JsonRpcEndpoint } from "./json-rpc-endpoint.js";
import { PushDispatcher } from "./push-dispatcher.js";
import { RemoteBridge } from "./remote-bridge.js";
import { rawRestPath, RestEndpoint } from "./rest-endpoint.js";
import { StreamSlots } from "./stream-slots.js";
import { EventsInbox } from "./events-inbox.js";
import type { TaskRecord } from "./task-record.js";
import { reportEvent } from "./task-reports.js";
import { EVENT_PAGE, TaskService } from "./task-service.js";

export interface A2aSetup {
  context: RouteContext;
  /** The store without the agent binding: the push outbox is the sidecar's own queue. */
  unboundStore: MessageStore;
  binding: AgentBinding | undefined;
  apiToken: boolean;
}

/** The header A2A push notifications carry a config's token in. */
const PUSH_TOKEN_HEADER = "x-a2a-notification-token";

/** The raw body the endpoint's content parser kept (a Buffer), or nothing. */
function bodyBytes(body: unknown): Buffer {
  return Buffer.isBuffer(body) ? body : Buffer.alloc(0);
}

const HOST_HEADER = /^[A-Za-z0-9.-]+(:[0-9]{1,5})?$|^\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?$/;

/**
 * The A2A binding of the sidecar (docs/a2a.md): agent cards, the JSON-RPC endpoint of every agent of the domain,
 * and the routes agents report task progress on. Returns the plugins to register, or none when `a2a.enabled` is
 * off or the store has no task role.
 */
export function a2aPlugins(setup: A2aSetup): ((app: FastifyInstance) => Promise<void>)[] {
  const { context, unboundStore, binding } = setup;
  const { config } = context;
  const tasks = a2aTasksOf(unboundStore);
  if (!config.a2a.enabled || tasks === undefined) return [];
  let push: PushDispatcher | undefined;
  const service = new TaskService(tasks, config.a2a, async (record, seq, event) => {
    await push?.enqueue(record.task.id, seq, event);
  });
  const slots = new StreamSlots(config.a2a.maxStreams, config.a2a.maxStreamsPerClient);

  const label = (value: string): boolean => value.length <= DNS_LABEL_MAX && DNS_LABEL.test(value);
  /** `name` of this domain, or `name@domain` of another one when cross-domain routing is on. */
  const agentName = (value: string): string => {
    const [name = "", domain, ...rest] = value.split("@");
    if (!label(name) || rest.length > 0 || (domain !== undefined && !label(domain)))
      throw new NotFoundError(`no A2A agent ${value}: agents are name or name@domain, lowercase DNS labels`, {
        field: "agent",
      });
    if (domain === undefined || domain === config.domain) return name;
    if (!context.router.crossDomain)
      throw new NotFoundError(`no A2A agent ${value}: cross-domain routing is off on this sidecar`, {
        field: "agent",
      });
    return `${name}@${domain}`;
  };
  const sender = (): string | undefined => {
    try {
      return binding?.sender(undefined);
    } catch {
      return undefined;
    }
  };
  const baseUrl = (request: FastifyRequest): string => {
    if (config.a2a.publicUrl !== undefined) return config.a2a.publicUrl.replace(/\/+$/, "");
    const host = request.headers.host;
    return `http://${host !== undefined && HOST_HEADER.test(host) ? host : `${config.host}:${String(config.port)}`}`;
  };
  const cardOf = (request: FastifyRequest, agent: string) =>
    agentCard(context.store, agent, {
      domain: config.domain,
      baseUrl: baseUrl(request),
      pushNotifications: config.a2a.push.enabled,
      apiToken: setup.apiToken,
      configured: config.a2a.agents,
      remotes: config.a2a.remotes,
    });

  const rpc = (app: FastifyInstance): Promise<void> => {
    push = config.a2a.push.enabled
      ? new PushDispatcher(unboundStore, tasks, config.a2a.push, config.domain, app.log)
      : undefined;
    // Remotes push to where clients reach this sidecar (a2a.publicUrl), else to its listen address.
    const pushBaseUrl =
      config.a2a.publicUrl?.replace(/\/+$/, "") ?? `http://${config.host}:${String(config.port)}`;
    const bridge = new RemoteBridge(unboundStore, service, tasks, config.a2a, pushBaseUrl, app.log);
    const inbox = new EventsInbox(unboundStore, service, config.a2a.maxHistory, app.log);
    const methods = new A2aMethods({ service, tasks, router: context.router, config, binding, push });
    const endpoint = new JsonRpcEndpoint({ methods, service, slots, shutdown: context.shutdown });
    const rest = new RestEndpoint({ methods, service, slots, shutdown: context.shutdown });
    app.addHook("onReady", (done) => {
      push?.start();
      bridge.start();
      inbox.start();
      done();
    });
    app.addHook("preClose", (done) => {
      void Promise.all([push?.stop(), bridge.stop(), inbox.stop()]).then(() => {
        done();
      });
    });
    // The JSON-RPC body is parsed by the endpoint itself: malformed JSON is a JSON-RPC parse error (-32700).
    app.removeAllContentTypeParsers();
    app.addContentTypeParser("*", { parseAs: "buffer" }, (_request, body, done) => {
      done(null, body);
    });
    const typed = app.withTypeProvider<ZodTypeProvider>();
    typed.get(a2aRoutes.ownAgentCard.url, { schema: schemaOf(a2aRoutes.ownAgentCard) }, async (request) => {
      const own = sender();
      if (own === undefined)
        throw new NotFoundError(
          "this sidecar is not bound to one agent (BMN_AGENT); use /a2a/{agent}/.well-known/agent-card.json",
          {
            field: "agent",
          },
        );
      return cardOf(request, own);
    });
    typed.get(a2aRoutes.agentCard.url, { schema: schemaOf(a2aRoutes.agentCard) }, async (request) =>
      cardOf(request, agentName(request.params.target)),
    );
    typed.post(a2aRoutes.jsonRpc.url, { schema: schemaOf(a2aRoutes.jsonRpc) }, async (request, reply) => {
      const caller: A2aCaller = { target: agentName(request.params.target), from: sender() };
      await endpoint.handle(request, reply, caller);
    });
    // Authenticated by the per-task token the bridge gave the remote (api-token.ts leaves it open), not the API token.
    typed.post(
      a2aRoutes.remotePush.url,
      { schema: schemaOf(a2aRoutes.remotePush) },
      async (request, reply) => {
        const token = presentedToken(request.headers, PUSH_TOKEN_HEADER);
        await bridge.acceptPush(request.params.taskId, token, bodyBytes(request.body));
        return reply.status(204).send();
      },
    );
    // The HTTP+JSON/REST binding: its paths carry verbs after a colon (`message:send`), so the endpoint routes.
    typed.route({
      method: ["GET", "POST", "DELETE"],
      url: A2A_REST_URL,
      schema: { params: a2aRestParamsSchema },
      handler: async (request, reply) => {
        const caller: A2aCaller = { target: agentName(request.params.target), from: sender() };
        await rest.handle(request, reply, caller, rawRestPath(request.raw.url ?? ""));
      },
    });
    return Promise.resolve();
  };

  const agentRoutes = (app: FastifyInstance): Promise<void> => {
    const typed = app.withTypeProvider<ZodTypeProvider>();
    /** The task, if this sidecar may act on it: on a bound sidecar, a task of one of its agents (else 403). */
    const taskFor = async (taskId: string, sides: "agent" | "both"): Promise<TaskRecord> => {
      const { record } = await service.require(taskId);
      if (binding !== undefined) {
        const allowed = sides === "agent" ? [record.agent] : [record.agent, record.from];
        if (!allowed.some((agent) => served(binding, agent)))
          throw new BmnError(
            "FORBIDDEN",
            `task ${taskId} belongs to agent ${record.agent}, not to this sidecar`,
            {
              field: "taskId",
            },
          );
      }
      return record;
    };
    typed.post(a2aRoutes.taskEvent.url, { schema: schemaOf(a2aRoutes.taskEvent) }, async (request, reply) => {
      const { taskId } = request.params;
      const { replyTo } = request.body;
      if (replyTo !== undefined && replyTo.split("@")[1] !== config.domain) {
        // The task lives in another domain: the report goes there as a durable message (through the gateways).
        const eventId = request.body.eventId ?? randomUUID();
        const { replyTo: _to, from: claimed, ...report } = { ...request.body, eventId };
        const from = binding === undefined ? claimed : binding.sender(claimed as AgentAddress | undefined);
        const message = createMessage(
          {
            type: A2A_EVENT_TYPE,
            to: replyTo,
            ...(from === undefined ? {} : { from }),
            correlationid: taskId,
            dedupekey: `a2a-event:${taskId}:${eventId}`,
            datacontenttype: "application/json",
            data: { taskId, report },
          },
          { source: `bmn://${config.domain}/a2a`, maxBytes: config.limits.maxMessageBytes },
        );
        await context.router.send(message, { actor: from ?? "a2a" });
        return reply.status(202).send({ forwarded: true as const, eventId, to: replyTo });
      }
      await taskFor(taskId, "agent");
      const results = await reportEvent(service, taskId, request.body, config.a2a.maxHistory);
      const last = results.at(-1);
      if (last === undefined) throw new BmnError("INTERNAL", "no event was written");
      return {
        task: (await service.require(taskId)).record.task,
        seqs: results.map((result) => result.seq),
        duplicate: results.every((result) => result.duplicate),
      };
    });
    typed.get(a2aRoutes.task.url, { schema: schemaOf(a2aRoutes.task) }, async (request) => {
      return (await taskFor(request.params.taskId, "both")).task;
    });
    typed.get(a2aRoutes.taskEvents.url, { schema: schemaOf(a2aRoutes.taskEvents) }, async (request) => {
      const { taskId } = request.params;
      await taskFor(taskId, "both");
      const events = await service.eventsAfter(taskId, request.query.after ?? 0, EVENT_PAGE);
      const last = events.at(-1);
      return events.length === EVENT_PAGE && last !== undefined
        ? { events, nextAfter: last.seq }
        : { events };
    });
    return Promise.resolve();
  };

  return [rpc, agentRoutes];
}

function served(binding: AgentBinding, agent: string | undefined): boolean {
  try {
    binding.check(agent, "agent");
    return true;
  } catch {
    return false;
  }
}
