import type { FastifyInstance } from "fastify";
import { sidecarApi } from "../../../core/api/sidecar-api.js";
import type { Message } from "../../../core/envelope.js";
import { BmnError, isBmnError } from "../../../core/errors.js";
import { uuidv7 } from "../../../core/ids.js";
import type { TracingContext } from "../../../runtime/observability/message-tracing.js";
import { messageFromRequest } from "../message-input.js";
import type { RouteContext } from "../route-context.js";
import { schemaOf } from "../route-schema.js";
import type { ZodTypeProvider } from "../zod-type-provider.js";
import type { RouteResult } from "../../routing/router.js";

const DEFAULT_REQUEST_TIMEOUT_S = 30;

export function messageRoutes(context: RouteContext & TracingContext) {
  const { router, store, metrics, config, tracing, shutdown } = context;
  const source = `bmn://${config.domain}`;
  const maxBytes = config.limits.maxMessageBytes;

  const record = (result: RouteResult): void => {
    if (result.duplicate) return;
    metrics.sent.inc({ mode: result.recipients === undefined ? "direct" : "topic" });
    if (result.deadLettered !== undefined) metrics.deadLettered.inc({ reason: result.deadLettered });
  };

  return function plugin(instance: FastifyInstance, _options: unknown, done: () => void): void {
    const app = instance.withTypeProvider<ZodTypeProvider>();
    app.post(sidecarApi.send.url, { schema: schemaOf(sidecarApi.send) }, async (request, reply) => {
      const { tx } = request.query;
      const message = messageFromRequest(request.headers, request.body, { source, maxBytes });
      const result = await tracing.send(message, request.headers, (traced) =>
        router.send(traced, { tx, actor: message.from }),
      );
      record(result);
      request.log.debug(
        { messageId: result.id, to: message.to, topic: message.topic, correlationId: message.correlationid },
        "message accepted",
      );
      return reply.status(202).send(result);
    });

    // "::" is a literal ':' to the router (a single one would start a path parameter).
    app.post(
      sidecarApi.sendBatch.url,
      { schema: schemaOf(sidecarApi.sendBatch), bodyLimit: maxBytes * 16 },
      async (request, reply) => {
        const messages = request.body.messages.map((raw, index) => {
          try {
            const message = messageFromRequest({}, raw, { source, maxBytes });
            router.check(message);
            return message;
          } catch (error) {
            throw prefixField(error, `messages.${index}`);
          }
        });
        // All or nothing: the batch is one transaction, committed in one atomic step.
        const tx = await store.beginTransaction();
        let results: RouteResult[];
        try {
          results = [];
          for (const message of messages) {
            results.push(
              await tracing.send(message, request.headers, (traced) =>
                router.send(traced, { tx, actor: message.from }),
              ),
            );
          }
          await store.commit(tx);
        } catch (error) {
          await store.rollback(tx).catch(() => undefined);
          throw error;
        }
        results.forEach(record);
        return reply.status(202).send({ results });
      },
    );

    app.post(sidecarApi.request.url, { schema: schemaOf(sidecarApi.request) }, async (request, reply) => {
      const timeout = request.query.timeout ?? DEFAULT_REQUEST_TIMEOUT_S;
      const inbox = `reply-${uuidv7().replaceAll("-", "").slice(-20)}`;
      const draft = messageFromRequest(request.headers, request.body, { source, maxBytes });
      const correlationid = draft.correlationid ?? draft.id;
      const message: Message = {
        ...draft,
        correlationid,
        replyto: `${inbox}@${config.domain}` as Message["replyto"],
      };
      await tracing.send(message, request.headers, (traced) => router.send(traced, { actor: message.from }));
      record({ id: message.id, duplicate: false });
      const deadline = Date.now() + timeout * 1_000;
      const abort = new AbortController();
      reply.raw.on("close", () => {
        abort.abort();
      });
      try {
        while (Date.now() < deadline && !abort.signal.aborted) {
          const deliveries = await store.receive(inbox, {
            max: 10,
            waitMs: deadline - Date.now(),
            signal: AbortSignal.any([abort.signal, shutdown]),
          });
          for (const delivery of deliveries) {
            await store.ack(delivery.leaseId);
            if (delivery.message.correlationid === correlationid)
              return await reply.status(200).send({ reply: delivery.message });
          }
        }
        throw new BmnError("TIMEOUT", `no reply to ${message.id} within ${timeout} s`, { field: "timeout" });
      } finally {
        // The inbox is this request's alone: once it is answered or given up, nothing may linger in the store.
        await store.deleteQueue(inbox).catch(() => undefined);
      }
    });
    done();
  };
}

function prefixField(error: unknown, prefix: string): unknown {
  if (!isBmnError(error)) return error;
  const field = error.field === undefined ? prefix : `${prefix}.${error.field}`;
  return new BmnError(error.code, `${prefix}: ${error.message}`, { field, cause: error });
}
