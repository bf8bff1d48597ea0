import type { z } from "zod";
import { a2aRoutes } from "./a2a-api.js";
import { emptyResponse, txQuerySchema } from "./common.js";
import {
  agentParamsSchema,
  deliveriesResponseSchema,
  extendBodySchema,
  extendResponseSchema,
  leaseParamsSchema,
  nackBodySchema,
  ackManyBodySchema,
  ackManyResponseSchema,
  receiveQuerySchema,
} from "./delivery-api.js";
import {
  dlqListQuerySchema,
  dlqParamsSchema,
  dlqReplayBodySchema,
  dlqSelectBodySchema,
  deadLetterSchema,
  deadLettersResponseSchema,
  purgedResponseSchema,
  replayedResponseSchema,
} from "./dlq-api.js";
import { healthResponseSchema, infoResponseSchema, readyResponseSchema } from "./health-api.js";
import {
  batchBodySchema,
  batchResponseSchema,
  messageInputSchema,
  replyResponseSchema,
  requestQuerySchema,
  sendResultSchema,
} from "./message-api.js";
import {
  agentRecordSchema,
  agentsResponseSchema,
  capabilityQuerySchema,
  heartbeatBodySchema,
  patternQuerySchema,
  queueMessagesQuerySchema,
  queueMessagesResponseSchema,
  queueParamsSchema,
  queueStatsSchema,
  queuesQuerySchema,
  queuesResponseSchema,
  registerBodySchema,
  subscriptionBodySchema,
  subscriptionSchema,
  subscriptionsResponseSchema,
} from "./registry-api.js";
import {
  analyticsAnswerSchema,
  analyticsInfoResponseSchema,
  analyticsParamsSchema,
  analyticsQuerySchema,
} from "./stats-api.js";
import { sidecarTopologySchema } from "./topology-api.js";
import {
  correlationQuerySchema,
  messageIdParamsSchema,
  traceResponseSchema,
  tracesResponseSchema,
} from "./trace-api.js";
import {
  beginBodySchema,
  beginResponseSchema,
  savepointParamsSchema,
  savepointResponseSchema,
  txParamsSchema,
} from "./transaction-api.js";

/** One HTTP route of the contract. The sidecar registers it with these schemas; the OpenAPI document lists it. */
export interface ApiRoute {
  method: "GET" | "POST" | "PUT" | "DELETE";
  /** In fastify's syntax: `:name` is a parameter, `::` a literal colon. */
  url: string;
  summary: string;
  tag: string;
  params?: z.ZodType;
  querystring?: z.ZodType;
  /** Validated before the handler runs. */
  body?: z.ZodType;
  /** Documented only: the handler reads the body itself (POST /v1/messages also takes binary mode). */
  documentedBody?: z.ZodType;
  /** Answers by status; `emptyResponse` for answers without a body. */
  responses: Record<number, z.ZodType>;
  /** The answer is not JSON (`/metrics`): its content type. */
  produces?: string;
}

/** Every HTTP route of the sidecar (the WebSocket stream is described in docs/http-api.md). */
export const sidecarApi = {
  health: {
    method: "GET",
    url: "/healthz",
    summary: "Liveness: the process serves",
    tag: "health",
    responses: { 200: healthResponseSchema },
  },
  ready: {
    method: "GET",
    url: "/readyz",
    summary: "Readiness: the store answers",
    tag: "health",
    responses: { 200: readyResponseSchema },
  },
  metrics: {
    method: "GET",
    url: "/metrics",
    summary: "Prometheus metrics",
    tag: "health",
    responses: {},
    produces: "text/plain",
  },
  info: {
    method: "GET",
    url: "/v1/info",
    summary: "This sidecar's domain, store and version",
    tag: "health",
    responses: { 200: infoResponseSchema },
  },
  send: {
    method: "POST",
    url: "/v1/messages",
    summary: "Send a message to an agent (`to`) or a topic (`topic`)",
    tag: "messages",
    querystring: txQuerySchema,
    documentedBody: messageInputSchema,
    responses: { 202: sendResultSchema },
  },
  sendBatch: {
    method: "POST",
    url: "/v1/messages::batch",
    summary: "Send up to 1000 messages, all or nothing",
    tag: "messages",
    body: batchBodySchema,
    responses: { 202: batchResponseSchema },
  },
  request: {
    method: "POST",
    url: "/v1/requests",
    summary: "Send a request and wait for its reply",
    tag: "messages",
    querystring: requestQuerySchema,
    documentedBody: messageInputSchema,
    responses: { 200: replyResponseSchema },
  },
  receive: {
    method: "GET",
    url: "/v1/agents/:agent/messages",
    summary: "Lease up to `max` messages, waiting up to `wait` seconds for the first",
    tag: "deliveries",
    params: agentParamsSchema,
    querystring: receiveQuerySchema,
    responses: { 200: deliveriesResponseSchema },
  },
  ack: {
    method: "POST",
    url: "/v1/deliveries/:leaseId/ack",
    summary: "Settle a delivery: done",
    tag: "deliveries",
    params: leaseParamsSchema,
    querystring: txQuerySchema,
    responses: { 204: emptyResponse },
  },
  ackMany: {
    method: "POST",
    url: "/v1/deliveries::ack",
    summary: "Settle up to 1000 deliveries: done; answers which were acked and which were not",
    tag: "deliveries",
    querystring: txQuerySchema,
    body: ackManyBodySchema,
    responses: { 200: ackManyResponseSchema },
  },
  nack: {
    method: "POST",
    url: "/v1/deliveries/:leaseId/nack",
    summary: "Settle a delivery: retry later, or dead-letter",
    tag: "deliveries",
    params: leaseParamsSchema,
    body: nackBodySchema,
    responses: { 204: emptyResponse },
  },
  extend: {
    method: "POST",
    url: "/v1/deliveries/:leaseId/extend",
    summary: "Extend a lease",
    tag: "deliveries",
    params: leaseParamsSchema,
    body: extendBodySchema,
    responses: { 200: extendResponseSchema },
  },
  register: {
    method: "PUT",
    url: "/v1/agents/:agent",
    summary: "Register an agent for discovery",
    tag: "registry",
    params: agentParamsSchema,
    body: registerBodySchema,
    responses: { 200: agentRecordSchema },
  },
  heartbeat: {
    method: "POST",
    url: "/v1/agents/:agent/heartbeat",
    summary: "Keep a registration alive",
    tag: "registry",
    params: agentParamsSchema,
    body: heartbeatBodySchema,
    responses: { 200: agentRecordSchema },
  },
  agents: {
    method: "GET",
    url: "/v1/agents",
    summary: "Live registrations",
    tag: "registry",
    querystring: capabilityQuerySchema,
    responses: { 200: agentsResponseSchema },
  },
  deregister: {
    method: "DELETE",
    url: "/v1/agents/:agent",
    summary: "Remove a registration",
    tag: "registry",
    params: agentParamsSchema,
    responses: { 204: emptyResponse },
  },
  agentStats: {
    method: "GET",
    url: "/v1/agents/:agent/stats",
    summary: "One agent's queue counts",
    tag: "registry",
    params: agentParamsSchema,
    responses: { 200: queueStatsSchema },
  },
  queues: {
    method: "GET",
    url: "/v1/queues",
    summary: "One page of the queues' counts",
    tag: "registry",
    querystring: queuesQuerySchema,
    responses: { 200: queuesResponseSchema },
  },
  queueMessages: {
    method: "GET",
    url: "/v1/queues/:queue/messages",
    summary: "Browse one page of a queue's ready, delayed or leased messages, without receiving them",
    tag: "registry",
    params: queueParamsSchema,
    querystring: queueMessagesQuerySchema,
    responses: { 200: queueMessagesResponseSchema },
  },
  subscribe: {
    method: "POST",
    url: "/v1/agents/:agent/subscriptions",
    summary: "Subscribe an agent to a topic pattern",
    tag: "topics",
    params: agentParamsSchema,
    body: subscriptionBodySchema,
    responses: { 201: subscriptionSchema },
  },
  subscriptions: {
    method: "GET",
    url: "/v1/agents/:agent/subscriptions",
    summary: "An agent's subscriptions",
    tag: "topics",
    params: agentParamsSchema,
    responses: { 200: subscriptionsResponseSchema },
  },
  unsubscribe: {
    method: "DELETE",
    url: "/v1/agents/:agent/subscriptions",
    summary: "Remove a subscription",
    tag: "topics",
    params: agentParamsSchema,
    querystring: patternQuerySchema,
    responses: { 204: emptyResponse },
  },
  beginTransaction: {
    method: "POST",
    url: "/v1/transactions",
    summary: "Begin a transaction",
    tag: "transactions",
    body: beginBodySchema,
    responses: { 201: beginResponseSchema },
  },
  savepoint: {
    method: "POST",
    url: "/v1/transactions/:tx/savepoints",
    summary: "Mark a savepoint",
    tag: "transactions",
    params: txParamsSchema,
    responses: { 201: savepointResponseSchema },
  },
  rollbackToSavepoint: {
    method: "POST",
    url: "/v1/transactions/:tx/savepoints/:savepoint/rollback",
    summary: "Undo everything after a savepoint",
    tag: "transactions",
    params: savepointParamsSchema,
    responses: { 204: emptyResponse },
  },
  commit: {
    method: "POST",
    url: "/v1/transactions/:tx/commit",
    summary: "Commit a transaction",
    tag: "transactions",
    params: txParamsSchema,
    responses: { 204: emptyResponse },
  },
  rollback: {
    method: "POST",
    url: "/v1/transactions/:tx/rollback",
    summary: "Roll a transaction back",
    tag: "transactions",
    params: txParamsSchema,
    responses: { 204: emptyResponse },
  },
  listDeadLetters: {
    method: "GET",
    url: "/v1/dlq",
    summary: "One page of dead letters, oldest first",
    tag: "dlq",
    querystring: dlqListQuerySchema,
    responses: { 200: deadLettersResponseSchema },
  },
  showDeadLetter: {
    method: "GET",
    url: "/v1/dlq/:agent/:id",
    summary: "One dead letter",
    tag: "dlq",
    params: dlqParamsSchema,
    responses: { 200: deadLetterSchema },
  },
  replayDeadLetters: {
    method: "POST",
    url: "/v1/dlq/replay",
    summary: "Re-queue dead letters",
    tag: "dlq",
    body: dlqReplayBodySchema,
    responses: { 200: replayedResponseSchema },
  },
  purgeDeadLetters: {
    method: "POST",
    url: "/v1/dlq/purge",
    summary: "Delete dead letters",
    tag: "dlq",
    body: dlqSelectBodySchema,
    responses: { 200: purgedResponseSchema },
  },
  trace: {
    method: "GET",
    url: "/v1/messages/:id/trace",
    summary: "Everything recorded about one message",
    tag: "trace",
    params: messageIdParamsSchema,
    responses: { 200: traceResponseSchema },
  },
  traces: {
    method: "GET",
    url: "/v1/traces",
    summary: "Trace events of a correlation id",
    tag: "trace",
    querystring: correlationQuerySchema,
    responses: { 200: tracesResponseSchema },
  },
  analyticsInfo: {
    method: "GET",
    url: "/v1/stats",
    summary: "The SQL store's analytics: dialect and named queries",
    tag: "stats",
    responses: { 200: analyticsInfoResponseSchema },
  },
  analytics: {
    method: "GET",
    url: "/v1/stats/:query",
    summary: "Run a named analytics query",
    tag: "stats",
    params: analyticsParamsSchema,
    querystring: analyticsQuerySchema,
    responses: { 200: analyticsAnswerSchema },
  },
  topology: {
    method: "GET",
    url: "/v1/topology",
    summary: "This domain's outboxes and what its gateways report",
    tag: "topology",
    responses: { 200: sidecarTopologySchema },
  },
  openapi: {
    method: "GET",
    url: "/openapi.json",
    summary: "This document",
    tag: "health",
    responses: {},
  },
  ...a2aRoutes,
} as const satisfies Record<string, ApiRoute>;

export type SidecarApi = typeof sidecarApi;

/** The WebSocket route, which OpenAPI does not describe. */
const STREAM_URL = "/v1/agents/:agent/stream";

const routePatterns = [
  ...Object.values(sidecarApi).map((route: ApiRoute) => ({ method: route.method, url: route.url })),
  { method: "GET", url: STREAM_URL },
].map(({ method, url }) => ({
  method,
  pattern: new RegExp(
    `^${url
      .split("::")
      .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&").replace(/:[A-Za-z0-9_]+/g, "[^/]+"))
      .join(":")}$`,
  ),
}));

/** The methods the sidecar serves on a concrete path (for 405 answers and their `Allow` header). */
export function sidecarMethodsOf(path: string): string[] {
  const methods = routePatterns.filter(({ pattern }) => pattern.test(path)).map(({ method }) => method);
  return [...new Set(methods)].sort();
}
