import type { FastifyInstance } from "fastify";
import type { WebSocket } from "ws";
import { z } from "zod";
import { BmnError, isBmnError } from "../../../core/errors.js";
import type { TracingContext } from "../../../runtime/observability/message-tracing.js";
import { toAgentName } from "../../../store/validate.js";
import { streamQuerySchema } from "../../../core/api/delivery-api.js";
import { toBmnError } from "../../../runtime/http/http-errors.js";
import { agentLeaseId } from "../agent-input.js";
import { parseInput } from "../parse-input.js";
import type { RouteContext } from "../route-context.js";
import { CoalescedFrames } from "../coalesced-frames.js";

const MAX_CREDIT = 1_000;
/** A receive that waits this long is renewed; short enough that a closed socket is noticed soon. */
const POLL_WAIT_MS = 20_000;

const clientFrame = z.discriminatedUnion("type", [
  z.object({ type: z.literal("credit"), n: z.number().int().min(1).max(MAX_CREDIT) }),
  z.object({ type: z.literal("ack"), leaseId: z.string() }),
  z.object({
    type: z.literal("nack"),
    leaseId: z.string(),
    delayMs: z.number().int().min(0).optional(),
    reason: z.string().max(1_024).optional(),
    deadLetter: z.boolean().optional(),
  }),
]);

/**
 * Pushes deliveries over a WebSocket with credit-based flow control: the client grants N with `{type:"credit"}`,
 * and the server never has more unacknowledged pushes out than the credit it was given. Leases still held when the
 * socket closes are released at once, so a client that reconnects (resumes) gets them again without waiting.
 */
export function streamRoutes({ store, metrics, tracing }: RouteContext & TracingContext) {
  return function plugin(app: FastifyInstance, _options: unknown, done: () => void): void {
    app.get<{ Params: { agent: string } }>(
      "/v1/agents/:agent/stream",
      { websocket: true },
      (socket: WebSocket, request) => {
        // The upgraded request's TCP socket is the one the WebSocket writes to.
        const frames = new CoalescedFrames(socket, request.socket);
        let agent: string;
        let leaseMs: number | undefined;
        try {
          agent = toAgentName(request.params.agent);
          const lease = parseInput(streamQuerySchema, request.query, "query").lease;
          leaseMs = lease === undefined ? undefined : Math.round(lease * 1_000);
        } catch (error) {
          frames.send(errorFrame(error));
          socket.close(1008, "invalid request");
          return;
        }
        let credit = 0;
        let pumping = false;
        const held = new Set<string>();
        const abort = new AbortController();
        // A function, so the check is re-read after each await (the socket may have closed meanwhile).
        const closed = (): boolean => abort.signal.aborted;

        const pump = async (): Promise<void> => {
          if (pumping) return;
          pumping = true;
          try {
            while (credit > 0 && !abort.signal.aborted) {
              const deliveries = await store.receive(agent, {
                max: credit,
                waitMs: POLL_WAIT_MS,
                ...(leaseMs === undefined ? {} : { leaseMs }),
                signal: abort.signal,
                actor: agent,
              });
              if (closed()) {
                await release(deliveries.map((delivery) => delivery.leaseId));
                return;
              }
              credit -= deliveries.length;
              if (deliveries.length > 0) {
                metrics.delivered.inc({ agent }, deliveries.length);
                tracing.delivered(agent, deliveries, "websocket");
              }
              for (const { leaseId, attempt, leaseExpiresAt, message } of deliveries) {
                held.add(leaseId);
                frames.send({ type: "delivery", leaseId, attempt, leaseExpiresAt, message });
              }
            }
          } catch (error) {
            frames.send(errorFrame(error));
            if (!abort.signal.aborted) socket.close(1011, "store error");
          } finally {
            pumping = false;
          }
        };

        const release = async (leaseIds: string[]): Promise<void> => {
          await Promise.allSettled(
            leaseIds.map((leaseId) => store.nack(leaseId, { delayMs: 0, reason: "stream closed" })),
          );
        };

        socket.on("message", (raw: Buffer) => {
          void handleFrame(raw);
        });

        const handleFrame = async (raw: Buffer): Promise<void> => {
          let frame: z.infer<typeof clientFrame>;
          try {
            let value: unknown;
            try {
              value = JSON.parse(raw.toString("utf8"));
            } catch {
              throw new BmnError("INVALID_JSON", "frame is not valid JSON");
            }
            frame = parseInput(clientFrame, value, "frame");
          } catch (error) {
            frames.send(errorFrame(error));
            return;
          }
          if (frame.type === "credit") {
            credit = Math.min(MAX_CREDIT, credit + frame.n);
            void pump();
            return;
          }
          try {
            agentLeaseId(frame.leaseId);
            if (frame.type === "ack") {
              const { leaseId } = frame;
              await tracing.ack(leaseId, undefined, "websocket", () => store.ack(leaseId));
              metrics.acked.inc();
            } else {
              const { type: _type, leaseId, ...options } = frame;
              const result = await tracing.nack(leaseId, options, undefined, "websocket", () =>
                store.nack(leaseId, options),
              );
              metrics.nacked.inc();
              if (result.outcome === "dead-lettered")
                metrics.deadLettered.inc({ reason: result.reason ?? "rejected" });
            }
            held.delete(frame.leaseId);
            frames.send({ type: frame.type === "ack" ? "acked" : "nacked", leaseId: frame.leaseId });
          } catch (error) {
            frames.send({ ...errorFrame(error), leaseId: frame.leaseId });
          }
        };

        socket.on("close", () => {
          abort.abort();
          void release([...held]);
          held.clear();
        });
      },
    );
    done();
  };
}

function errorFrame(error: unknown): { type: "error"; errorCode: string; message: string; field?: string } {
  const bmn = isBmnError(error) ? error : toBmnError(error);
  return { type: "error", ...bmn.toJSON() };
}
