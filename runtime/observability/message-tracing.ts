import type { IncomingHttpHeaders } from "node:http";
import type { Message } from "../../core/envelope.js";
import type { AckManyResult, Delivery, NackOptions, NackResult } from "../../store/store.js";

/** What a send answered, as far as its span cares. */
export interface SendOutcome {
  duplicate: boolean;
  recipients?: readonly unknown[] | undefined;
  deadLettered?: string | undefined;
}

/** How a delivery left the sidecar. */
export type DeliveryTransport = "http" | "websocket";

/**
 * Tracing of the message path. Every message the sidecar accepts leaves with a W3C `traceparent` (and
 * `tracestate` when there is one), so receivers continue the sender's trace. With a tracer configured, sends,
 * deliveries, acks and nacks are also spans (see docs/observability.md); without one, only the context is
 * propagated and nothing else is done.
 */
export interface MessageTracing {
  /** True when spans are recorded and exported; false when only `traceparent` is propagated. */
  readonly enabled: boolean;

  /**
   * Runs `send` with `message` stamped with the trace context receivers should continue: the `bmn.send` span's
   * when tracing, else the message's own, else the request's `traceparent` header, else a fresh one.
   */
  send<R extends SendOutcome>(
    message: Message,
    headers: IncomingHttpHeaders | undefined,
    send: (traced: Message) => Promise<R>,
  ): Promise<R>;

  /** Records that `deliveries` were handed to `agent` (a `bmn.deliver` span each, continuing the message's trace). */
  delivered(agent: string, deliveries: readonly Delivery[], transport: DeliveryTransport): void;

  /** Runs an ack of `leaseId`, as a `bmn.ack` span tied to the delivery's span. */
  ack(
    leaseId: string,
    headers: IncomingHttpHeaders | undefined,
    transport: DeliveryTransport,
    ack: () => Promise<void>,
  ): Promise<void>;

  /**
   * Runs an ack of many leases as one `bmn.ack` span (the request's `traceparent` its parent), linked to the span
   * of each delivery it settles: one span per batch, not per message.
   */
  ackMany(
    leaseIds: readonly string[],
    headers: IncomingHttpHeaders | undefined,
    transport: DeliveryTransport,
    ack: () => Promise<AckManyResult>,
  ): Promise<AckManyResult>;

  /** Runs a nack of `leaseId`, as a `bmn.nack` span tied to the delivery's span. */
  nack(
    leaseId: string,
    options: NackOptions,
    headers: IncomingHttpHeaders | undefined,
    transport: DeliveryTransport,
    nack: () => Promise<NackResult>,
  ): Promise<NackResult>;

  /** Exports every ended span now. */
  forceFlush(): Promise<void>;
  /** Flushes and stops exporting; spans started afterwards are dropped. */
  shutdown(): Promise<void>;
}

/** What the route plugins that trace are handed besides the RouteContext. */
export interface TracingContext {
  tracing: MessageTracing;
}
